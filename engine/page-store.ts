/**
 * engine/page-store.ts: the device-backed PageStore the metadata trees run on.
 *
 * Page id = device block number (offset / 4096); page 0 and 1 are the superblocks, never tree
 * pages. Pages are copy-on-write (btree/): a page id, once written at a checkpoint, is never
 * written again until it has been freed and that free is durable.
 *
 * - `dirty`: pages written since the last checkpoint snapshot, kept in memory.
 * - `flushing`: the snapshot a checkpoint is writing out; readable until it is on the device.
 * - `fresh`: ids allocated since the last snapshot. No superblock references them, so freeing
 *   one recycles it at once (a transaction commit copies a few pages; without recycling every
 *   small transaction would pin new blocks until the next checkpoint).
 * - Any other page is referenced by a durable or in-progress checkpoint: its free is deferred
 *   through the allocator until the checkpoint that stops referencing it is durable.
 * - `spare`: the buffers of freed fresh pages. Nothing reaches them any more (the Pager dropped
 *   its cached copy before the free, no version is held across an await, and no checkpoint
 *   snapshot holds a fresh page), so `pageBuffer` lends them to the btree for the next
 *   copy-on-write page: a small transaction then allocates no page memory at all.
 *
 * Reads of clean pages go to the device synchronously (readSync); the btree Pager verifies and
 * caches them.
 */
import { assert } from '../common/assert.js';
import type { Allocator } from '../alloc/index.js';
import type { PageId, PageStore } from '../btree/index.js';
import type { BlockDevice } from './device/index.js';

export const PAGE_BYTES = 4096;
/** Most spare page buffers kept (4 MiB). */
const SPARE_PAGES_MAX = 1024;

export class DevicePageStore implements PageStore {
  readonly pageSizeBytes = PAGE_BYTES;
  private dirty = new Map<number, Uint8Array>();
  private flushing = new Map<number, Uint8Array>();
  private fresh = new Set<number>();
  private recycled: number[] = [];
  private readonly spare: Uint8Array[] = [];

  constructor(
    private readonly device: BlockDevice,
    private readonly allocator: Allocator,
    /** The generation a free of a checkpointed page must wait for. */
    private readonly freeGeneration: () => number,
  ) {}

  read(id: PageId): Uint8Array {
    const page = this.dirty.get(id) ?? this.flushing.get(id);
    if (page !== undefined) return page;
    const buf = Buffer.allocUnsafe(PAGE_BYTES);
    this.device.readSync(id * PAGE_BYTES, buf);
    return buf;
  }

  allocate(): PageId {
    let id = this.recycled.pop();
    if (id === undefined) {
      const [extent] = this.allocator.allocate(PAGE_BYTES, { contiguous: true, privileged: true });
      assert(extent !== undefined && extent.length === PAGE_BYTES, 'page allocation returned no extent');
      id = extent.offset / PAGE_BYTES;
    }
    this.fresh.add(id);
    return id as PageId;
  }

  /** Memory to build a freshly allocated page in: a spare buffer when there is one. */
  pageBuffer(_id: PageId): Uint8Array {
    return this.spare.pop() ?? new Uint8Array(PAGE_BYTES);
  }

  write(id: PageId, page: Uint8Array): void {
    if (!this.fresh.has(id)) assert(false, `page ${id} written without being allocated since the last checkpoint`);
    this.dirty.set(id, page);
  }

  free(id: PageId): void {
    const page = this.dirty.get(id);
    this.dirty.delete(id);
    if (this.fresh.delete(id)) {
      this.recycled.push(id);
      if (page !== undefined && this.spare.length < SPARE_PAGES_MAX) this.spare.push(page);
      return;
    }
    this.allocator.free([{ offset: id * PAGE_BYTES, length: PAGE_BYTES }], this.freeGeneration());
  }

  /** Freed fresh pages kept for reuse: allocated, referenced by nothing (fsck counts them used). */
  get recycledPages(): readonly number[] {
    return this.recycled;
  }

  /** Dirty pages not yet flushed (checkpoint trigger). */
  get dirtyBytes(): number {
    return this.dirty.size * PAGE_BYTES;
  }

  /**
   * Starts a checkpoint: the dirty pages become the snapshot to write, and every page is now
   * referenced by that checkpoint (no longer fresh). Recycled ids return to the allocator,
   * deferred to `generation` (the snapshot does not reference them).
   */
  snapshot(generation: number): Map<number, Uint8Array> {
    assert(this.flushing.size === 0, 'a checkpoint is already writing pages');
    this.flushing = this.dirty;
    this.dirty = new Map();
    this.fresh.clear();
    if (this.recycled.length > 0) {
      this.allocator.free(this.recycled.map((id) => ({ offset: id * PAGE_BYTES, length: PAGE_BYTES })), generation);
      this.recycled = [];
    }
    return this.flushing;
  }

  /** The snapshot is on the device: its pages are read from there from now on. */
  snapshotWritten(): void {
    this.flushing = new Map();
  }
}

/** Most bytes one coalesced device write carries. */
const RUN_BYTES_MAX = 4 * 1024 * 1024;

/**
 * Writes blocks of `blockBytes` (pages: 4096; data: the data block, engine/geometry.ts) sorted
 * by block number, one device write per run of neighbours. A run whose buffers already lie
 * side by side in one ArrayBuffer (a large write's blocks) is written as a view, without
 * copying. `durable`: each run with writeDurable (its range is durable when the promise
 * resolves). Returns the bytes written.
 */
export async function writeBlockRuns(
  device: BlockDevice, blocks: ReadonlyMap<number, Uint8Array>, durable = false, blockBytes: number = PAGE_BYTES,
): Promise<number> {
  const ids = [...blocks.keys()].sort((a, b) => a - b);
  const runBlocksMax = Math.max(1, RUN_BYTES_MAX / blockBytes);
  let written = 0;
  for (let i = 0; i < ids.length;) {
    let j = i + 1;
    while (j < ids.length && ids[j] === ids[j - 1]! + 1 && j - i < runBlocksMax) j++;
    const run = joinBlocks(ids.slice(i, j).map((id) => blocks.get(id)!), blockBytes);
    if (durable) await device.writeDurable(ids[i]! * blockBytes, run);
    else await device.write(ids[i]! * blockBytes, run);
    written += run.byteLength;
    i = j;
  }
  return written;
}

/** One buffer for consecutive blocks: a view when they are neighbours in one buffer already. */
function joinBlocks(parts: Uint8Array[], blockBytes: number): Uint8Array {
  const first = parts[0]!;
  let adjacent = true;
  for (let k = 1; k < parts.length && adjacent; k++) {
    const prev = parts[k - 1]!;
    adjacent = parts[k]!.buffer === first.buffer && parts[k]!.byteOffset === prev.byteOffset + prev.byteLength;
  }
  if (adjacent) return new Uint8Array(first.buffer, first.byteOffset, parts.length * blockBytes);
  return Buffer.concat(parts);
}
