/**
 * engine/state.ts: the in-memory state of a mounted store — the metadata trees, the allocator,
 * data blocks not yet on the device, counters — and the commit of a transaction context.
 */
import type { AllocateOptions, Allocator, Reservation } from '../alloc/index.js';
import { type Tree, type TreeDescriptor, Pager, makeDescriptor, openTree, decodeTreeHeader, encodeTreeHeader, EMPTY_ROOT } from '../btree/index.js';
import type { BlockDevice } from './device/index.js';
import { DevicePageStore } from './page-store.js';
import { LAZY_RECORDS_MIN } from './reclaim.js';
import { type SpaceCounters, zeroCounters } from './space-accounting.js';
import { BLOCK_BYTES, type TxnContext, verifyCsumBlocks } from './txn-context.js';
import { type DataGeometry, DEFAULT_GEOMETRY } from './geometry.js';

export const TREE_NAMES = ['colls', 'onodes', 'extents', 'xattrs', 'omap', 'names', 'refs', 'dead'] as const;
export type TreeName = (typeof TREE_NAMES)[number];
export type Trees = Record<TreeName, Tree>;

const DESCRIPTORS: Record<TreeName, TreeDescriptor> = {
  colls: makeDescriptor({ value: { kind: 'fixed', sizeBytes: 4 } }),
  onodes: makeDescriptor(),
  extents: makeDescriptor({ key: { kind: 'fixed', sizeBytes: 16 } }),
  xattrs: makeDescriptor(),
  omap: makeDescriptor(),
  names: makeDescriptor(),
  refs: makeDescriptor({ key: { kind: 'fixed', sizeBytes: 8 }, value: { kind: 'fixed', sizeBytes: 8 } }),
  dead: makeDescriptor({ key: { kind: 'fixed', sizeBytes: 8 }, value: { kind: 'fixed', sizeBytes: 12 } }),
};

export class EngineState {
  readonly pager: Pager;
  readonly pageStore: DevicePageStore;
  trees: Trees;
  /** Small-write blocks waiting for the next checkpoint, by physical block. */
  readonly deferredData = new Map<number, Buffer>();
  /** Large-write blocks whose device write has not completed yet. */
  readonly inflightData = new Map<number, Buffer>();
  nextNid: number;
  floor: number;
  /** Generation of the last durable checkpoint. */
  durableGeneration: number;
  /** Whether a checkpoint has taken its snapshot and is not yet durable. */
  checkpointing = false;
  /** statfs counters (space-accounting.ts); set at mount. */
  counters: SpaceCounters = zeroCounters();
  /** Zero freed space before reuse (superblock flag; engine/scrub.ts). */
  scrubFreed = false;
  /** Remove and truncate go lazy (reclaim.ts) from this many records on. */
  lazyRecordsMin = LAZY_RECORDS_MIN;
  /** The reservation the transaction being applied draws from. */
  activeReservation: Reservation | undefined;
  /** Allocation unit, checksum block and data block (engine/geometry.ts), from the superblock. */
  readonly geometry: DataGeometry;

  constructor(
    readonly device: BlockDevice,
    readonly allocator: Allocator,
    treeHeaders: Uint8Array[] | undefined,
    init: { nextNid: number; floor: number; generation: number; cacheBytes: number; geometry?: DataGeometry },
  ) {
    this.geometry = init.geometry ?? DEFAULT_GEOMETRY;
    this.pageStore = new DevicePageStore(device, allocator, () => this.freeGeneration());
    // Verified clean pages are cached up to cacheBytes (dirty ones live in the page store until
    // the next checkpoint, bounded by the checkpoint policy's dirtyBytesMax).
    this.pager = new Pager(this.pageStore, { cachePagesMax: Math.max(16, Math.floor(init.cacheBytes / BLOCK_BYTES)) });
    this.trees = openTrees(this.pager, treeHeaders);
    this.nextNid = init.nextNid;
    this.floor = init.floor;
    this.durableGeneration = init.generation;
  }

  /** Generation a free must wait for: the first checkpoint that cannot reference the block. */
  freeGeneration(): number {
    return this.durableGeneration + (this.checkpointing ? 2 : 1);
  }

  reservationFor(_ctx: TxnContext): AllocateOptions {
    return this.activeReservation === undefined ? {} : { reservation: this.activeReservation };
  }

  /**
   * Bytes of a physical data block not staged by a transaction: memory first, then the device
   * (every checksum block verified).
   */
  readBlockSync(pblock: number, csums: Uint32Array, where: (at: number) => string): Buffer {
    const cached = this.deferredData.get(pblock) ?? this.inflightData.get(pblock);
    if (cached !== undefined) return cached;
    const { blockBytes, csumBlockBytes } = this.geometry;
    const buf = Buffer.allocUnsafe(blockBytes);
    this.device.readSync(pblock * blockBytes, buf);
    verifyCsumBlocks(buf, csums, csumBlockBytes, where);
    return buf;
  }

  /**
   * Publishes a transaction context. Its large-write blocks (ctx.largeBlocks(), which the owner
   * writes itself) stay readable from inflightData until on the device; small-write blocks wait
   * in deferredData for the checkpoint.
   */
  commit(ctx: TxnContext): void {
    for (const batch of ctx.batches) {
      const result = batch.commit();
      for (const id of result.freed) this.pager.free(id);
    }
    this.nextNid = ctx.nextNid;
    this.floor = ctx.floor;
    this.counters.dataBlocks += ctx.dataBlocksDelta;
    this.counters.storedBytes += ctx.onodesDelta;
    this.counters.omapBytes += ctx.omapDelta;
    for (const [pblock, block] of ctx.newBlocks) {
      if (block.large) this.inflightData.set(pblock, block.bytes);
      else this.deferredData.set(pblock, block.bytes);
    }
    const blockBytes = this.geometry.blockBytes;
    for (const extent of ctx.frees) {
      for (let p = extent.offset / blockBytes; p < (extent.offset + extent.length) / blockBytes; p++) {
        this.deferredData.delete(p);
      }
    }
    if (ctx.frees.length > 0) this.allocator.free(ctx.frees, this.freeGeneration());
  }

  /** The tree headers a superblock stores for the current roots. */
  treeHeaders(): Uint8Array[] {
    return TREE_NAMES.map((name) => encodeTreeHeader(this.trees[name].descriptor, this.trees[name].current.root));
  }

  /** Bytes of state only in memory (checkpoint trigger). */
  get dirtyBytes(): number {
    return this.pageStore.dirtyBytes + this.deferredData.size * this.geometry.blockBytes;
  }
}

function openTrees(pager: Pager, headers: Uint8Array[] | undefined): Trees {
  const trees = {} as Trees;
  TREE_NAMES.forEach((name, i) => {
    const header = headers?.[i];
    if (header === undefined) {
      trees[name] = openTree(pager, DESCRIPTORS[name], EMPTY_ROOT);
    } else {
      const { descriptor, root } = decodeTreeHeader(header, `superblock tree ${name}`);
      trees[name] = openTree(pager, descriptor, root);
    }
  });
  return trees;
}
