/**
 * journal/replay.ts: reads the record chain from a cursor and finds the valid write position.
 * The format and the validity rules are in format.ts; this file applies them in order.
 */
import { assert } from '../common/assert.js';
import {
  FLAG_FIRST, FLAG_LAST, RECORD_HEADER_BYTES, type RecordHeader,
  decodeHeader, headerLink, payloadChecksum,
} from './format.js';
import type { JournalCursor, LogDevice, ReplayedEvent, Ring } from './types.js';

/** Where and why replay stopped, and the writer state to resume from. */
export interface ReplayEnd {
  /** Cursor of the first record slot after the last whole event (the valid write position). */
  cursor: JournalCursor;
  /** Link of the last record of the last whole event (the cursor's link if none was replayed). */
  link: bigint | undefined;
  /** Batch number of the last record replayed (0 if none). */
  batch: number;
  /** Bytes from the start cursor to the end (records and wrap pads). */
  scannedBytes: number;
  /** Why the chain ended at the next slot (for check() and logs). */
  reason: string;
}

export interface ReplayResult {
  events: ReplayedEvent[];
  /** Ring bytes each replayed event occupies (pad before it included), in event order. */
  costs: number[];
  end: ReplayEnd;
}

interface PendingEvent {
  seq: number;
  parts: Buffer[];
  startCursor: JournalCursor;
  startScanned: number;
}

/** Replays whole events from `cursor`; see format.ts for the rules. Reads only. */
export async function replayRing(
  device: LogDevice, ring: Ring, journalId: bigint, cursor: JournalCursor,
  acceptEvent?: (payload: Buffer, seq: number) => Promise<boolean>,
): Promise<ReplayResult> {
  const bs = device.blockSizeBytes;
  const ringBytes = ring.end - ring.start;
  const events: ReplayedEvent[] = [];
  const costs: number[] = [];
  const headerBlock = Buffer.alloc(bs);
  let pos = cursor.offset;
  let seq = cursor.seq;
  let link: bigint | undefined = cursor.link;
  let scanned = 0;
  let pending: PendingEvent | undefined;
  let end: ReplayEnd = { cursor: { ...cursor }, link: cursor.link, batch: 0, scannedBytes: 0, reason: 'empty' };
  let lastEventEnd = 0;

  for (let steps = 0; ; steps++) {
    assert(steps <= ringBytes / bs + 1, 'replay did not terminate within one lap');
    if (pos === ring.end) pos = ring.start;
    await device.read(pos, headerBlock);
    const header = decodeHeader(headerBlock, bs);
    if (header === 'zero' && pos !== ring.start) {
      // The wrap pad: the writer zeroed the rest of the ring and went on at its start.
      scanned += ring.end - pos;
      pos = ring.start;
      if (scanned >= ringBytes) { end = { ...end, reason: 'lap complete' }; break; }
      continue;
    }
    const problem = validate(header, pos, seq, link, pending !== undefined, journalId, ring, bs);
    if (problem !== undefined) { end = { ...end, reason: `${problem} at offset ${pos} (seq ${seq})` }; break; }
    const h = header as RecordHeader;
    const record = h.recordBlocks === 1 ? headerBlock : Buffer.alloc(h.recordBlocks * bs);
    if (h.recordBlocks > 1) {
      record.set(headerBlock);
      await device.read(pos + bs, record.subarray(bs));
    }
    const payload = record.subarray(RECORD_HEADER_BYTES, RECORD_HEADER_BYTES + h.payloadBytes);
    if (payloadChecksum(payload, h.seq) !== h.payloadChecksum) {
      end = { ...end, reason: `payload checksum at offset ${pos} (seq ${seq})` };
      break;
    }
    if ((h.flags & FLAG_FIRST) !== 0) {
      pending = { seq: h.seq, parts: [], startCursor: { offset: pos, seq }, startScanned: scanned };
    }
    assert(pending !== undefined, 'fragment without an event');
    pending.parts.push(Buffer.from(payload));
    link = headerLink(record);
    scanned += h.recordBlocks * bs;
    pos += h.recordBlocks * bs;
    seq++;
    if ((h.flags & FLAG_LAST) !== 0) {
      const payloadAll = pending.parts.length === 1 ? pending.parts[0]! : Buffer.concat(pending.parts);
      if (acceptEvent !== undefined && !(await acceptEvent(payloadAll, pending.seq))) {
        end = { ...end, reason: `event ${pending.seq} refused by its owner` };
        break;
      }
      const next = { offset: pos === ring.end ? ring.start : pos, seq, link };
      events.push({ seq: pending.seq, payload: payloadAll, next });
      costs.push(scanned - lastEventEnd);
      lastEventEnd = scanned;
      pending = undefined;
      end = { cursor: next, link, batch: h.batch, scannedBytes: scanned, reason: 'end' };
    }
    if (scanned >= ringBytes) { end = { ...end, reason: 'lap complete' }; break; }
  }
  return { events, costs, end };
}

function validate(
  header: RecordHeader | string, pos: number, seq: number, link: bigint | undefined,
  inEvent: boolean, journalId: bigint, ring: Ring, bs: number,
): string | undefined {
  if (typeof header === 'string') return `bad header (${header})`;
  if (header.journalId !== journalId) return 'foreign journal id';
  if (header.seq !== seq) return `sequence ${header.seq} instead of ${seq}`;
  if (pos + header.recordBlocks * bs > ring.end) return 'record straddles the ring end';
  if (inEvent === ((header.flags & FLAG_FIRST) !== 0)) return 'fragment out of order';
  if (link !== undefined && header.prevLink !== link) return 'broken link (record of an earlier incarnation)';
  return undefined;
}
