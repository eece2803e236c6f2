/**
 * journal/journal.ts: the write-ahead journal — append with group commit, trim, replay on open.
 *
 * Record format and invariants: format.ts. Replay rules: replay.ts.
 *
 * Positions. The writer assigns every record (and wrap pad) a range of a monotonic byte
 * counter, the LSP (log sequence position); a record at LSP x lives at ring offset x mod R.
 * A record may be written only when its end is within R bytes of the oldest untrimmed byte
 * (`trimmedLsp`), so live records are never overwritten: a full journal makes appends wait.
 *
 * Group commit. `append` encodes its records synchronously (so record order is call order)
 * and queues them. One writer loop takes everything queued that has ring space — up to
 * BATCH_RECORDS_MAX records / BATCH_BYTES_MAX bytes — writes it with as few device writes as
 * the wrap allows, flushes once, and resolves every event whose LAST record went out. Appends
 * that arrive while a flush is in flight share the next write and flush.
 *
 * Failure. A device error while writing or flushing fails the journal: every queued and future
 * append rejects with EIO. After an fsync error nothing is known about what reached the disk,
 * so the only safe continuation is a fresh open (replay), as PostgreSQL learned.
 */
import { randomBytes } from 'node:crypto';
import { assert } from '../common/assert.js';
import { EbofsError } from '../common/errors.js';
import {
  EVENT_BYTES_DEFAULT, FLAG_FIRST, FLAG_LAST, RECORD_BYTES_DEFAULT, RECORD_BYTES_MAX, RECORD_HEADER_BYTES,
  type RecordHeader, RING_BLOCKS_MIN, BATCH_BYTES_MAX, BATCH_RECORDS_MAX, encodeHeader, headerLink, payloadChecksum, recordBlocksFor,
} from './format.js';
import { type ReplayEnd, replayRing } from './replay.js';
import type { JournalCursor, JournalOptions, JournalStats, LogDevice, ReplayedEvent, Ring } from './types.js';

export interface AppendResult {
  /** The event's id (seq of its first record); pass it to trim(). */
  seq: number;
  /** Cursor just after this event. */
  next: JournalCursor;
}

interface QueuedRecord {
  /** LSP where the record starts (after its pad). */
  lsp: number;
  padBytes: number;
  /** The record's blocks; the header is written into them when the batch is sealed. */
  bytes: Buffer;
  header: RecordHeader;
  /** Set on the LAST record of an event: settles the append. */
  event?: LiveEvent;
  /** The record's buffer came from payloadBuffer: it returns to the spare pool once written. */
  pooled?: boolean;
}

interface LiveEvent {
  seq: number;
  endLsp: number;
  next: JournalCursor;
  durable: boolean;
  resolve?: (result: AppendResult) => void;
  reject?: (err: unknown) => void;
}

export class Journal {
  readonly ring: Ring;
  private readonly ringBytes: number;
  private readonly bs: number;
  private readonly recordBytesMax: number;
  readonly eventBytesMax: number;
  private readonly nonce: bigint;
  private nextSeq: number;
  private link: bigint;
  /** Number of the last batch written (a u32 that wraps, never 0). */
  private batchNumber: number;
  private tailLsp: number;
  private trimmedLsp: number;
  private readonly queue: QueuedRecord[] = [];
  private readonly live: LiveEvent[] = [];
  private writing: Promise<void> | undefined;
  private spaceWaiter: (() => void) | undefined;
  private failure: unknown;
  private closing = false;
  private closed = false;
  private readonly counters = { appendCount: 0, recordCount: 0, batchCount: 0, flushCount: 0, bytesWritten: 0 };
  /**
   * Record buffers lent by payloadBuffer (by their memory), with the payload length lent. A
   * plain Map, emptied when it grows past LENT_MAX: owners append what they borrow at once, so
   * it holds one or two; a buffer dropped from it is merely copied if appended later. (A
   * WeakMap entry per append cost more than the rest of the bookkeeping.)
   */
  private readonly lent = new Map<ArrayBufferLike, number>();
  /** Written record buffers kept for reuse by payloadBuffer, by size in bytes. */
  private readonly spare = new Map<number, Buffer[]>();

  private constructor(
    private readonly device: LogDevice,
    private readonly options: JournalOptions,
    cursor: JournalCursor,
    end: ReplayEnd,
  ) {
    this.bs = device.blockSizeBytes;
    this.ring = { start: options.ringOffset, end: options.ringOffset + options.ringBytes };
    this.ringBytes = options.ringBytes;
    this.recordBytesMax = options.recordBytesMax ?? Math.min(RECORD_BYTES_DEFAULT, floorTo(this.ringBytes / 8, this.bs));
    this.eventBytesMax = options.eventBytesMax ?? defaultEventBytesMax(this.ringBytes, this.recordBytesMax);
    this.nonce = options.nonce ?? randomBytes(8).readBigUInt64LE(0);
    this.nextSeq = end.cursor.seq;
    this.link = end.link ?? 0n;
    this.batchNumber = end.batch;
    this.trimmedLsp = cursor.offset - this.ring.start;
    this.tailLsp = this.trimmedLsp + end.scannedBytes;
    assert(this.ring.start + (this.tailLsp % this.ringBytes) === end.cursor.offset || end.scannedBytes === 0,
      'replay end cursor disagrees with the scanned bytes');
  }

  /** The cursor of an empty, freshly formatted journal. */
  static initialCursor(options: Pick<JournalOptions, 'ringOffset'>): JournalCursor {
    return { offset: options.ringOffset, seq: 1 };
  }

  /**
   * Opens the journal: replays the whole events after `cursor` (in order, each exactly as
   * appended) and positions the writer at the valid end. The replayed events stay live until
   * the owner trims them.
   */
  static async open(
    device: LogDevice, options: JournalOptions, cursor: JournalCursor = Journal.initialCursor(options),
  ): Promise<{ journal: Journal; events: ReplayedEvent[]; endReason: string }> {
    validateOptions(device, options, cursor);
    const ring = { start: options.ringOffset, end: options.ringOffset + options.ringBytes };
    const result = await replayRing(device, ring, options.journalId, cursor, options.acceptEvent);
    const journal = new Journal(device, options, cursor, result.end);
    let lsp = journal.trimmedLsp;
    result.events.forEach((event, i) => {
      lsp += result.costs[i]!;
      journal.live.push({ seq: event.seq, endLsp: lsp, next: event.next, durable: true });
    });
    assert(lsp === journal.tailLsp, 'replayed costs do not add up to the scanned bytes');
    return { journal, events: result.events, endReason: result.end.reason };
  }

  /**
   * A buffer for a payload of exactly `bytes` that `append` takes without copying: the view of
   * a whole record's blocks past the header room, the tail already zero. Fill every byte, then
   * hand it to `append` once and never touch it again. (Events that need several records are
   * copied as usual.)
   */
  payloadBuffer(bytes: number): Buffer {
    if (RECORD_HEADER_BYTES + bytes > this.recordBytesMax) return Buffer.allocUnsafe(bytes);
    const wholeBytes = recordBlocksFor(bytes, this.bs) * this.bs;
    const whole = this.spare.get(wholeBytes)?.pop() ?? Buffer.allocUnsafeSlow(wholeBytes);
    whole.fill(0, RECORD_HEADER_BYTES + bytes); // the header room is written whole when sealed
    if (this.lent.size >= LENT_MAX) this.lent.clear();
    this.lent.set(whole.buffer, bytes);
    return whole.subarray(RECORD_HEADER_BYTES, RECORD_HEADER_BYTES + bytes);
  }

  /**
   * Appends one event; resolves once it is durable. Records are laid out now, in call order.
   * Fails E2BIG (nothing written) when the payload exceeds eventBytesMax, ECLOSED after
   * close(), EIO after a device failure.
   */
  append(payload: Uint8Array): Promise<AppendResult> {
    if (this.closing || this.closed) return Promise.reject(new EbofsError('ECLOSED', 'append on a closed journal'));
    if (this.failure !== undefined) return Promise.reject(this.failedError());
    if (payload.byteLength > this.eventBytesMax) {
      return Promise.reject(new EbofsError('E2BIG', `event of ${payload.byteLength} bytes exceeds ${this.eventBytesMax}`));
    }
    const perRecord = this.recordBytesMax - RECORD_HEADER_BYTES;
    const fragmentCount = Math.max(1, Math.ceil(payload.byteLength / perRecord));
    const event: LiveEvent = { seq: this.nextSeq, endLsp: 0, next: { offset: 0, seq: 0 }, durable: false };
    for (let i = 0; i < fragmentCount; i++) {
      const part = payload.subarray(i * perRecord, Math.min(payload.byteLength, (i + 1) * perRecord));
      const flags = (i === 0 ? FLAG_FIRST : 0) | (i === fragmentCount - 1 ? FLAG_LAST : 0);
      this.queue.push(this.encodeRecord(part, flags, i === fragmentCount - 1 ? event : undefined));
    }
    event.endLsp = this.tailLsp;
    event.next = { offset: this.ring.start + (this.tailLsp % this.ringBytes), seq: this.nextSeq };
    this.live.push(event);
    this.counters.appendCount++;
    const done = new Promise<AppendResult>((resolve, reject) => {
      event.resolve = resolve;
      event.reject = reject;
    });
    this.kick();
    return done;
  }

  /**
   * Releases the ring space of every event up to and including `eventSeq`, which must be
   * durable. The owner must first persist a cursor at or after the end of that event (the
   * `next` of its AppendResult or ReplayedEvent): after trim the space is rewritten.
   */
  trim(eventSeq: number): void {
    const lastDurable = this.live.findLast((event) => event.durable);
    const trimmed = this.live.length === 0 || this.live[0]!.seq > eventSeq;
    if (!trimmed && (lastDurable === undefined || lastDurable.seq < eventSeq)) {
      throw new EbofsError('EINVAL', `trim(${eventSeq}): that event is not durable yet`);
    }
    // One splice, not a shift per event: a checkpoint trims every event since the last one
    // (tens of thousands under small writes), and a shift each was quadratic in that count.
    let count = 0;
    for (let lo = 0, hi = this.live.length; lo < hi;) {
      const mid = (lo + hi) >>> 1;
      if (this.live[mid]!.seq <= eventSeq) lo = count = mid + 1;
      else hi = mid;
    }
    if (count === 0) return;
    const last = this.live[count - 1]!;
    assert(last.durable, 'events become durable in order');
    this.trimmedLsp = last.endLsp;
    this.live.splice(0, count);
    this.wakeForSpace();
  }

  /**
   * The last appended event (durable or not) and the cursor after it; before any append, the
   * last replayed event. A checkpoint that includes every event up to `lastSeq` persists
   * `cursor`, waits for `lastSeq` to be durable, then trims it. The cursor is the journal's
   * own object: its `link` is filled in when that event's records are written (so it is set
   * once `lastSeq` is durable); do not modify it.
   */
  tail(): { lastSeq: number | undefined; cursor: JournalCursor } {
    const last = this.live[this.live.length - 1];
    if (last !== undefined) return { lastSeq: last.seq, cursor: last.next };
    return { lastSeq: undefined, cursor: { offset: this.ring.start + (this.tailLsp % this.ringBytes), seq: this.nextSeq, link: this.link } };
  }

  /**
   * Whether events of these payload sizes, appended one after the other, fit in the ring now,
   * so that appending them will not wait for a trim. Owners that must never block on trim (a
   * checkpoint waits for appended events) check this before they commit to an append.
   */
  canAppend(...payloadBytes: number[]): boolean {
    let need = 0;
    for (const bytes of payloadBytes) need += worstCaseEventBytes(bytes, this.recordBytesMax, this.bs);
    return this.tailLsp - this.trimmedLsp + need <= this.ringBytes;
  }

  /** Resolves once every event appended so far is durable (rejects if the journal failed). */
  async drain(): Promise<void> {
    while (this.writing !== undefined) await this.writing;
    if (this.failure !== undefined) throw this.failedError();
  }

  /** Waits for queued appends to finish, then refuses further ones. Does not close the device. */
  async close(): Promise<void> {
    this.closing = true;
    this.wakeForSpace();
    while (this.writing !== undefined) await this.writing;
    this.closed = true;
  }

  stats(): JournalStats {
    const c = this.counters;
    return {
      appendCount: c.appendCount, recordCount: c.recordCount, batchCount: c.batchCount, flushCount: c.flushCount,
      bytesWritten: c.bytesWritten, usedBytes: this.tailLsp - this.trimmedLsp, ringBytes: this.ringBytes,
    };
  }

  /** Lays the record out now (call order); its header is sealed when its batch is written. */
  private encodeRecord(part: Uint8Array, flags: number, event: LiveEvent | undefined): QueuedRecord {
    const blocks = recordBlocksFor(part.byteLength, this.bs);
    let bytes: Buffer;
    let pooled = false;
    if (part.byteOffset === RECORD_HEADER_BYTES && this.lent.get(part.buffer) === part.byteLength &&
      part.buffer.byteLength === blocks * this.bs) {
      // A payloadBuffer: the record is built around it already (tail zeroed, header room).
      this.lent.delete(part.buffer);
      bytes = Buffer.from(part.buffer, 0, blocks * this.bs);
      pooled = true;
    } else {
      bytes = Buffer.alloc(blocks * this.bs);
      bytes.set(part, RECORD_HEADER_BYTES);
    }
    const offsetInRing = this.tailLsp % this.ringBytes;
    const padBytes = offsetInRing + bytes.byteLength > this.ringBytes ? this.ringBytes - offsetInRing : 0;
    const header = {
      flags, journalId: this.options.journalId, nonce: this.nonce, seq: this.nextSeq, prevLink: 0n, batch: 0,
      payloadBytes: part.byteLength, recordBlocks: blocks, payloadChecksum: payloadChecksum(part, this.nextSeq),
    };
    this.nextSeq++;
    const lsp = this.tailLsp + padBytes;
    this.tailLsp = lsp + bytes.byteLength;
    const record: QueuedRecord = { lsp, padBytes, bytes, header, pooled };
    if (event !== undefined) record.event = event;
    return record;
  }

  /** Seals the headers of a batch: its number, and the link of each record to the one before. */
  private sealHeaders(batch: QueuedRecord[]): void {
    this.batchNumber = (this.batchNumber + 1) >>> 0 || 1;
    for (const record of batch) {
      encodeHeader({ ...record.header, prevLink: this.link, batch: this.batchNumber }, record.bytes);
      this.link = headerLink(record.bytes);
      if (record.event !== undefined) record.event.next.link = this.link;
    }
  }

  private kick(): void {
    if (this.writing !== undefined) return;
    this.writing = this.writeLoop().finally(() => {
      this.writing = undefined;
      // Appends made by continuations of the last batch's promises ran before this callback.
      if (this.queue.length > 0 && this.failure === undefined) this.kick();
    });
  }

  private async writeLoop(): Promise<void> {
    while (this.queue.length > 0 && this.failure === undefined) {
      const count = this.batchLength();
      if (count === 0) {
        if (this.closing) return this.rejectQueued(new EbofsError('ECLOSED', 'journal closed while the append waited for trim'));
        // Never inside append's synchronous part: the owner may still be publishing the state
        // the appended event describes, and onFull starts its checkpoint.
        await Promise.resolve();
        if (this.closing || this.batchLength() > 0) continue;
        this.options.onFull?.();
        if (this.batchLength() > 0) continue; // onFull trimmed synchronously
        await new Promise<void>((resolve) => { this.spaceWaiter = resolve; });
        continue;
      }
      const batch = this.queue.splice(0, count);
      try {
        await this.writeBatch(batch);
      } catch (err) {
        this.failure = err;
        for (const record of batch) record.event?.reject?.(this.failedError());
        this.rejectQueued(this.failedError());
        return;
      }
      let settled = 0;
      for (const record of batch) {
        const event = record.event;
        if (event === undefined) continue;
        event.durable = true;
        event.resolve?.({ seq: event.seq, next: { ...event.next } });
        settled++;
      }
      // Let the callers just settled run (they often append again at once), so their next
      // appends share one batch instead of the first of them flushing alone. A lone caller
      // (one event settled) is not waited for: the loop ends when nothing is queued, and its
      // next append finds the writer idle and issues its write at once.
      if (settled > 1 && this.queue.length < settled) await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  /** How many queued records fit in the ring now, within the batch limits. */
  private batchLength(): number {
    let bytes = 0;
    let count = 0;
    for (const record of this.queue) {
      const end = record.lsp + record.bytes.byteLength;
      if (end - this.trimmedLsp > this.ringBytes) break;
      if (count >= BATCH_RECORDS_MAX || (count > 0 && bytes + record.bytes.byteLength > BATCH_BYTES_MAX)) break;
      bytes += record.bytes.byteLength + record.padBytes;
      count++;
    }
    return count;
  }

  /**
   * Writes records (and wrap pads) with one device write per contiguous run, then one flush;
   * or, when the owner issued nothing else the flush must cover and the device can, one
   * durable write per run (a run is two at most: before and after the ring's wrap). A crash
   * between two durable writes keeps the first run only, a subset any flush could leave too.
   */
  private async writeBatch(batch: QueuedRecord[]): Promise<void> {
    // A hook that has nothing to wait for answers false at once: then the batch's device write
    // is issued within append() itself when the writer was idle (no await before it).
    const before = this.options.beforeBatch?.();
    const flushAll = before === undefined || before === false ? false : (await before) !== false;
    const durable = !flushAll && this.options.durableWrites !== false && this.device.writeDurable !== undefined;
    this.sealHeaders(batch);
    const runs: { offset: number; parts: Buffer[] }[] = [];
    const place = (lsp: number, bytes: Buffer): void => {
      const offset = this.ring.start + (lsp % this.ringBytes);
      const last = runs[runs.length - 1];
      const lastEnd = last === undefined ? -1 : last.offset + last.parts.reduce((n, p) => n + p.byteLength, 0);
      if (last !== undefined && lastEnd === offset) last.parts.push(bytes);
      else runs.push({ offset, parts: [bytes] });
    };
    for (const record of batch) {
      if (record.padBytes > 0) place(record.lsp - record.padBytes, Buffer.alloc(record.padBytes));
      place(record.lsp, record.bytes);
    }
    for (const run of runs) {
      const data = run.parts.length === 1 ? run.parts[0]! : Buffer.concat(run.parts);
      assert(run.offset + data.byteLength <= this.ring.end, 'journal write crosses the ring end');
      if (durable) await this.device.writeDurable!(run.offset, data);
      else await this.device.write(run.offset, data);
      this.counters.bytesWritten += data.byteLength;
    }
    if (!durable) await this.device.flush();
    for (const record of batch) if (record.pooled === true) this.keepSpare(record.bytes);
    this.counters.batchCount++;
    this.counters.flushCount += durable ? runs.length : 1;
    this.counters.recordCount += batch.length;
  }

  /** Keeps a written record buffer for payloadBuffer (a few per size, small records only). */
  private keepSpare(bytes: Buffer): void {
    if (bytes.byteLength > SPARE_RECORD_BYTES_MAX) return;
    const list = this.spare.get(bytes.byteLength) ?? [];
    if (list.length >= SPARE_RECORDS_PER_SIZE_MAX) return;
    list.push(bytes);
    this.spare.set(bytes.byteLength, list);
  }

  private wakeForSpace(): void {
    const waiter = this.spaceWaiter;
    this.spaceWaiter = undefined;
    waiter?.();
  }

  private rejectQueued(err: unknown): void {
    const rejected = this.queue.splice(0);
    for (const record of rejected) record.event?.reject?.(err);
  }

  private failedError(): EbofsError {
    return new EbofsError('EIO', 'journal failed after a device error; reopen to recover', { cause: this.failure });
  }
}

/** Largest record buffer kept for reuse, and how many of one size (a batch's worth). */
const SPARE_RECORD_BYTES_MAX = 64 * 1024;
const SPARE_RECORDS_PER_SIZE_MAX = 32;
/** Most payload buffers remembered as lent (see `lent`). */
const LENT_MAX = 64;

function floorTo(value: number, unit: number): number {
  return Math.floor(value / unit) * unit;
}

/** Ring bytes the worst-case event of `eventBytes` needs: its records plus one wrap pad. */
export function worstCaseEventBytes(eventBytes: number, recordBytesMax: number, bs: number): number {
  const perRecord = recordBytesMax - RECORD_HEADER_BYTES;
  const full = Math.floor(eventBytes / perRecord);
  const rest = eventBytes - full * perRecord;
  const tail = rest > 0 || full === 0 ? recordBlocksFor(rest, bs) * bs : 0;
  return full * recordBytesMax + tail + recordBytesMax;
}

function defaultEventBytesMax(ringBytes: number, recordBytesMax: number): number {
  const perRecord = recordBytesMax - RECORD_HEADER_BYTES;
  const records = Math.floor(ringBytes / 2 / recordBytesMax);
  return Math.min(EVENT_BYTES_DEFAULT, Math.max(perRecord, records * perRecord));
}

function validateOptions(device: LogDevice, options: JournalOptions, cursor: JournalCursor): void {
  const bs = device.blockSizeBytes;
  const { ringOffset, ringBytes } = options;
  const bad = (why: string): never => { throw new EbofsError('EINVAL', `journal: ${why}`); };
  if (!Number.isSafeInteger(ringOffset) || ringOffset < 0 || ringOffset % bs !== 0) bad(`ring offset ${ringOffset} is not block-aligned`);
  if (!Number.isSafeInteger(ringBytes) || ringBytes % bs !== 0) bad(`ring size ${ringBytes} is not block-aligned`);
  if (ringBytes < RING_BLOCKS_MIN * bs) bad(`ring of ${ringBytes} bytes is smaller than ${RING_BLOCKS_MIN} blocks`);
  if (ringOffset + ringBytes > device.sizeBytes) bad('ring extends past the device end');
  const recordMax = options.recordBytesMax ?? Math.min(RECORD_BYTES_DEFAULT, floorTo(ringBytes / 8, bs));
  if (recordMax % bs !== 0 || recordMax < bs || recordMax > RECORD_BYTES_MAX || recordMax * 4 > ringBytes) {
    bad(`record size max ${recordMax} must be block-aligned, at most ${RECORD_BYTES_MAX} and a quarter of the ring`);
  }
  if (options.eventBytesMax !== undefined) {
    if (!Number.isSafeInteger(options.eventBytesMax) || options.eventBytesMax < 0) bad('event size max must be a non-negative integer');
    if (worstCaseEventBytes(options.eventBytesMax, recordMax, bs) > ringBytes) bad(`event size max ${options.eventBytesMax} cannot fit the ring`);
  }
  if (cursor.offset < ringOffset || cursor.offset >= ringOffset + ringBytes || cursor.offset % bs !== 0) bad(`cursor offset ${cursor.offset} is outside the ring`);
  if (!Number.isSafeInteger(cursor.seq) || cursor.seq < 1) bad(`cursor seq ${cursor.seq} is invalid`);
}
