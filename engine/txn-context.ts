/**
 * engine/txn-context.ts: one transaction vector's changes while it is being applied.
 *
 * Every metadata change goes into a btree WriteBatch per tree; new data blocks, frees and
 * counters are staged here. `commit` publishes all of it at once; `abort` drops all of it,
 * so a rejected transaction leaves nothing behind (the batches free the pages they took; data
 * blocks taken are released through the allocator as deferred frees).
 */
import { checksum32 } from '../common/checksum.js';
import { CorruptionError } from '../common/errors.js';
import type { Extent, Reservation } from '../alloc/index.js';
import type { WriteBatch } from '../btree/index.js';
import type { EngineState } from './state.js';
import { addRefs, dropRefs } from './refs.js';
import { AccountedBatch, measureOmap, measureOnode } from './space-accounting.js';

/**
 * The device block (superblocks, journal, metadata pages, free-map blob). Object data goes in
 * data blocks of `state.geometry.blockBytes` (engine/geometry.ts), 4096 by default.
 */
export const BLOCK_BYTES = 4096;

/** A block written by this transaction: its bytes, and whether it goes out before the record. */
export interface NewBlock {
  bytes: Buffer;
  large: boolean;
}

/** Where a large write's blocks went (journaled so replay maps them without the data). */
export interface Placement {
  transactionIndex: number;
  opIndex: number;
  extents: Extent[];
  csums: Uint32Array;
}

export class TxnContext {
  // One WriteBatch per tree, begun on first use: a small write touches three or four of the
  // eight trees, and a batch that is never begun costs nothing to commit or abort.
  private colls_: WriteBatch | undefined;
  private onodes_: AccountedBatch | undefined;
  private extents_: WriteBatch | undefined;
  private xattrs_: WriteBatch | undefined;
  private omap_: AccountedBatch | undefined;
  private names_: WriteBatch | undefined;
  private refs_: WriteBatch | undefined;
  private dead_: WriteBatch | undefined;
  readonly newBlocks = new Map<number, NewBlock>();
  readonly frees: Extent[] = [];
  readonly allocated: Extent[] = [];
  readonly placements: Placement[] = [];
  nextNid: number;
  floor: number;
  /** Set during replay: placements to use instead of allocating, by "t:o". */
  replayPlacements: Map<string, Placement> | undefined;
  transactionIndex = 0;
  opIndex = 0;
  /**
   * Set while an op that gives space back (truncate, zero) rewrites a partial edge block: it may
   * draw from the allocator's slack, so such ops work on a full store.
   */
  releasing = false;
  /** Net data blocks allocated minus freed (space-accounting.ts). */
  dataBlocksDelta = 0;
  /** The reservation allocations drew from, and its remaining bytes before the first. */
  private drawnFrom: Reservation | undefined;
  private reservedBefore = 0;

  constructor(readonly state: EngineState) {
    this.nextNid = state.nextNid;
    this.floor = state.floor;
  }

  get colls(): WriteBatch { return this.colls_ ??= this.state.trees.colls.begin(); }
  /** Onode and omap batches measure what they change (space-accounting.ts). */
  get onodes(): AccountedBatch { return this.onodes_ ??= new AccountedBatch(this.state.trees.onodes.begin(), measureOnode); }
  get extents(): WriteBatch { return this.extents_ ??= this.state.trees.extents.begin(); }
  get xattrs(): WriteBatch { return this.xattrs_ ??= this.state.trees.xattrs.begin(); }
  get omap(): AccountedBatch { return this.omap_ ??= new AccountedBatch(this.state.trees.omap.begin(), measureOmap); }
  get names(): WriteBatch { return this.names_ ??= this.state.trees.names.begin(); }
  get refs(): WriteBatch { return this.refs_ ??= this.state.trees.refs.begin(); }
  get dead(): WriteBatch { return this.dead_ ??= this.state.trees.dead.begin(); }

  /** Net change of the onode and omap measures (space-accounting.ts). */
  get onodesDelta(): number { return this.onodes_?.delta ?? 0; }
  get omapDelta(): number { return this.omap_?.delta ?? 0; }

  /** The large-write blocks this context placed (pblock -> bytes), or undefined when none. */
  largeBlocks(): Map<number, Buffer> | undefined {
    let large: Map<number, Buffer> | undefined;
    for (const [pblock, block] of this.newBlocks) if (block.large) (large ??= new Map()).set(pblock, block.bytes);
    return large;
  }

  /** The batches begun so far, in tree order. */
  get batches(): WriteBatch[] {
    const out: WriteBatch[] = [];
    for (const b of [this.colls_, this.onodes_, this.extents_, this.xattrs_, this.omap_, this.names_, this.refs_, this.dead_]) {
      if (b !== undefined) out.push(b);
    }
    return out;
  }

  /** Allocates data blocks (several extents if fragmented, each aligned to the data block). */
  allocateBlocks(count: number): Extent[] {
    const blockBytes = this.state.geometry.blockBytes;
    const options = this.state.reservationFor(this);
    if (options.reservation !== undefined && this.drawnFrom === undefined) {
      this.drawnFrom = options.reservation;
      this.reservedBefore = options.reservation.remainingBytes;
    }
    const aligned = blockBytes > BLOCK_BYTES ? { ...options, alignBytes: blockBytes } : options;
    const extents = this.state.allocator.allocate(count * blockBytes, this.releasing ? { ...aligned, privileged: true } : aligned);
    this.allocated.push(...extents);
    this.dataBlocksDelta += count;
    return extents;
  }

  /**
   * The bytes of physical data block `pblock` as of this transaction, every checksum block of
   * it verified against `csums` (`where(at)` names byte `at` of the block).
   */
  readBlockSync(pblock: number, csums: Uint32Array, where: (at: number) => string): Buffer {
    const staged = this.newBlocks.get(pblock);
    if (staged !== undefined) return staged.bytes;
    return this.state.readBlockSync(pblock, csums, where);
  }

  /** Drops one mapping of physical blocks [pblock, pblock + count): frees what no record maps. */
  releaseBlocks(pblock: number, count: number): void {
    for (const run of dropRefs(this.refs, pblock, count)) this.freeBlocks(run.start, run.count);
  }

  /** Adds one mapping of physical blocks [pblock, pblock + count) (clone sharing). */
  shareBlocks(pblock: number, count: number): void {
    addRefs(this.refs, pblock, count);
  }

  private freeBlocks(pblock: number, count: number): void {
    this.dataBlocksDelta -= count;
    // A large write's blocks are still written even when a later op of this transaction
    // replaces them: its journaled placement maps them at replay, and that later op's
    // read-modify-write reads them back from the device.
    for (let i = 0; i < count; i++) if (this.newBlocks.get(pblock + i)?.large !== true) this.newBlocks.delete(pblock + i);
    const blockBytes = this.state.geometry.blockBytes;
    this.frees.push({ offset: pblock * blockBytes, length: count * blockBytes });
  }

  abort(): void {
    for (const batch of this.batches) batch.abort();
    // Nothing references these blocks (the transaction published nothing): free them at once,
    // and give back what they drew from a reservation.
    if (this.allocated.length > 0) {
      const reservation = this.drawnFrom;
      this.state.allocator.unallocate(this.allocated,
        reservation === undefined ? undefined : { reservation, bytes: this.reservedBefore - reservation.remainingBytes });
    }
  }
}

/**
 * Verifies consecutive checksum blocks of `csumBlockBytes` in `bytes` against `csums`;
 * `where(at)` names the block at byte `at` of `bytes` in the error.
 */
export function verifyCsumBlocks(bytes: Uint8Array, csums: Uint32Array, csumBlockBytes: number, where: (at: number) => string): void {
  for (let i = 0; i < csums.length; i++) {
    verifyBlock(bytes.subarray(i * csumBlockBytes, (i + 1) * csumBlockBytes), csums[i]!, () => where(i * csumBlockBytes));
  }
}

/** Verifies a checksum block read from the device against its extent-map checksum. */
export function verifyBlock(bytes: Uint8Array, csum: number, where: () => string): void {
  const actual = checksum32(bytes);
  if (actual !== csum) {
    throw new CorruptionError('ECHECKSUM', 'data checksum mismatch', {
      location: where(), expected: csum.toString(16), actual: actual.toString(16),
    });
  }
}
