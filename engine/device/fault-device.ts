/**
 * FaultDevice: a BlockDevice that fails like a real disk, deterministically from a seed.
 *
 * It wraps a MemDevice (the medium). Writes land in a volatile cache (`pending`, in issue
 * order) and reads see them; `flush()` moves every write issued before it to the medium.
 * `writeDurable` is a write followed by a flush of its own range only (O_DSYNC): it is pending
 * like any write until its flush step, which moves its bytes to the medium and drops the parts
 * of older pending writes it covers (the page cache holds only the newest bytes of a range, so
 * no older write to those sectors can surface after a crash); every other pending write stays
 * volatile. It counts as two device operations (write, then flush) for `crashAfterOps`.
 * A power cut (`crash()`, or automatically after `crashAfterOps(n)` device operations):
 * - keeps every flushed byte;
 * - keeps an arbitrary subset of the unflushed writes, chosen by one of four modes:
 *   `drop-all`, `keep-all`, `whole-writes` (a random subset of whole writes), `torn` (each
 *   512-byte sector independently ends up holding the medium's old bytes or the bytes of one
 *   of the pending writes to it, never an older write after a newer one for the same sector:
 *   that is tearing at sector granularity plus arbitrary reordering across sectors);
 * - then refuses every further operation with EIO, as a dead process would see. `restart()`
 *   returns a fresh FaultDevice over the same medium, as the next process would open it.
 * It can also inject EIO on read, write or flush (by rate or one-shot), and flip bits on the
 * medium. A failed write is not applied; a failed flush leaves its writes volatile (as Linux
 * may drop dirty pages after an fsync error), so they may be lost at the next crash.
 *
 * All choices come from one seeded Random: the same seed and the same operation sequence give
 * the same outcome, so every crash test replays from its seed.
 */
import { assert } from '../../common/assert.js';
import { EbofsError } from '../../common/errors.js';
import { Random } from '../../common/random.js';
import { type BlockDevice, type DeviceStats, DEVICE_SECTOR_SIZE_BYTES, checkRange, emptyStats } from './device.js';
import type { MemDevice } from './mem-device.js';

export type CrashMode = 'drop-all' | 'keep-all' | 'whole-writes' | 'torn';
export type FaultOp = 'read' | 'write' | 'flush';

export interface FaultOptions {
  seed: number;
  /** Probability that any one read / write / flush fails with EIO (default 0). */
  readErrorRate?: number;
  writeErrorRate?: number;
  flushErrorRate?: number;
  /**
   * Each write and flush first yields to the event loop up to this many times (seeded), so the
   * engine applies transactions while checkpoint and journal I/O is in flight (default 0).
   */
  latency?: number;
}

interface PendingWrite {
  offset: number;
  data: Buffer;
  /** Issue order (parts of a write split by writeDurable keep it). */
  seq: number;
}

/** What a crash did, for logs and assertions. */
export interface CrashReport {
  mode: CrashMode;
  pendingWriteCount: number;
  sectorsKept: number;
  sectorsDropped: number;
}

export class FaultDevice implements BlockDevice {
  readonly sizeBytes: number;
  readonly blockSizeBytes: number;
  private readonly random: Random;
  private pending: PendingWrite[] = [];
  /** Latest pending bytes per block, so reads see unflushed writes. */
  private overlay = new Map<number, Buffer>();
  private readonly oneShot = new Map<FaultOp, number>();
  private opCount = 0;
  private writeSeq = 0;
  private crashAtOp = Infinity;
  private crashed = false;
  private closed = false;
  private lastCrash: CrashReport | undefined;
  private readonly counters: DeviceStats = emptyStats();

  constructor(readonly medium: MemDevice, private readonly options: FaultOptions) {
    this.sizeBytes = medium.sizeBytes;
    this.blockSizeBytes = medium.blockSizeBytes;
    this.random = new Random(options.seed);
  }

  async read(offset: number, target: Uint8Array): Promise<void> {
    this.readSync(offset, target);
  }

  readSync(offset: number, target: Uint8Array): void {
    this.checkAlive('read');
    checkRange(this, offset, target.byteLength, 'read');
    this.maybeFail('read', offset);
    this.readNewest(offset, target);
    this.counters.readCount++;
    this.counters.readBytes += target.byteLength;
  }

  async write(offset: number, source: Uint8Array): Promise<void> {
    await this.delay();
    this.checkAlive('write');
    checkRange(this, offset, source.byteLength, 'write');
    this.tickCrashClock('write');
    this.maybeFail('write', offset);
    const data = Buffer.from(source);
    this.pending.push({ offset, data, seq: ++this.writeSeq });
    const bs = this.blockSizeBytes;
    for (let pos = 0; pos < data.byteLength; pos += bs) {
      this.overlay.set((offset + pos) / bs, data.subarray(pos, pos + bs));
    }
    this.counters.writeCount++;
    this.counters.writeBytes += source.byteLength;
  }

  async flush(): Promise<void> {
    await this.delay();
    this.checkAlive('flush');
    const issued = this.writeSeq;
    await Promise.resolve(); // a crash may land while the flush is in flight
    this.checkAlive('flush');
    this.tickCrashClock('flush');
    this.maybeFail('flush', 0);
    const batch = this.pending.filter((w) => w.seq <= issued);
    this.pending = this.pending.filter((w) => w.seq > issued);
    for (const w of batch) this.medium.writeSync(w.offset, w.data);
    this.rebuildOverlay();
    this.counters.flushCount++;
  }

  async writeDurable(offset: number, source: Uint8Array): Promise<void> {
    await this.write(offset, source);
    await this.delay();
    this.checkAlive('flush');
    await Promise.resolve(); // a crash may land while the range's flush is in flight
    this.checkAlive('flush');
    this.tickCrashClock('flush');
    this.maybeFail('flush', offset);
    this.settleRange(offset, source.byteLength);
    this.counters.flushCount++;
  }

  /**
   * The flush step of writeDurable: the newest pending bytes of [offset, offset + length)
   * reach the medium; pending writes keep only their parts outside the range.
   */
  private settleRange(offset: number, length: number): void {
    const end = offset + length;
    const newest = Buffer.alloc(length);
    this.readNewest(offset, newest);
    this.medium.writeSync(offset, newest);
    const kept: PendingWrite[] = [];
    for (const w of this.pending) {
      const wEnd = w.offset + w.data.byteLength;
      if (wEnd <= offset || w.offset >= end) {
        kept.push(w);
        continue;
      }
      if (w.offset < offset) kept.push({ offset: w.offset, data: w.data.subarray(0, offset - w.offset), seq: w.seq });
      if (wEnd > end) kept.push({ offset: end, data: w.data.subarray(end - w.offset), seq: w.seq });
    }
    this.pending = kept;
    this.rebuildOverlay();
  }

  private async delay(): Promise<void> {
    const latency = this.options.latency ?? 0;
    if (latency === 0) return;
    for (let n = this.random.int(latency + 1); n > 0; n--) await new Promise((resolve) => setImmediate(resolve));
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  stats(): DeviceStats {
    return { ...this.counters };
  }

  /** Number of writes issued and not yet flushed. */
  get pendingWriteCount(): number {
    return this.pending.length;
  }

  get isCrashed(): boolean {
    return this.crashed;
  }

  get crashReport(): CrashReport | undefined {
    return this.lastCrash;
  }

  /** Lets `n` more writes or flushes through, then crashes on the next one (which fails EIO). */
  crashAfterOps(n: number): void {
    assert(Number.isSafeInteger(n) && n >= 0, 'crashAfterOps needs a non-negative integer');
    this.crashAtOp = this.opCount + n;
  }

  /** Makes the next `count` operations of kind `op` fail with EIO. */
  failNext(op: FaultOp, count = 1): void {
    this.oneShot.set(op, (this.oneShot.get(op) ?? 0) + count);
  }

  /** Simulates a power cut now (see the head comment). Idempotent. */
  crash(mode?: CrashMode): CrashReport {
    if (this.crashed) return this.lastCrash as CrashReport;
    const chosen = mode ?? this.pickMode();
    const report = this.applyCrash(chosen);
    this.pending = [];
    this.overlay.clear();
    this.crashed = true;
    this.lastCrash = report;
    return report;
  }

  /** The device as the next process sees it after a crash or close: same medium, no cache. */
  restart(options: Partial<FaultOptions> = {}): FaultDevice {
    if (!this.crashed) this.crash('drop-all');
    return new FaultDevice(this.medium, { ...this.options, seed: this.random.u32(), ...options });
  }

  /** Flips one bit of the durable medium (and of any cached copy), to simulate bit rot. */
  flipBit(offset: number, bit: number): void {
    assert(bit >= 0 && bit < 8, 'bit index out of range');
    const bs = this.blockSizeBytes;
    const blockStart = offset - (offset % bs);
    const block = Buffer.alloc(bs);
    this.medium.readSync(blockStart, block);
    block[offset - blockStart]! ^= 1 << bit;
    this.medium.writeSync(blockStart, block);
    const cached = this.overlay.get(blockStart / bs);
    if (cached !== undefined) cached[offset - blockStart]! ^= 1 << bit;
  }

  /** Flips a random bit within [start, end) and returns the byte offset flipped. */
  flipRandomBit(start: number, end: number): number {
    assert(end > start, 'empty range');
    const offset = start + this.random.int(end - start);
    this.flipBit(offset, this.random.int(8));
    return offset;
  }

  private pickMode(): CrashMode {
    const roll = this.random.float();
    if (roll < 0.5) return 'torn';
    if (roll < 0.7) return 'whole-writes';
    if (roll < 0.85) return 'drop-all';
    return 'keep-all';
  }

  private applyCrash(mode: CrashMode): CrashReport {
    const report: CrashReport = { mode, pendingWriteCount: this.pending.length, sectorsKept: 0, sectorsDropped: 0 };
    const sectorsPer = (w: PendingWrite): number => w.data.byteLength / DEVICE_SECTOR_SIZE_BYTES;
    if (mode === 'keep-all' || mode === 'drop-all' || mode === 'whole-writes') {
      for (const w of this.pending) {
        const keep = mode === 'keep-all' || (mode === 'whole-writes' && this.random.chance(0.5));
        if (keep) this.medium.writeSync(w.offset, w.data);
        if (keep) report.sectorsKept += sectorsPer(w);
        else report.sectorsDropped += sectorsPer(w);
      }
      return report;
    }
    this.applyTorn(report);
    return report;
  }

  /** Each sector keeps the medium's bytes or those of one pending write to it (a prefix). */
  private applyTorn(report: CrashReport): void {
    const sectorWrites = new Map<number, Buffer[]>();
    for (const w of this.pending) {
      for (let pos = 0; pos < w.data.byteLength; pos += DEVICE_SECTOR_SIZE_BYTES) {
        const sector = (w.offset + pos) / DEVICE_SECTOR_SIZE_BYTES;
        const list = sectorWrites.get(sector) ?? [];
        list.push(w.data.subarray(pos, pos + DEVICE_SECTOR_SIZE_BYTES));
        sectorWrites.set(sector, list);
      }
    }
    const bs = this.blockSizeBytes;
    const block = Buffer.alloc(bs);
    const sectors = [...sectorWrites.keys()].sort((a, b) => a - b);
    for (const sector of sectors) {
      const versions = sectorWrites.get(sector) as Buffer[];
      const chosen = this.random.int(versions.length + 1); // 0 = the medium's old bytes
      if (chosen === 0) {
        report.sectorsDropped++;
        continue;
      }
      report.sectorsKept++;
      const byteOffset = sector * DEVICE_SECTOR_SIZE_BYTES;
      const blockStart = byteOffset - (byteOffset % bs);
      this.medium.readSync(blockStart, block);
      block.set(versions[chosen - 1] as Buffer, byteOffset - blockStart);
      this.medium.writeSync(blockStart, block);
    }
  }

  /** The medium's bytes with the pending writes over them: what a read sees. */
  private readNewest(offset: number, target: Uint8Array): void {
    this.medium.readSync(offset, target);
    const bs = this.blockSizeBytes;
    for (let pos = 0; pos < target.byteLength; pos += bs) {
      const cached = this.overlay.get((offset + pos) / bs);
      if (cached !== undefined) target.set(cached, pos);
    }
  }

  private rebuildOverlay(): void {
    this.overlay = new Map();
    const bs = this.blockSizeBytes;
    for (const w of this.pending) {
      for (let pos = 0; pos < w.data.byteLength; pos += bs) {
        this.overlay.set((w.offset + pos) / bs, w.data.subarray(pos, pos + bs));
      }
    }
  }

  private tickCrashClock(op: FaultOp): void {
    this.opCount++;
    if (this.opCount > this.crashAtOp) {
      this.crash();
      throw new EbofsError('EIO', `${op}: device lost power (simulated crash)`);
    }
  }

  private maybeFail(op: FaultOp, offset: number): void {
    const shots = this.oneShot.get(op) ?? 0;
    const rate = op === 'read' ? this.options.readErrorRate : op === 'write' ? this.options.writeErrorRate : this.options.flushErrorRate;
    const fire = shots > 0 || (rate !== undefined && rate > 0 && this.random.chance(rate));
    if (!fire) return;
    if (shots > 0) this.oneShot.set(op, shots - 1);
    throw new EbofsError('EIO', `${op} failed (injected fault)`, { location: `device offset ${offset}` });
  }

  private checkAlive(op: string): void {
    if (this.crashed) throw new EbofsError('EIO', `${op}: device lost power (simulated crash)`);
    if (this.closed) throw new EbofsError('ECLOSED', `${op} on a closed device`);
  }
}
