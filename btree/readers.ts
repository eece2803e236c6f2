/**
 * Reader table and page reclamation: which generations readers hold, and when a freed page
 * may be reused (LMDB's reader table, in a SharedArrayBuffer).
 *
 * The owner numbers every published state with a generation (ascending). A commit that
 * publishes generation G reports the pages G stopped using; they stay reachable from G-1 and
 * older, so they are retired "at G" and freed once every pinned generation is >= G.
 *
 * Shared layout (little-endian host order through Atomics; never persisted):
 *
 * | offset   | size | type     | field                                                   |
 * | -------- | ---- | -------- | ------------------------------------------------------- |
 * | 0        | 8    | i64      | sequence: odd while the writer updates the published area |
 * | 8        | 8    | i64      | published generation (-1 before the first publish)      |
 * | 16       | 8    | i64      | payload length in bytes                                  |
 * | 24       | 8    | i64      | slot count                                               |
 * | 32       | 8*S  | i64[S]   | slots: FREE (-1), CLAIMED idle (-2), or pinned generation |
 * | 32+8S    | M    | bytes    | payload of the published generation (e.g. tree headers)  |
 *
 * Protocol (the writer never waits):
 * - publish: sequence++ (odd), write payload, length and generation, sequence++ (even).
 * - pin: read a stable (generation, payload) under the sequence, store the generation in the
 *   reader's slot, then re-read the published generation; if it moved, pin again. Atomics are
 *   sequentially consistent, so if the writer's later scan misses the slot, the re-read saw
 *   the newer generation and the reader retries: no reader ever holds a generation whose
 *   retired pages were already freed.
 * - oldest: the writer scans the slots; a page retired at G is freed when oldest >= G.
 */
import { assert } from '../common/assert.js';
import { EbofsError } from '../common/errors.js';
import { type Pager } from './pager.js';
import { type PageId } from './store.js';

export const READER_SLOT_COUNT_MAX = 1024;
export const READER_PAYLOAD_BYTES_MAX = 1 << 20;
/** Bound on pin retries (each retry means the writer published meanwhile). */
export const PIN_RETRY_MAX = 1_000_000;

const SLOT_FREE = -1n;
const SLOT_IDLE = -2n;
const HEADER_WORDS = 4;

export interface PinnedVersion {
  readonly generation: number;
  /** The payload published with the generation (copied out of shared memory). */
  readonly payload: Uint8Array;
}

export class ReaderTable {
  readonly buffer: SharedArrayBuffer;
  private readonly words: BigInt64Array;
  private readonly bytes: Uint8Array;
  private readonly slotCount: number;
  private readonly payloadAt: number;

  private constructor(buffer: SharedArrayBuffer) {
    this.buffer = buffer;
    this.words = new BigInt64Array(buffer);
    this.bytes = new Uint8Array(buffer);
    this.slotCount = Number(Atomics.load(this.words, 3));
    this.payloadAt = (HEADER_WORDS + this.slotCount) * 8;
  }

  static create(slotCount: number, payloadBytesMax: number): ReaderTable {
    if (!Number.isInteger(slotCount) || slotCount < 1 || slotCount > READER_SLOT_COUNT_MAX) {
      throw new EbofsError('EINVAL', `reader slot count ${slotCount} outside [1, ${READER_SLOT_COUNT_MAX}]`);
    }
    if (!Number.isInteger(payloadBytesMax) || payloadBytesMax < 0 || payloadBytesMax > READER_PAYLOAD_BYTES_MAX) {
      throw new EbofsError('EINVAL', `reader payload size ${payloadBytesMax} is invalid`);
    }
    const size = (HEADER_WORDS + slotCount) * 8 + Math.ceil(payloadBytesMax / 8) * 8;
    const buffer = new SharedArrayBuffer(size);
    const words = new BigInt64Array(buffer);
    words[1] = -1n;
    words[3] = BigInt(slotCount);
    for (let i = 0; i < slotCount; i++) words[HEADER_WORDS + i] = SLOT_FREE;
    return new ReaderTable(buffer);
  }

  /** The same table in another thread. */
  static attach(buffer: SharedArrayBuffer): ReaderTable {
    return new ReaderTable(buffer);
  }

  /** Writer: publishes `generation` (ascending) with `payload`. */
  publish(generation: number, payload: Uint8Array): void {
    assert(Number.isSafeInteger(generation) && generation >= 0, 'bad generation');
    if (payload.length > this.buffer.byteLength - this.payloadAt) {
      throw new EbofsError('E2BIG', `published payload of ${payload.length} bytes exceeds the reader table`);
    }
    const current = Atomics.load(this.words, 1);
    assert(BigInt(generation) > current, `generation ${generation} is not after ${current}`);
    Atomics.add(this.words, 0, 1n);
    // Plain writes ordered by the surrounding sequentially consistent sequence updates.
    this.bytes.set(payload, this.payloadAt);
    Atomics.store(this.words, 2, BigInt(payload.length));
    Atomics.store(this.words, 1, BigInt(generation));
    Atomics.add(this.words, 0, 1n);
  }

  /** The published generation, or -1 before the first publish. */
  publishedGeneration(): number {
    return Number(Atomics.load(this.words, 1));
  }

  /** Reader: claims a free slot for this thread (ENOSPC when all are taken). */
  claimSlot(): number {
    for (let i = 0; i < this.slotCount; i++) {
      if (Atomics.compareExchange(this.words, HEADER_WORDS + i, SLOT_FREE, SLOT_IDLE) === SLOT_FREE) return i;
    }
    throw new EbofsError('ENOSPC', `all ${this.slotCount} reader slots are taken`);
  }

  releaseSlot(slot: number): void {
    this.checkSlot(slot);
    Atomics.store(this.words, HEADER_WORDS + slot, SLOT_FREE);
  }

  /** Reader: pins the published generation in `slot` and returns it with its payload. */
  pin(slot: number): PinnedVersion {
    this.checkSlot(slot);
    for (let attempt = 0; attempt < PIN_RETRY_MAX; attempt++) {
      const seen = this.readPublished();
      if (seen === undefined) continue;
      if (seen.generation < 0) throw new EbofsError('ENOENT', 'nothing published yet');
      Atomics.store(this.words, HEADER_WORDS + slot, BigInt(seen.generation));
      if (Atomics.load(this.words, 1) === BigInt(seen.generation)) return seen;
    }
    throw new EbofsError('EBUSY_LOCKED', 'could not pin a generation (writer publishing too fast)');
  }

  /** Reader: drops the slot's pin. */
  unpin(slot: number): void {
    this.checkSlot(slot);
    Atomics.store(this.words, HEADER_WORDS + slot, SLOT_IDLE);
  }

  /** Writer: the oldest generation any reader pins, or undefined when none does. */
  oldestPinned(): number | undefined {
    let oldest: bigint | undefined;
    for (let i = 0; i < this.slotCount; i++) {
      const g = Atomics.load(this.words, HEADER_WORDS + i);
      if (g >= 0n && (oldest === undefined || g < oldest)) oldest = g;
    }
    return oldest === undefined ? undefined : Number(oldest);
  }

  private readPublished(): PinnedVersion | undefined {
    const before = Atomics.load(this.words, 0);
    if ((before & 1n) === 1n) return undefined;
    const generation = Number(Atomics.load(this.words, 1));
    const length = Number(Atomics.load(this.words, 2));
    const payload = this.bytes.slice(this.payloadAt, this.payloadAt + length);
    if (Atomics.load(this.words, 0) !== before) return undefined;
    return { generation, payload };
  }

  private checkSlot(slot: number): void {
    if (!(Number.isInteger(slot) && slot >= 0 && slot < this.slotCount)) assert(false, `bad reader slot ${slot}`);
  }
}

/**
 * Writer-side reclamation: holds retired page lists until no reader (local pins plus the
 * shared ReaderTable) can reach them, then frees them through the Pager.
 */
export class Reclaimer {
  private readonly pager: Pager;
  private readonly readers: ReaderTable | undefined;
  private readonly localPins = new Map<number, number>();
  /** Retired lists in ascending generation order. */
  private readonly retired: { generation: number; pages: readonly PageId[] }[] = [];
  private pending = 0;

  constructor(pager: Pager, readers?: ReaderTable) {
    this.pager = pager;
    this.readers = readers;
  }

  /** Holds `generation` on the writer's thread; returns the release function (idempotent). */
  pinLocal(generation: number): () => void {
    this.localPins.set(generation, (this.localPins.get(generation) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.localPins.get(generation) ?? 0) - 1;
      assert(left >= 0, 'local pin underflow');
      if (left === 0) this.localPins.delete(generation);
      else this.localPins.set(generation, left);
    };
  }

  /** Pages that generation `generation` stopped using (a CommitResult's `freed`). */
  retire(generation: number, pages: readonly PageId[]): void {
    const last = this.retired[this.retired.length - 1];
    assert(last === undefined || last.generation <= generation, 'retire out of order');
    if (pages.length === 0) return;
    this.retired.push({ generation, pages });
    this.pending += pages.length;
  }

  /** The oldest generation anyone holds, or undefined. */
  oldestPinned(): number | undefined {
    let oldest = this.readers?.oldestPinned();
    for (const g of this.localPins.keys()) if (oldest === undefined || g < oldest) oldest = g;
    return oldest;
  }

  /** Frees every retired page no pinned generation can reach; returns how many. */
  reclaim(): number {
    const oldest = this.oldestPinned();
    let freed = 0;
    while (this.retired.length > 0) {
      const head = this.retired[0]!;
      if (oldest !== undefined && head.generation > oldest) break;
      for (const id of head.pages) this.pager.free(id);
      freed += head.pages.length;
      this.retired.shift();
    }
    this.pending -= freed;
    return freed;
  }

  /** Retired pages still waiting. */
  get pendingPageCount(): number {
    return this.pending;
  }

  /** Every retired page still waiting (for checks in tests and the simulator). */
  pendingPages(): PageId[] {
    return this.retired.flatMap((r) => [...r.pages]);
  }
}
