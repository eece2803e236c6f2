/**
 * journal/check.ts: the journal's invariant checker, for fsck and `ebofs` tools.
 *
 * Replay ends at the first record that is not valid; usually that is the torn tail of the last
 * batch before a crash, which is normal. It is damage when the log demonstrably continues
 * after the bad record: the next slot holds a valid header with the following seq, linking to
 * the bad record's header, written by a later batch (so the bad record had been flushed). Then
 * records that were durable are lost, and check reports the location.
 */
import { decodeHeader, headerLink, payloadChecksum, RECORD_HEADER_BYTES } from './format.js';
import { replayRing } from './replay.js';
import type { JournalCursor, JournalOptions, LogDevice } from './types.js';

export interface JournalFinding {
  code: 'ECHECKSUM' | 'ECORRUPT';
  offset: number;
  message: string;
}

export interface JournalCheckResult {
  eventCount: number;
  /** The valid write position replay found. */
  end: JournalCursor;
  endReason: string;
  findings: JournalFinding[];
}

export async function checkJournal(
  device: LogDevice, options: Pick<JournalOptions, 'ringOffset' | 'ringBytes' | 'journalId'>, cursor: JournalCursor,
): Promise<JournalCheckResult> {
  const ring = { start: options.ringOffset, end: options.ringOffset + options.ringBytes };
  const result = await replayRing(device, ring, options.journalId, cursor);
  const findings: JournalFinding[] = [];
  const bs = device.blockSizeBytes;
  // Walk the tail: records of a cut-short event, then the slot where the chain broke.
  let pos = result.end.cursor.offset;
  let seq = result.end.cursor.seq;
  const block = Buffer.alloc(bs);
  for (let steps = 0; steps < 1024; steps++) {
    if (pos >= ring.end) pos = ring.start;
    await device.read(pos, block);
    const header = decodeHeader(block, bs);
    if (typeof header === 'string' || header.seq !== seq || header.journalId !== options.journalId) break;
    if (pos + header.recordBlocks * bs > ring.end) break;
    const record = Buffer.alloc(header.recordBlocks * bs);
    await device.read(pos, record);
    const nextPos = pos + record.byteLength;
    if (nextPos < ring.end) {
      const next = Buffer.alloc(bs);
      await device.read(nextPos, next);
      const nextHeader = decodeHeader(next, bs);
      // Only a later batch proves the bad record was durable (see format.ts).
      const continues = typeof nextHeader !== 'string' && nextHeader.seq === seq + 1 &&
        nextHeader.prevLink === headerLink(record.subarray(0, RECORD_HEADER_BYTES)) && nextHeader.batch !== header.batch;
      if (continues && !payloadIntact(record, header.payloadBytes, header.payloadChecksum, seq)) {
        findings.push({
          code: 'ECHECKSUM', offset: pos,
          message: `journal record seq ${seq} at offset ${pos} fails its payload checksum but the log continues after it`,
        });
        break;
      }
    }
    pos = nextPos;
    seq++;
  }
  return { eventCount: result.events.length, end: result.end.cursor, endReason: result.end.reason, findings };
}

function payloadIntact(record: Buffer, payloadBytes: number, expected: bigint, seq: number): boolean {
  return payloadChecksum(record.subarray(RECORD_HEADER_BYTES, RECORD_HEADER_BYTES + payloadBytes), seq) === expected;
}
