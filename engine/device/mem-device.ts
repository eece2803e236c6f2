/**
 * MemDevice: a BlockDevice in memory, for tests and simulations. Blocks are stored sparsely
 * (a map from block index to a 4 KiB buffer), so a large device costs only what is written.
 * Writes are durable at once (there is no volatile cache to lose); wrap it in a FaultDevice to
 * simulate power cuts.
 */
import { EbofsError } from '../../common/errors.js';
import {
  type BlockDevice, type DeviceStats, DEVICE_BLOCK_SIZE_BYTES, checkDeviceSize, checkRange, emptyStats,
} from './device.js';

export class MemDevice implements BlockDevice {
  readonly sizeBytes: number;
  readonly blockSizeBytes = DEVICE_BLOCK_SIZE_BYTES;
  private readonly blocks: Map<number, Buffer>;
  private closed = false;
  private readonly counters: DeviceStats = emptyStats();

  constructor(sizeBytes: number, blocks: Map<number, Buffer> = new Map()) {
    checkDeviceSize(sizeBytes);
    this.sizeBytes = sizeBytes;
    this.blocks = blocks;
  }

  async read(offset: number, target: Uint8Array): Promise<void> {
    this.readSync(offset, target);
  }

  async write(offset: number, source: Uint8Array): Promise<void> {
    this.writeSync(offset, source);
  }

  async flush(): Promise<void> {
    this.checkOpen('flush');
    this.counters.flushCount++;
  }

  /** A write, durable at once like every MemDevice write; counted as a write and a flush. */
  async writeDurable(offset: number, source: Uint8Array): Promise<void> {
    this.writeSync(offset, source);
    this.counters.flushCount++;
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  stats(): DeviceStats {
    return { ...this.counters };
  }

  /** Synchronous read, for FaultDevice and tests. */
  readSync(offset: number, target: Uint8Array): void {
    this.checkOpen('read');
    checkRange(this, offset, target.byteLength, 'read');
    const bs = this.blockSizeBytes;
    for (let pos = 0; pos < target.byteLength; pos += bs) {
      const block = this.blocks.get((offset + pos) / bs);
      if (block === undefined) target.fill(0, pos, pos + bs);
      else target.set(block, pos);
    }
    this.counters.readCount++;
    this.counters.readBytes += target.byteLength;
  }

  /** Synchronous write, for FaultDevice and tests. */
  writeSync(offset: number, source: Uint8Array): void {
    this.checkOpen('write');
    checkRange(this, offset, source.byteLength, 'write');
    const bs = this.blockSizeBytes;
    for (let pos = 0; pos < source.byteLength; pos += bs) {
      const index = (offset + pos) / bs;
      let block = this.blocks.get(index);
      if (block === undefined) {
        block = Buffer.allocUnsafe(bs);
        this.blocks.set(index, block);
      }
      block.set(source.subarray(pos, pos + bs));
    }
    this.counters.writeCount++;
    this.counters.writeBytes += source.byteLength;
  }

  /** Number of blocks ever written (memory in use is this times the block size). */
  get allocatedBlockCount(): number {
    return this.blocks.size;
  }

  /**
   * A new open device over the same bytes (a process restart in tests). This device is closed
   * by the call, so the two never write the same blocks.
   */
  reopen(): MemDevice {
    this.closed = true;
    return new MemDevice(this.sizeBytes, this.blocks);
  }

  /** An independent copy of the current bytes (to branch a simulation). */
  snapshot(): MemDevice {
    const copy = new Map<number, Buffer>();
    for (const [index, block] of this.blocks) copy.set(index, Buffer.from(block));
    return new MemDevice(this.sizeBytes, copy);
  }

  private checkOpen(op: string): void {
    if (this.closed) throw new EbofsError('ECLOSED', `${op} on a closed device`);
  }
}
