/**
 * The `ObjectStore` interface: what an OSD sees of ebofs. Modelled on Crimson's
 * `FuturizedStore` (reference §6): every call returns a Promise; errors are `EbofsError`s with
 * stable codes (ENOENT for a missing collection or object, ENODATA for a missing xattr, ...).
 *
 * Implemented by the on-disk engine and by `MemStore`, the in-memory reference model. The
 * conformance suite (test/conformance/objectstore.ts) runs against both. `dumpStoreState` is
 * the canonical snapshot differential tests compare between any two implementations.
 */
import { checksum64Parts } from '../common/checksum.js';
import type { CollectionId } from './collection.js';
import type { Transaction } from './transaction.js';
import { type ByteInput, type BytesMap, type Ghobject, type ObjectRef, GHOBJECT_MIN, formatGhobject } from './types.js';

/** Options of `queueTransaction(s)`. */
/** A space reservation: `bytes` promised to later transactions, `remainingBytes` not yet used. */
export interface StoreReservation {
  readonly id: number;
  readonly bytes: number;
  readonly remainingBytes: number;
}

export interface QueueOptions {
  /**
   * Called synchronously once the transaction is applied (readable), before
   * `queueTransaction` returns (Ceph `on_applied_sync`). Must be fast and must not throw;
   * it is not called when the transaction is rejected.
   */
  readonly onApplied?: () => void;
  /**
   * A space reservation (from the store's `reserve`) the transaction's allocations draw from
   * first; allocations covered by it never fail with ENOSPC. Stores without reservations
   * (MemStore) ignore it.
   */
  readonly reservation?: StoreReservation;
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
  /**
   * Ranges (merged, ascending) whose contents may differ between objects `a` and `b` of one
   * collection, decided from shared-extent identity without reading data: a range outside the
   * result is guaranteed equal (recovery copies only the result). Covers up to the larger
   * size.
   */
  cloneDiff(cid: CollectionId, a: ObjectRef, b: ObjectRef): Promise<Extent[]>;
  /** Store-wide space figures. */
  statfs(): Promise<StoreStatfs>;
  /**
   * The fencing floor (0 until a `setFloor` op applies), ordered with the queue: the floor as
   * of every transaction queued before the call (EbofsStore waits for vectors still waiting
   * for journal space; none queued after the call counts). Not a durability promise: a floor
   * raised by an applied, not yet committed transaction is reported, as other reads see it.
   */
  getFloor(): Promise<number>;
  /**
   * Fencing, Ceph's set_floor_and_read: raises the floor to max(floor, epoch) through the
   * transaction queue (a transaction holding one `setFloor` op) and resolves, once that is
   * durable, with the floor now in force. Every transaction queued before the call is applied
   * (or refused) first; every transaction stamped (`setEpoch`) below the returned floor and
   * queued after the call is refused with ESTALE_EPOCH, nothing of it applied. The floor never
   * goes down and survives remount and crash. EINVAL, nothing changed, unless `epoch` is a
   * non-negative safe integer.
   */
  setFloor(epoch: number): Promise<number>;

  /** Waits for every queued transaction to commit, then closes. Later calls reject ECLOSED. */
  close(): Promise<void>;
}

/** Granularity of the data digest (independent of any store's block size). */
const DUMP_PAGE_BYTES = 4096;

// ---- the canonical dump: what "two stores hold the same" means ----

function valueText(bytes: Uint8Array): string {
  if (bytes.length <= 64) return Buffer.from(bytes).toString('hex');
  return `len=${bytes.length},xxh64=${checksum64Parts([bytes]).toString(16)}`;
}

/** Digest of an object's logical data: xxh64 over (page index, bytes) of its non-zero pages. */
async function dataDigest(store: ObjectStore, cid: CollectionId, oid: Ghobject, size: number): Promise<string> {
  const parts: Uint8Array[] = [];
  let done = 0; // pages below this index are digested
  const chunkPages = 256;
  for (const extent of await store.fiemap(cid, oid, 0, size)) {
    const last = Math.ceil((extent.offset + extent.length) / DUMP_PAGE_BYTES);
    for (let index = Math.max(done, Math.floor(extent.offset / DUMP_PAGE_BYTES)); index < last; index += chunkPages) {
      const count = Math.min(chunkPages, last - index);
      const chunk = await store.read(cid, oid, index * DUMP_PAGE_BYTES, count * DUMP_PAGE_BYTES);
      for (let i = 0; i * DUMP_PAGE_BYTES < chunk.length; i++) {
        const page = chunk.subarray(i * DUMP_PAGE_BYTES, (i + 1) * DUMP_PAGE_BYTES);
        if (page.every((b) => b === 0)) continue;
        const label = Buffer.alloc(8);
        label.writeUInt32LE(index + i, 0);
        label.writeUInt32LE(page.length, 4);
        parts.push(label, page);
      }
    }
    done = Math.max(done, last);
  }
  return checksum64Parts(parts).toString(16);
}

/**
 * A canonical, comparable text snapshot of a store: every collection (sorted) with its bits,
 * every object in Ceph order with its size, a digest of its logical data (holes and explicit
 * zeros look the same), its xattrs, omap header and omap entries. Uses only the public
 * `ObjectStore` API, so the on-disk engine's dump is comparable line by line with MemStore's.
 * Allocation hints are advisory and not included.
 */
export async function dumpStoreState(store: ObjectStore): Promise<string> {
  const lines: string[] = [];
  for (const cid of (await store.listCollections()).sort()) {
    lines.push(`collection ${cid} bits ${await store.collectionBits(cid)}`);
    let start: Ghobject = GHOBJECT_MIN;
    for (;;) {
      const page = await store.listObjects(cid, { start, max: 1024 });
      for (const oid of page.objects) {
        const { size } = await store.stat(cid, oid);
        lines.push(`  object ${formatGhobject(oid)} size ${size} data ${await dataDigest(store, cid, oid, size)}`);
        for (const [name, value] of await store.getattrs(cid, oid)) {
          lines.push(`    attr ${name.toString('hex')} ${valueText(value)}`);
        }
        const header = await store.omapGetHeader(cid, oid);
        if (header.length > 0) lines.push(`    omap-header ${valueText(header)}`);
        for await (const [key, value] of store.omapIterate(cid, oid)) {
          lines.push(`    omap ${key.toString('hex')} ${valueText(value)}`);
        }
      }
      if (page.next.max) break;
      start = page.next;
    }
  }
  return lines.join('\n');
}
