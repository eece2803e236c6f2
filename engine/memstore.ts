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
import { EbofsError, type ErrorCode } from '../common/errors.js';
import { assert, assertNever, verify } from '../common/assert.js';
import {
  COLLECTION_COUNT_MAX, LIST_OBJECTS_MAX, READ_BYTES_MAX, STAT_BLOCK_SIZE_BYTES,
  XATTR_BYTES_PER_OBJECT_MAX, XATTR_COUNT_PER_OBJECT_MAX,
} from './limits.js';
import {
  collectionAdmits, parseCollectionId, splitMoves, type CollectionId, type ParsedCollectionId,
} from './collection.js';
import { encodeOidKeyBinary } from './oid-key.js';
import { Transaction, TransactionError } from './transaction.js';
import { type Op, type OpOf, isToleratedError } from './types-ops.js';
import type { ValidationView } from './types-validator.js';
import {
  type Extent, type ListObjectsOptions, type ListObjectsResult, type ObjectStat, type ObjectStore, type OmapRange,
  type QueueOptions, type StoreStatfs, dumpStoreState,
} from './types-store.js';
import {
  type ByteInput, BytesMap, type Ghobject, type ObjectRef, GHOBJECT_MAX, GHOBJECT_MIN, binaryToBytes, bytesToBinary,
  formatGhobject, normalizeObjectId, toBytes,
} from './types.js';

/** Page size of MemStore's sparse data (also fiemap's granularity). */
const PAGE_BYTES = 4096;
const EMPTY = Buffer.alloc(0);

/** A Map with its keys also kept sorted (binary strings, so `<` is unsigned byte order). */
class SortedMap<V> {
  private readonly map = new Map<string, V>();
  private readonly sorted: string[] = [];

  get size(): number { return this.map.size; }
  get(key: string): V | undefined { return this.map.get(key); }
  keys(): readonly string[] { return this.sorted; }

  /** Index of the first key >= `key` (or > `key` when `strict`). */
  lowerBound(key: string, strict = false): number {
    let lo = 0;
    let hi = this.sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const k = this.sorted[mid] as string;
      if (k < key || (strict && k === key)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Sets or (with undefined) deletes; returns the previous value. */
  put(key: string, value: V | undefined): V | undefined {
    const prev = this.map.get(key);
    if (value === undefined) {
      if (prev === undefined) return prev;
      this.map.delete(key);
      this.sorted.splice(this.lowerBound(key), 1);
    } else {
      if (prev === undefined) this.sorted.splice(this.lowerBound(key), 0, key);
      this.map.set(key, value);
    }
    return prev;
  }

  clone(): SortedMap<V> {
    const out = new SortedMap<V>();
    for (const k of this.sorted) out.map.set(k, this.map.get(k) as V);
    out.sorted.push(...this.sorted);
    return out;
  }
}

/** One object: size, immutable pages, xattrs, omap. */
class MemObject {
  size = 0;
  pages = new Map<number, Buffer>();
  attrs = new SortedMap<Buffer>();
  attrBytes = 0;
  omap = new SortedMap<Buffer>();
  omapHeader: Buffer = EMPTY;
  allocHint: readonly [number, number, number] = [0, 0, 0];
}

interface Entry {
  readonly oid: Ghobject;
  readonly obj: MemObject;
}

class MemCollection {
  readonly objects = new SortedMap<Entry>();
  constructor(readonly parsed: ParsedCollectionId, public bits: number) {}
}

/** A missing collection named by an object op: always fatal, even for ENOENT-tolerant ops. */
class MissingCollection extends EbofsError {}

/** Live state plus the undo log of the batch being applied. */
class State {
  readonly collections = new Map<CollectionId, MemCollection>();
  allocatedBytes = 0;
  floor = 0;
  private undo: Array<() => void> = [];

  begin(): void { this.undo = []; }
  rollback(): void {
    for (let i = this.undo.length - 1; i >= 0; i--) (this.undo[i] as () => void)();
    this.undo = [];
  }

  /** Assigns `target[field] = value`, recording the old value. */
  setField<T extends object, K extends keyof T>(target: T, field: K, value: T[K]): void {
    const prev = target[field];
    target[field] = value;
    this.undo.push(() => { target[field] = prev; });
  }

  setPage(obj: MemObject, index: number, page: Buffer | undefined): void {
    const prev = obj.pages.get(index);
    const apply = (p: Buffer | undefined): void => {
      const had = obj.pages.has(index);
      if (p === undefined) obj.pages.delete(index); else obj.pages.set(index, p);
      this.allocatedBytes += ((p === undefined ? 0 : 1) - (had ? 1 : 0)) * PAGE_BYTES;
    };
    apply(page);
    this.undo.push(() => apply(prev));
  }

  putSorted<V>(map: SortedMap<V>, key: string, value: V | undefined): V | undefined {
    const prev = map.put(key, value);
    this.undo.push(() => { map.put(key, prev); });
    return prev;
  }

  putObject(coll: MemCollection, key: string, entry: Entry | undefined): void {
    const prev = this.putSorted(coll.objects, key, entry);
    const delta = (entry?.obj.pages.size ?? 0) - (prev?.obj.pages.size ?? 0);
    this.allocatedBytes += delta * PAGE_BYTES;
    this.undo.push(() => { this.allocatedBytes -= delta * PAGE_BYTES; });
  }

  putCollection(cid: CollectionId, coll: MemCollection | undefined): void {
    const prev = this.collections.get(cid);
    const apply = (c: MemCollection | undefined): void => {
      if (c === undefined) this.collections.delete(cid); else this.collections.set(cid, c);
    };
    apply(coll);
    this.undo.push(() => apply(prev));
  }
}

/** Options of `new MemStore`. */
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


/** The model's own invariants (run after every batch under EBOFS_VERIFY); throws AssertionError. */
function assertState(s: State): void {
  let pages = 0;
  for (const [cid, coll] of s.collections) {
    const keys = coll.objects.keys();
    assert(keys.length === coll.objects.size, `${cid}: sorted keys and map disagree`);
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i] as string;
      assert(i === 0 || (keys[i - 1] as string) < key, `${cid}: keys out of order`);
      const entry = coll.objects.get(key) as Entry;
      assert(encodeOidKeyBinary(entry.oid) === key, `${cid}: entry under a foreign key`);
      assert(collectionAdmits(coll.parsed, coll.bits, entry.oid), `${cid}: holds ${formatGhobject(entry.oid)}`);
      assertObject(entry.obj, `${cid}/${formatGhobject(entry.oid)}`);
      pages += entry.obj.pages.size;
    }
  }
  assert(s.allocatedBytes === pages * PAGE_BYTES, `allocated ${s.allocatedBytes} != ${pages} pages`);
}

function assertObject(obj: MemObject, where: string): void {
  let attrBytes = 0;
  for (const k of obj.attrs.keys()) attrBytes += k.length + (obj.attrs.get(k) as Buffer).length;
  assert(attrBytes === obj.attrBytes && obj.attrs.keys().length === obj.attrs.size, `${where}: xattr totals`);
  assert(obj.omap.keys().length === obj.omap.size, `${where}: omap index`);
  for (const [index, page] of obj.pages) {
    assert(page.length === PAGE_BYTES && index * PAGE_BYTES < obj.size, `${where}: page ${index} past size`);
    const tail = obj.size - index * PAGE_BYTES;
    assert(tail >= PAGE_BYTES || page.subarray(tail).every((b) => b === 0), `${where}: stale bytes past size`);
  }
}


function readData(obj: MemObject, offset: number, length: number): Buffer {
  const out = Buffer.alloc(length);
  for (let pos = 0; pos < length;) {
    const abs = offset + pos;
    const inPage = abs % PAGE_BYTES;
    const n = Math.min(PAGE_BYTES - inPage, length - pos);
    const page = obj.pages.get(Math.floor(abs / PAGE_BYTES));
    if (page !== undefined) page.copy(out, pos, inPage, inPage + n);
    pos += n;
  }
  return out;
}

// ---- op application (each op checks before it changes anything it cannot undo) ----

function fail(code: ErrorCode, message: string): never {
  throw new EbofsError(code, message);
}

function getCollection(s: State, cid: CollectionId): MemCollection {
  const coll = s.collections.get(cid);
  if (coll === undefined) throw new MissingCollection('ENOENT', `no collection ${cid}`);
  return coll;
}

function findObject(s: State, cid: CollectionId, oid: Ghobject): MemObject {
  const entry = getCollection(s, cid).objects.get(encodeOidKeyBinary(oid));
  if (entry === undefined) fail('ENOENT', `no object ${formatGhobject(oid)}`);
  return entry.obj;
}

/** Inserts `obj` as `oid` in `cid` (refusing objects outside a PG's hash range). */
function insertObject(s: State, cid: CollectionId, oid: Ghobject, obj: MemObject): MemObject {
  const coll = getCollection(s, cid);
  if (!collectionAdmits(coll.parsed, coll.bits, oid)) {
    fail('EINVAL', `${formatGhobject(oid)} does not belong to ${cid} (bits ${coll.bits})`);
  }
  s.putObject(coll, encodeOidKeyBinary(oid), { oid, obj });
  return obj;
}

function findOrCreate(s: State, cid: CollectionId, oid: Ghobject): MemObject {
  const entry = getCollection(s, cid).objects.get(encodeOidKeyBinary(oid));
  return entry?.obj ?? insertObject(s, cid, oid, new MemObject());
}

function writeData(s: State, obj: MemObject, offset: number, data: Uint8Array): void {
  for (let pos = 0; pos < data.length;) {
    const abs = offset + pos;
    const index = Math.floor(abs / PAGE_BYTES);
    const inPage = abs % PAGE_BYTES;
    const n = Math.min(PAGE_BYTES - inPage, data.length - pos);
    const page = Buffer.alloc(PAGE_BYTES);
    if (n < PAGE_BYTES) obj.pages.get(index)?.copy(page);
    page.set(data.subarray(pos, pos + n), inPage);
    s.setPage(obj, index, page);
    pos += n;
  }
  if (data.length > 0 && offset + data.length > obj.size) s.setField(obj, 'size', offset + data.length);
}

function zeroData(s: State, obj: MemObject, offset: number, length: number): void {
  for (let pos = 0; pos < length;) {
    const abs = offset + pos;
    const index = Math.floor(abs / PAGE_BYTES);
    const inPage = abs % PAGE_BYTES;
    const n = Math.min(PAGE_BYTES - inPage, length - pos);
    const old = obj.pages.get(index);
    if (old !== undefined) {
      if (n === PAGE_BYTES) {
        s.setPage(obj, index, undefined);
      } else {
        const page = Buffer.from(old);
        page.fill(0, inPage, inPage + n);
        s.setPage(obj, index, page);
      }
    }
    pos += n;
  }
  if (length > 0 && offset + length > obj.size) s.setField(obj, 'size', offset + length);
}

function truncateData(s: State, obj: MemObject, size: number): void {
  if (size < obj.size) {
    const firstDropped = Math.ceil(size / PAGE_BYTES);
    for (const index of [...obj.pages.keys()]) if (index >= firstDropped) s.setPage(obj, index, undefined);
    if (size % PAGE_BYTES !== 0) zeroData(s, obj, size, PAGE_BYTES - (size % PAGE_BYTES));
  }
  s.setField(obj, 'size', size);
}

function setAttrs(s: State, obj: MemObject, attrs: ReadonlyArray<readonly [Uint8Array, Uint8Array]>): void {
  let bytes = obj.attrBytes;
  for (const [name, value] of attrs) {
    const key = bytesToBinary(name);
    const prev = s.putSorted(obj.attrs, key, Buffer.from(value));
    bytes += key.length + value.length - (prev === undefined ? 0 : key.length + prev.length);
  }
  s.setField(obj, 'attrBytes', bytes);
  // Over a limit: E2BIG is never tolerated, so the whole batch rolls back these puts.
  if (obj.attrs.size > XATTR_COUNT_PER_OBJECT_MAX) fail('E2BIG', `more than ${XATTR_COUNT_PER_OBJECT_MAX} xattrs`);
  if (bytes > XATTR_BYTES_PER_OBJECT_MAX) fail('E2BIG', `xattrs exceed ${XATTR_BYTES_PER_OBJECT_MAX} bytes`);
}

function copyObject(source: MemObject): MemObject {
  const obj = new MemObject();
  obj.size = source.size;
  obj.pages = new Map(source.pages);
  obj.attrs = source.attrs.clone();
  obj.attrBytes = source.attrBytes;
  obj.omap = source.omap.clone();
  obj.omapHeader = source.omapHeader;
  obj.allocHint = source.allocHint;
  return obj;
}

function cloneRange(s: State, op: OpOf<'cloneRange'>): void {
  const source = findObject(s, op.cid, op.oid);
  if (op.sourceOffset + op.length > source.size) {
    fail('EINVAL', `cloneRange ${op.sourceOffset}+${op.length} beyond source size ${source.size}`);
  }
  const target = findOrCreate(s, op.cid, op.targetOid);
  for (let pos = 0; pos < op.length;) {
    const abs = op.sourceOffset + pos;
    const inPage = abs % PAGE_BYTES;
    const n = Math.min(PAGE_BYTES - inPage, op.length - pos);
    const page = source.pages.get(Math.floor(abs / PAGE_BYTES));
    if (page === undefined) zeroData(s, target, op.targetOffset + pos, n);
    else writeData(s, target, op.targetOffset + pos, page.subarray(inPage, inPage + n));
    pos += n;
  }
}

function moveObjects(s: State, from: MemCollection, to: MemCollection, pick: (oid: Ghobject) => boolean): void {
  for (const key of [...from.objects.keys()]) {
    const entry = from.objects.get(key) as Entry;
    if (!pick(entry.oid)) continue;
    if (to.objects.get(key) !== undefined) fail('EEXIST', `${formatGhobject(entry.oid)} exists in target`);
    s.putObject(from, key, undefined);
    s.putObject(to, key, entry);
  }
}

/**
 * After a split or merge every object must still belong to its collection under the new
 * bits; an inconsistent split/merge (which a key-range store would turn into invisible
 * objects) is EINVAL. A correct OSD never issues one.
 */
function checkMembers(coll: MemCollection, cid: CollectionId): void {
  for (const key of coll.objects.keys()) {
    const { oid } = coll.objects.get(key) as Entry;
    if (!collectionAdmits(coll.parsed, coll.bits, oid)) {
      fail('EINVAL', `${formatGhobject(oid)} would fall outside ${cid} with bits ${coll.bits}`);
    }
  }
}

function applyCollectionOp(s: State, op: OpOf<'createCollection' | 'removeCollection' | 'splitCollection' |
  'mergeCollection'>): void {
  switch (op.type) {
    case 'createCollection':
      if (s.collections.has(op.cid)) fail('EEXIST', `collection ${op.cid} exists`);
      if (s.collections.size >= COLLECTION_COUNT_MAX) fail('E2BIG', `more than ${COLLECTION_COUNT_MAX} collections`);
      s.putCollection(op.cid, new MemCollection(parseCollectionId(op.cid), op.bits));
      return;
    case 'removeCollection':
      if (getCollection(s, op.cid).objects.size > 0) fail('ENOTEMPTY', `collection ${op.cid} not empty`);
      s.putCollection(op.cid, undefined);
      return;
    case 'splitCollection': {
      const parent = getCollection(s, op.cid);
      const child = getCollection(s, op.targetCid);
      if (child.bits !== op.bits) fail('EINVAL', `split target ${op.targetCid} has bits ${child.bits}, not ${op.bits}`);
      moveObjects(s, parent, child, (oid) => splitMoves(oid.hash, op.bits, op.rem));
      s.setField(parent, 'bits', op.bits);
      checkMembers(parent, op.cid);
      checkMembers(child, op.targetCid);
      return;
    }
    case 'mergeCollection': {
      const source = getCollection(s, op.cid);
      const target = getCollection(s, op.targetCid);
      moveObjects(s, source, target, () => true);
      s.setField(target, 'bits', op.bits);
      s.putCollection(op.cid, undefined);
      checkMembers(target, op.targetCid);
      return;
    }
    default: assertNever(op, 'collection op');
  }
}

/** Applies one op to the live state, recording undo entries; throws EbofsError on failure. */
function applyOp(s: State, op: Op): void {
  switch (op.type) {
    case 'createCollection': case 'removeCollection': case 'splitCollection': case 'mergeCollection':
      return applyCollectionOp(s, op);
    case 'setFloor':
      if (op.epoch > s.floor) s.setField(s, 'floor', op.epoch);
      return;
    case 'touch': findOrCreate(s, op.cid, op.oid); return;
    case 'write': writeData(s, findOrCreate(s, op.cid, op.oid), op.offset, op.data); return;
    case 'zero': zeroData(s, findOrCreate(s, op.cid, op.oid), op.offset, op.length); return;
    case 'truncate': truncateData(s, findObject(s, op.cid, op.oid), op.size); return;
    case 'remove':
      findObject(s, op.cid, op.oid);
      s.putObject(getCollection(s, op.cid), encodeOidKeyBinary(op.oid), undefined);
      return;
    case 'setattr': setAttrs(s, findObject(s, op.cid, op.oid), [[op.name, op.value]]); return;
    case 'setattrs': setAttrs(s, findObject(s, op.cid, op.oid), op.attrs); return;
    case 'rmattr': {
      const obj = findObject(s, op.cid, op.oid);
      const key = bytesToBinary(op.name);
      const prev = obj.attrs.get(key);
      if (prev === undefined) fail('ENODATA', 'no such xattr');
      s.putSorted(obj.attrs, key, undefined);
      s.setField(obj, 'attrBytes', obj.attrBytes - key.length - prev.length);
      return;
    }
    case 'rmattrs': {
      const obj = findObject(s, op.cid, op.oid);
      s.setField(obj, 'attrs', new SortedMap<Buffer>());
      s.setField(obj, 'attrBytes', 0);
      return;
    }
    case 'omapSetKeys': {
      const obj = findObject(s, op.cid, op.oid);
      for (const [k, v] of op.entries) s.putSorted(obj.omap, bytesToBinary(k), Buffer.from(v));
      return;
    }
    case 'omapRmKeys': {
      const obj = findObject(s, op.cid, op.oid);
      for (const k of op.keys) s.putSorted(obj.omap, bytesToBinary(k), undefined);
      return;
    }
    case 'omapRmKeyRange': {
      const obj = findObject(s, op.cid, op.oid);
      const first = bytesToBinary(op.first);
      const last = bytesToBinary(op.last);
      const from = obj.omap.lowerBound(first);
      const doomed = obj.omap.keys().slice(from, Math.max(from, obj.omap.lowerBound(last)));
      for (const k of doomed) s.putSorted(obj.omap, k, undefined);
      return;
    }
    case 'omapClear': {
      const obj = findObject(s, op.cid, op.oid);
      s.setField(obj, 'omap', new SortedMap<Buffer>());
      s.setField(obj, 'omapHeader', EMPTY);
      return;
    }
    case 'omapSetHeader': s.setField(findObject(s, op.cid, op.oid), 'omapHeader', Buffer.from(op.header)); return;
    case 'collectionMoveRename': {
      const obj = findObject(s, op.cid, op.oid);
      const coll = getCollection(s, op.targetCid);
      if (coll.objects.get(encodeOidKeyBinary(op.targetOid)) !== undefined) {
        fail('EEXIST', `rename target ${formatGhobject(op.targetOid)} exists`);
      }
      s.putObject(getCollection(s, op.cid), encodeOidKeyBinary(op.oid), undefined);
      insertObject(s, op.targetCid, op.targetOid, obj);
      return;
    }
    case 'setAllocHint':
      s.setField(findObject(s, op.cid, op.oid), 'allocHint', [op.expectedObjectSize, op.expectedWriteSize, op.flags]);
      return;
    case 'clone': {
      const source = findObject(s, op.cid, op.oid);
      const coll = getCollection(s, op.cid);
      s.putObject(coll, encodeOidKeyBinary(op.targetOid), undefined);
      insertObject(s, op.cid, op.targetOid, copyObject(source));
      return;
    }
    case 'cloneRange': cloneRange(s, op); return;
    default: assertNever(op, 'op');
  }
}
