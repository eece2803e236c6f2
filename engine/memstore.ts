/**
 * `MemStore`: the in-memory reference implementation of `ObjectStore`, and the model the
 * on-disk engine is tested against (differential tests compare `dumpState()` of both).
 *
 * Semantics are Ceph's (reference §3, §5), BlueStore where MemStore and BlueStore differ:
 * clone needs equal hashes, cloneRange must lie inside the source, object ops on a missing
 * collection reject the transaction, objects outside a PG's hash range are refused (EINVAL).
 *
 * How a transaction applies: `queueTransactions` runs every op of every transaction of the
 * vector, in order, directly on the live state, recording an exact undo entry for each change.
 * Tolerated errors (`isToleratedError`) skip their op; any other error rolls the undo log back
 * and rejects with a `TransactionError` (code, transaction and op index). It all happens in
 * one synchronous call with no await, so no reader can observe a partial transaction: to the
 * outside this is "validate everything, then apply". The promise resolves in a later
 * microtask ("committed"), in call order.
 *
 * Data is kept in immutable 4 KiB pages (never modified in place, replaced whole), so undo
 * entries and clones share pages instead of copying bytes; absent pages are holes.
 */
import { checkBatch, checkReadArgs } from './store-args.js';
import { EbofsError } from '../common/errors.js';
import { verify } from '../common/assert.js';
import { LIST_OBJECTS_MAX, READ_BYTES_MAX, STAT_BLOCK_SIZE_BYTES } from './limits.js';
import { parseCollectionId, type CollectionId } from './collection.js';
import { encodeOidKeyBinary } from './oid-key.js';
import { Transaction, TransactionError } from './transaction.js';
import { type Op, isToleratedError } from './types-ops.js';
import type { ValidationView } from './types-validator.js';
import {
  type Extent, type ListObjectsOptions, type ListObjectsResult, type ObjectStat, type ObjectStore,
  type OmapRange, type QueueOptions, type StoreStatfs, dumpStoreState,
} from './types-store.js';
import {
  type ByteInput, BytesMap, type Ghobject, type ObjectRef, GHOBJECT_MAX, GHOBJECT_MIN, binaryToBytes,
  bytesToBinary, formatGhobject, normalizeObjectId, toBytes,
} from './types.js';
import {
  PAGE_BYTES, MemObject, Entry, MemCollection, MissingCollection, State, assertState, readData,
} from './memstore-model.js';
import { applyOp } from './memstore-apply.js';

export interface MemStoreOptions {
  /** Capacity for ENOSPC and statfs (bytes of data pages). Default 1 TiB. */
  readonly capacityBytes?: number;
}

/** The in-memory reference `ObjectStore`. */
export class MemStore implements ObjectStore {
  private readonly state = new State();
  private readonly capacityBytes: number;
  private closed = false;
  private commitTail: Promise<void> = Promise.resolve();

  constructor(options: MemStoreOptions = {}) {
    this.capacityBytes = options.capacityBytes ?? 2 ** 40;
  }

  queueTransaction(t: Transaction, options: QueueOptions = {}): Promise<void> {
    return this.queueTransactions([t], options);
  }

  queueTransactions(ts: readonly Transaction[], options: QueueOptions = {}): Promise<void> {
    try {
      this.checkOpen();
      checkBatch(ts);
      this.applyBatch(ts);
      options.onApplied?.();
    } catch (err) {
      return Promise.reject(err);
    }
    const committed = this.commitTail.then(() => undefined);
    this.commitTail = committed;
    return committed;
  }

  private applyBatch(ts: readonly Transaction[]): void {
    const s = this.state;
    const allocatedBefore = s.allocatedBytes;
    s.begin();
    try {
      ts.forEach((t, transactionIndex) => {
        if (t.epoch !== undefined && t.epoch < s.floor) {
          throw new TransactionError('ESTALE_EPOCH', `epoch ${t.epoch} below floor ${s.floor}`,
            { opIndex: -1, transactionIndex });
        }
        t.ops.forEach((op, opIndex) => this.applyOpTolerant(op, opIndex, transactionIndex));
      });
      if (s.allocatedBytes > this.capacityBytes && s.allocatedBytes > allocatedBefore) {
        throw new TransactionError('ENOSPC', `needs ${s.allocatedBytes} of ${this.capacityBytes} bytes`,
          { opIndex: -1, transactionIndex: ts.length - 1 });
      }
    } catch (err) {
      s.rollback();
      verify(() => assertState(s));
      throw err;
    }
    verify(() => assertState(s));
  }

  private applyOpTolerant(op: Op, opIndex: number, transactionIndex: number): void {
    try {
      applyOp(this.state, op);
    } catch (err) {
      if (!(err instanceof EbofsError) || err instanceof TransactionError) throw err;
      if (!(err instanceof MissingCollection) && isToleratedError(op.type, err.code)) return;
      const message = err.message.replace(/^[A-Z0-9_]+: /, '');
      throw new TransactionError(err.code, message, { opIndex, op, transactionIndex, cause: err });
    }
  }

  private checkOpen(): void {
    if (this.closed) throw new EbofsError('ECLOSED', 'store is closed');
  }

  private collection(cid: CollectionId): MemCollection {
    this.checkOpen();
    parseCollectionId(cid);
    const coll = this.state.collections.get(cid);
    if (coll === undefined) throw new EbofsError('ENOENT', `no collection ${cid}`, { location: cid });
    return coll;
  }

  private lookup(cid: CollectionId, ref: ObjectRef): MemObject {
    const coll = this.collection(cid);
    const oid = normalizeObjectId(ref);
    const entry = coll.objects.get(encodeOidKeyBinary(oid));
    if (entry === undefined) {
      throw new EbofsError('ENOENT', `no object ${formatGhobject(oid)}`, { location: `${cid}/${formatGhobject(oid)}` });
    }
    return entry.obj;
  }

  async read(cid: CollectionId, oid: ObjectRef, offset = 0, length = 0): Promise<Buffer> {
    const obj = this.lookup(cid, oid);
    checkReadArgs(offset, length);
    if (offset >= obj.size || (length === 0 && offset > 0)) return Buffer.alloc(0);
    const n = length === 0 ? obj.size : Math.min(length, obj.size - offset);
    if (n > READ_BYTES_MAX) throw new EbofsError('E2BIG', `read of ${n} bytes exceeds ${READ_BYTES_MAX}`);
    return readData(obj, offset, n);
  }

  async stat(cid: CollectionId, oid: ObjectRef): Promise<ObjectStat> {
    const { size } = this.lookup(cid, oid);
    return { size, blockSize: STAT_BLOCK_SIZE_BYTES, blocks: Math.ceil(size / STAT_BLOCK_SIZE_BYTES) };
  }

  async exists(cid: CollectionId, oid: ObjectRef): Promise<boolean> {
    this.checkOpen();
    const coll = this.state.collections.get(cid);
    return coll !== undefined && coll.objects.get(encodeOidKeyBinary(normalizeObjectId(oid))) !== undefined;
  }

  async getattr(cid: CollectionId, oid: ObjectRef, name: ByteInput): Promise<Buffer> {
    const value = this.lookup(cid, oid).attrs.get(bytesToBinary(toBytes(name)));
    if (value === undefined) throw new EbofsError('ENODATA', 'no such xattr', { location: cid });
    return Buffer.from(value);
  }

  async getattrs(cid: CollectionId, oid: ObjectRef): Promise<BytesMap> {
    const attrs = this.lookup(cid, oid).attrs;
    return new BytesMap(attrs.keys().map((k) => [k, Buffer.from(attrs.get(k) as Buffer)] as const));
  }

  async omapGetHeader(cid: CollectionId, oid: ObjectRef): Promise<Buffer> {
    return Buffer.from(this.lookup(cid, oid).omapHeader);
  }

  async omapGetValues(cid: CollectionId, oid: ObjectRef, keys: Iterable<ByteInput>): Promise<BytesMap> {
    const omap = this.lookup(cid, oid).omap;
    const out: Array<readonly [string, Buffer]> = [];
    for (const key of keys) {
      const k = bytesToBinary(toBytes(key));
      const v = omap.get(k);
      if (v !== undefined) out.push([k, Buffer.from(v)]);
    }
    return new BytesMap(out);
  }

  async omapGetKeys(cid: CollectionId, oid: ObjectRef): Promise<Buffer[]> {
    return this.lookup(cid, oid).omap.keys().map(binaryToBytes);
  }

  async *omapIterate(cid: CollectionId, oid: ObjectRef, range: OmapRange = {}): AsyncGenerator<[Buffer, Buffer]> {
    const omap = this.lookup(cid, oid).omap;
    if (range.start !== undefined && range.after !== undefined) {
      throw new EbofsError('EINVAL', 'omapIterate takes start or after, not both');
    }
    const end = range.end === undefined ? undefined : bytesToBinary(toBytes(range.end));
    let i = range.after !== undefined ? omap.lowerBound(bytesToBinary(toBytes(range.after)), true)
      : range.start !== undefined ? omap.lowerBound(bytesToBinary(toBytes(range.start))) : 0;
    // Resume by key, not index, so a caller that breaks the isolation rule still sees order.
    for (;;) {
      const key = omap.keys()[i];
      if (key === undefined || (end !== undefined && key >= end)) return;
      yield [binaryToBytes(key), Buffer.from(omap.get(key) as Buffer)];
      i = omap.lowerBound(key, true);
    }
  }

  async listCollections(): Promise<CollectionId[]> {
    this.checkOpen();
    return [...this.state.collections.keys()].sort();
  }

  async collectionExists(cid: CollectionId): Promise<boolean> {
    this.checkOpen();
    return this.state.collections.has(cid);
  }

  async collectionEmpty(cid: CollectionId): Promise<boolean> {
    return this.collection(cid).objects.size === 0;
  }

  async collectionBits(cid: CollectionId): Promise<number> {
    return this.collection(cid).bits;
  }

  async listObjects(cid: CollectionId, options: ListObjectsOptions = {}): Promise<ListObjectsResult> {
    const objects = this.collection(cid).objects;
    const start = normalizeObjectId(options.start ?? GHOBJECT_MIN);
    const end = normalizeObjectId(options.end ?? GHOBJECT_MAX);
    const max = Math.min(options.max ?? LIST_OBJECTS_MAX, LIST_OBJECTS_MAX);
    if (!Number.isInteger(max) || max < 0) throw new EbofsError('EINVAL', `bad listObjects max ${max}`);
    const keys = objects.keys();
    const endKey = encodeOidKeyBinary(end);
    const out: Ghobject[] = [];
    let i = start.max ? keys.length : objects.lowerBound(encodeOidKeyBinary(start));
    for (; i < keys.length && out.length < max; i++) {
      const key = keys[i] as string;
      if (key >= endKey) break;
      out.push((objects.get(key) as Entry).oid);
    }
    const nextKey = keys[i];
    return { objects: out, next: nextKey === undefined ? GHOBJECT_MAX : (objects.get(nextKey) as Entry).oid };
  }

  async fiemap(cid: CollectionId, oid: ObjectRef, offset = 0, length?: number): Promise<Extent[]> {
    const obj = this.lookup(cid, oid);
    checkReadArgs(offset, length ?? 0);
    const end = Math.min(obj.size, length === undefined ? obj.size : offset + length);
    const out: Extent[] = [];
    const indexes = [...obj.pages.keys()].sort((a, b) => a - b);
    for (const index of indexes) {
      const lo = Math.max(offset, index * PAGE_BYTES);
      const hi = Math.min(end, (index + 1) * PAGE_BYTES);
      if (lo >= hi) continue;
      const last = out[out.length - 1];
      if (last !== undefined && last.offset + last.length === lo) {
        out[out.length - 1] = { offset: last.offset, length: hi - last.offset };
      } else {
        out.push({ offset: lo, length: hi - lo });
      }
    }
    return out;
  }

  async cloneDiff(cid: CollectionId, a: ObjectRef, b: ObjectRef): Promise<Extent[]> {
    const x = this.lookup(cid, a);
    const y = this.lookup(cid, b);
    const size = Math.max(x.size, y.size);
    const raw: Extent[] = [];
    // Pages are immutable and shared by clones, so the same page object means equal bytes.
    for (const i of new Set([...x.pages.keys(), ...y.pages.keys()])) {
      const lo = i * PAGE_BYTES;
      const hi = Math.min(size, lo + PAGE_BYTES);
      if (x.pages.get(i) !== y.pages.get(i) && lo < hi) raw.push({ offset: lo, length: hi - lo });
    }
    if (x.size !== y.size) raw.push({ offset: Math.min(x.size, y.size), length: size - Math.min(x.size, y.size) });
    raw.sort((p, q) => p.offset - q.offset);
    const out: Extent[] = [];
    for (const e of raw) {
      const last = out[out.length - 1];
      if (last !== undefined && last.offset + last.length >= e.offset) {
        const end = Math.max(last.offset + last.length, e.offset + e.length);
        out[out.length - 1] = { offset: last.offset, length: end - last.offset };
      } else {
        out.push(e);
      }
    }
    return out;
  }

  async statfs(): Promise<StoreStatfs> {
    this.checkOpen();
    let omapBytes = 0;
    let attrBytes = 0;
    let stored = 0;
    for (const coll of this.state.collections.values()) {
      for (const key of coll.objects.keys()) {
        const obj = (coll.objects.get(key) as Entry).obj;
        attrBytes += obj.attrBytes;
        omapBytes += obj.omapHeader.length;
        for (const k of obj.omap.keys()) omapBytes += k.length + (obj.omap.get(k) as Buffer).length;
        for (const index of obj.pages.keys()) {
          stored += Math.max(0, Math.min(PAGE_BYTES, obj.size - index * PAGE_BYTES));
        }
      }
    }
    const allocated = this.state.allocatedBytes;
    return {
      total: this.capacityBytes, available: Math.max(0, this.capacityBytes - allocated), reserved: 0,
      allocated, dataStored: stored, omapAllocated: omapBytes, internalMetadata: attrBytes,
    };
  }

  /** The fencing floor (vectors apply when queued, so it reflects every one queued before). */
  async getFloor(): Promise<number> {
    this.checkOpen();
    return this.state.floor;
  }

  /**
   * Ceph's set_floor_and_read: queues a transaction holding one `setFloor` op and resolves,
   * once it commits, with the floor it left in force: max(floor, epoch). EINVAL (nothing
   * queued) unless `epoch` is a non-negative safe integer.
   */
  async setFloor(epoch: number): Promise<number> {
    this.checkOpen();
    const t = new Transaction().setFloor(epoch);
    let floor = -1;
    await this.queueTransaction(t, { onApplied: () => { floor = this.state.floor; } });
    return floor;
  }

  /** Idempotent: a second close waits for the same drain. */
  async close(): Promise<void> {
    this.closed = true;
    await this.commitTail;
  }

  /**
   * A synchronous view of the live state for `validateTransactions` (the shared validator the
   * on-disk engine uses); tests check the validator against MemStore through it.
   */
  validationView(): ValidationView {
    const s = this.state;
    return {
      get floor() { return s.floor; },
      get collectionCount() { return s.collections.size; },
      collectionBits: (cid) => s.collections.get(cid)?.bits,
      object: (cid, oid) => {
        const obj = s.collections.get(cid)?.objects.get(encodeOidKeyBinary(oid))?.obj;
        if (obj === undefined) return undefined;
        return {
          size: obj.size, attrCount: obj.attrs.size, attrBytes: obj.attrBytes,
          attrValueBytes: (name) => obj.attrs.get(name)?.length,
        };
      },
      listCollection: (cid) => {
        const objects = s.collections.get(cid)?.objects;
        return objects === undefined ? [] : objects.keys().map((k) => (objects.get(k) as Entry).oid);
      },
    };
  }

  /** A canonical text snapshot of everything stored (see `dumpStoreState`). */
  dumpState(): Promise<string> {
    return dumpStoreState(this);
  }
}

