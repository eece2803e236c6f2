/**
 * SharedReader: the reader side of multithreaded access, for worker threads.
 *
 * The writer thread owns a MemoryPageStore (pages in a SharedArrayBuffer), a ReaderTable and a
 * Reclaimer. After each commit it publishes (generation, payload) where the payload holds the
 * tree headers of that generation (encodeTreeHeader). A worker attaches with the handle, then
 * repeatedly pins the newest generation, opens the trees of the payload and reads them, and
 * unpins. The writer never waits: it only skips reclaiming pages a pinned generation can reach.
 *
 * The worker's Pager cache is reset whenever it pins a newer generation, because pages it
 * cached for an older generation may have been freed and rewritten since.
 */
import { assert } from '../common/assert.js';
import { decodeTreeHeader } from './descriptor.js';
import type { TreeVersion } from './index.js';
import { MemoryPageStore, type SharedPageStoreHandle } from './memory-store.js';
import { Pager } from './pager.js';
import { type PinnedVersion, ReaderTable } from './readers.js';
import { Tree } from './tree.js';

/** Everything a worker needs (structured-clonable; pass it in workerData). */
export interface SharedTreeHandle {
  readonly store: SharedPageStoreHandle;
  readonly readers: SharedArrayBuffer;
}

export class SharedReader {
  readonly pager: Pager;
  readonly table: ReaderTable;
  readonly slot: number;
  private pinned: PinnedVersion | undefined;
  private lastGeneration = -1;
  private readonly trees = new Map<string, Tree>();

  constructor(handle: SharedTreeHandle) {
    this.pager = new Pager(MemoryPageStore.attach(handle.store));
    this.table = ReaderTable.attach(handle.readers);
    this.slot = this.table.claimSlot();
  }

  /** Pins the newest published generation (unpinning any previous one). */
  pin(): PinnedVersion {
    if (this.pinned !== undefined) this.unpin();
    const pinned = this.table.pin(this.slot);
    if (pinned.generation !== this.lastGeneration) this.pager.resetCache();
    this.lastGeneration = pinned.generation;
    this.pinned = pinned;
    return pinned;
  }

  /** Opens one tree of the pinned generation from its header bytes. */
  open(header: Uint8Array): TreeVersion {
    assert(this.pinned !== undefined, 'open without a pinned generation');
    const { descriptor, root } = decodeTreeHeader(header, `generation ${this.pinned.generation} header`);
    const key = JSON.stringify(descriptor);
    let tree = this.trees.get(key);
    if (tree === undefined) {
      tree = new Tree(this.pager, descriptor, { kind: 'empty' });
      this.trees.set(key, tree);
    }
    return tree.version(root);
  }

  unpin(): void {
    if (this.pinned === undefined) return;
    this.table.unpin(this.slot);
    this.pinned = undefined;
  }

  /** Unpins and gives the slot back. */
  close(): void {
    this.unpin();
    this.table.releaseSlot(this.slot);
  }
}
