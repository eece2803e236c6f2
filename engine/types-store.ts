/**
 * The `ObjectStore` interface: what an OSD sees of ebofs. Modelled on Crimson's
 * `FuturizedStore` (reference §6): every call returns a Promise; errors are `EbofsError`s with
 * stable codes (ENOENT for a missing collection or object, ENODATA for a missing xattr, ...).
 *
 * Implemented by the on-disk engine and by `MemStore`, the in-memory reference model. The
 * conformance suite (test/conformance/objectstore.ts) runs against both.
 */
import type { CollectionId } from './collection.js';
import type { Transaction } from './transaction.js';
import type { ByteInput, BytesMap, Ghobject, ObjectRef } from './types.js';

/** Options of `queueTransaction(s)`. */
export interface QueueOptions {
  /**
   * Called synchronously once the transaction is applied (readable), before
   * `queueTransaction` returns (Ceph `on_applied_sync`). Must be fast and must not throw;
   * it is not called when the transaction is rejected.
   */
  readonly onApplied?: () => void;
}

/** Result of `stat`. */
export interface ObjectStat {
  /** Logical size in bytes. */
  readonly size: number;
  /** `st_blksize`: 4096. */
  readonly blockSize: number;
  /** `st_blocks`: ceil(size / 4096). */
  readonly blocks: number;
}

/** One allocated range of an object (`fiemap`). */
export interface Extent {
  readonly offset: number;
  readonly length: number;
}

/** Store-wide space figures (Ceph `store_statfs_t`, the fields we can fill). */
export interface StoreStatfs {
  /** Capacity in bytes. */
  readonly total: number;
  /** Bytes a new transaction may still allocate (excludes reserved space). */
  readonly available: number;
  /** Bytes held by reservations not yet redeemed. */
  readonly reserved: number;
  /** Bytes allocated to object data. */
  readonly allocated: number;
  /** Logical bytes of object data stored (allocated ranges within object sizes). */
  readonly dataStored: number;
  /** Bytes of omap keys, values and headers. */
  readonly omapAllocated: number;
  /** Bytes of other metadata (onodes, xattrs, trees). */
  readonly internalMetadata: number;
}

/** Arguments of `listObjects`. */
export interface ListObjectsOptions {
  /** First object to consider (inclusive). Default: the minimum (`GHOBJECT_MIN`). */
  readonly start?: ObjectRef;
  /** End of the range (exclusive). Default: `GHOBJECT_MAX`. */
  readonly end?: ObjectRef;
  /** Most objects to return; default and cap `LIST_OBJECTS_MAX`. */
  readonly max?: number;
}

/**
 * Result of `listObjects`: `objects` in ascending Ceph order within [start, end), and `next`,
 * the first object not returned (every unreturned object sorts >= `next`): the first object
 * past the page when `max` stopped the listing, else the first object >= end, else MAX.
 */
export interface ListObjectsResult {
  readonly objects: readonly Ghobject[];
  readonly next: Ghobject;
}

/** Where `omapIterate` starts and stops (byte order). */
export interface OmapRange {
  /** Start at the first key >= start (Ceph LOWER_BOUND). */
  readonly start?: ByteInput;
  /** Start at the first key > after (Ceph UPPER_BOUND). Exclusive with `start`. */
  readonly after?: ByteInput;
  /** Stop before the first key >= end. */
  readonly end?: ByteInput;
}

/** The object store contract (reference §2, §3, §5). */
export interface ObjectStore {
  /**
   * Applies `t` atomically. The effects are readable when this returns (the `onApplied`
   * callback has run); the promise resolves once they are durable. A rejected transaction
   * (`TransactionError` carrying the code and op index) changed nothing, and the store stays
   * usable. Transactions touching the same collection apply and commit in call order.
   */
  queueTransaction(t: Transaction, options?: QueueOptions): Promise<void>;
  /** Applies every transaction of `ts` as one atomic, durable unit, in order. */
  queueTransactions(ts: readonly Transaction[], options?: QueueOptions): Promise<void>;

  /**
   * Reads `length` bytes at `offset`, clamped to the object size. Past EOF: empty. `(0, 0)`
   * (the defaults): the whole object. Holes read as zeros. ENOENT if missing.
   */
  read(cid: CollectionId, oid: ObjectRef, offset?: number, length?: number): Promise<Buffer>;
  /** Size and block figures. ENOENT if missing. */
  stat(cid: CollectionId, oid: ObjectRef): Promise<ObjectStat>;
  /** Whether the object exists (false also when the collection does not). */
  exists(cid: CollectionId, oid: ObjectRef): Promise<boolean>;
  /** One xattr: ENOENT if the object is missing, ENODATA if the xattr is. */
  getattr(cid: CollectionId, oid: ObjectRef, name: ByteInput): Promise<Buffer>;
  /** Every xattr of the object, in name byte order. */
  getattrs(cid: CollectionId, oid: ObjectRef): Promise<BytesMap>;
  /** The omap header (empty if never set). */
  omapGetHeader(cid: CollectionId, oid: ObjectRef): Promise<Buffer>;
  /** The values of those of `keys` that exist (missing keys are skipped, not an error). */
  omapGetValues(cid: CollectionId, oid: ObjectRef, keys: Iterable<ByteInput>): Promise<BytesMap>;
  /** Every omap key, in byte order. */
  omapGetKeys(cid: CollectionId, oid: ObjectRef): Promise<Buffer[]>;
  /**
   * Omap entries in byte order within `range`. ENOENT (on the first step) if the object is
   * missing. The caller must not modify the object while iterating (Ceph's isolation rule).
   */
  omapIterate(cid: CollectionId, oid: ObjectRef, range?: OmapRange): AsyncIterable<[Buffer, Buffer]>;

  /** Every collection, sorted (callers must not depend on the order in Ceph; we sort). */
  listCollections(): Promise<CollectionId[]>;
  /** Whether the collection exists. */
  collectionExists(cid: CollectionId): Promise<boolean>;
  /** Whether the collection holds no object. ENOENT if missing. */
  collectionEmpty(cid: CollectionId): Promise<boolean>;
  /** The collection's `bits`. ENOENT if missing. */
  collectionBits(cid: CollectionId): Promise<number>;
  /** A page of the collection's objects in Ceph order (see `ListObjectsResult`). */
  listObjects(cid: CollectionId, options?: ListObjectsOptions): Promise<ListObjectsResult>;

  /**
   * Allocated ranges of the object within [offset, offset + length), clipped to its size and
   * merged. `length` defaults to the rest of the object. A store without sparse tracking may
   * return the whole clipped range.
   */
  fiemap(cid: CollectionId, oid: ObjectRef, offset?: number, length?: number): Promise<Extent[]>;
  /** Store-wide space figures. */
  statfs(): Promise<StoreStatfs>;
  /** The fencing floor (0 until a `setFloor` op commits). */
  getFloor(): Promise<number>;

  /** Waits for every queued transaction to commit, then closes. Later calls reject ECLOSED. */
  close(): Promise<void>;
}
