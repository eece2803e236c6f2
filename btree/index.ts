/**
 * The public API of the btree layer: copy-on-write B+trees over a page store.
 *
 * How an owner (engine/) uses it:
 *
 * ```ts
 * const pager = new Pager(store);                       // one per page store, shared by trees
 * const tree = openTree(pager, descriptor, root);       // root from decodeTreeHeader(...)
 * tree.current.get(key);                                 // read the latest published version
 * const batch = tree.begin();                           // one transaction's changes
 * batch.put(key, value); batch.delete(other);
 * const { root, freed, written } = batch.commit();      // new version; pages already written
 * owner persists encodeTreeHeader(descriptor, root) (inline roots travel inside it);
 * reclaimer.retire(generation, freed);                  // free once no reader can reach them
 * ```
 *
 * A TreeVersion is immutable: it stays readable for as long as its pages are not freed, which
 * the owner guarantees by retiring `freed` lists through a Reclaimer (readers.ts) keyed by the
 * generation that stopped using them. Worker threads read versions through a Pager over an
 * attached store (MemoryPageStore.attach) and pin generations in a shared ReaderTable.
 */
import { type PageId } from './store.js';
import { type TreeDescriptor, type TreeRoot } from './descriptor.js';

export type { PageId, PageStore } from './store.js';
export { NO_PAGE } from './store.js';
export {
  MemoryPageStore, type MemoryPageStoreOptions, type SharedPageStoreHandle,
} from './memory-store.js';
export { Pager, type PagerOptions, type PagerCacheStats } from './pager.js';
export {
  type Comparator, type CompareFn, registerComparator, getComparator, compareBytes, compareU64,
  u64Key,
} from './comparators.js';
export {
  type FieldFormat, type TreeDescriptor, type TreeRoot, EMPTY_ROOT, makeDescriptor,
  validateDescriptor, encodeTreeHeader, decodeTreeHeader, rootCount,
} from './descriptor.js';
export {
  PAGE_SIZE_DEFAULT_BYTES, PAGE_SIZE_MIN_BYTES, PAGE_SIZE_MAX_BYTES, KEY_SIZE_MAX_BYTES,
  DEPTH_MAX, ENTRIES_PER_PAGE_MIN, INLINE_SIZE_MAX_BYTES, type PageLimits, pageLimits,
} from './format.js';
export { openTree, Tree } from './tree.js';
export { ReaderTable, Reclaimer, type PinnedVersion } from './readers.js';
export { SharedReader, type SharedTreeHandle } from './shared-reader.js';
export { spawnReaderWorker, readerWorkerData } from './worker.js';
export { check, reachablePages, type CheckFinding, type CheckOptions } from './check.js';

/** One key/value pair. In a set `value` is an empty array. */
export interface Entry {
  readonly key: Uint8Array;
  readonly value: Uint8Array;
}

/** Bounds of a range scan; keys outside are skipped. */
export interface RangeOptions {
  /** Lowest key (inclusive unless startExclusive). Omitted: from the first key. */
  readonly start?: Uint8Array;
  readonly startExclusive?: boolean;
  /** Highest key (exclusive unless endInclusive). Omitted: to the last key. */
  readonly end?: Uint8Array;
  readonly endInclusive?: boolean;
  /** Highest key first. */
  readonly reverse?: boolean;
  /** Stop after this many entries. */
  readonly limit?: number;
}

/**
 * A position in a tree version. Methods that move return whether the cursor is now on an
 * entry. `key()`/`value()` return copies; `keyView()`/`valueView()` return views into page
 * memory, valid only while the version is held (and, inside a batch, until the next change).
 */
export interface Cursor {
  readonly valid: boolean;
  /** Lower bound: the first entry with key >= `key` (in a duplicates tree, its first value). */
  seek(key: Uint8Array, value?: Uint8Array): boolean;
  /** The last entry with key <= `key` (in a duplicates tree, its last value). */
  seekLast(key: Uint8Array): boolean;
  first(): boolean;
  last(): boolean;
  next(): boolean;
  prev(): boolean;
  key(): Uint8Array;
  value(): Uint8Array;
  keyView(): Uint8Array;
  valueView(): Uint8Array;
}

/** Read operations, shared by published versions and open batches. */
export interface TreeReader {
  readonly descriptor: TreeDescriptor;
  /** Entries (key/value pairs; in a duplicates tree every value counts). */
  readonly count: number;
  /** The value of `key` (the first value in a duplicates tree), or undefined. */
  get(key: Uint8Array): Uint8Array | undefined;
  /** Whether `key` is present (with `value`, in a duplicates tree: whether that pair is). */
  has(key: Uint8Array, value?: Uint8Array): boolean;
  /** Every value of `key`, in value order (at most one unless duplicates). */
  getAll(key: Uint8Array): Uint8Array[];
  first(): Entry | undefined;
  last(): Entry | undefined;
  cursor(): Cursor;
  range(options?: RangeOptions): IterableIterator<Entry>;
}

/** A published, immutable version. */
export interface TreeVersion extends TreeReader {
  readonly root: TreeRoot;
}

/** The outcome of a commit (or a bulk load). */
export interface CommitResult {
  /** The new published version (also the tree's `current`). */
  readonly version: TreeVersion;
  readonly root: TreeRoot;
  /**
   * Pages the new version stopped using: reachable from the previous version (or allocated and
   * dropped inside the batch), never from the new one. Free them (Reclaimer.retire) once no
   * reader holds an older version.
   */
  readonly freed: readonly PageId[];
  /** Pages written to the store by this commit (all reachable from the new version). */
  readonly written: readonly PageId[];
}

/**
 * The changes of one transaction on one tree. Every touched page is copied once per batch,
 * then changed in place. Reads through the batch see its own changes.
 */
export interface WriteBatch extends TreeReader {
  /** Inserts or replaces (in a duplicates tree: adds the pair; a no-op if present). */
  put(key: Uint8Array, value?: Uint8Array): void;
  /** Removes `key` (all its values in a duplicates tree, or only `value` if given). */
  delete(key: Uint8Array, value?: Uint8Array): boolean;
  /**
   * Removes every entry whose key is >= `start` (from the first if omitted) and < `end` (to
   * the last if omitted); returns how many entries it removed.
   */
  deleteRange(start?: Uint8Array, end?: Uint8Array): number;
  /** Writes dirty pages, publishes the new version and ends the batch. */
  commit(): CommitResult;
  /** Drops every change and frees the pages the batch allocated. */
  abort(): void;
}
