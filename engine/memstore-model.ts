/**
 * engine/memstore-model.ts: MemStore's state — sorted maps, objects of immutable 4 KiB pages,
 * collections, the undo-logging State — and the model's own invariant checks.
 */
import { EbofsError } from '../common/errors.js';
import { assert } from '../common/assert.js';
import { collectionAdmits, type CollectionId, type ParsedCollectionId } from './collection.js';
import { encodeOidKeyBinary } from './oid-key.js';
import { type Ghobject, formatGhobject } from './types.js';

/** Page size of MemStore's sparse data (also fiemap's granularity). */
export const PAGE_BYTES = 4096;
export const EMPTY = Buffer.alloc(0);

/** A Map with its keys also kept sorted (binary strings, so `<` is unsigned byte order). */
export class SortedMap<V> {
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
export class MemObject {
  size = 0;
  pages = new Map<number, Buffer>();
  attrs = new SortedMap<Buffer>();
  attrBytes = 0;
  omap = new SortedMap<Buffer>();
  omapHeader: Buffer = EMPTY;
  allocHint: readonly [number, number, number] = [0, 0, 0];
}

export interface Entry {
  readonly oid: Ghobject;
  readonly obj: MemObject;
}

export class MemCollection {
  readonly objects = new SortedMap<Entry>();
  constructor(readonly parsed: ParsedCollectionId, public bits: number) {}
}

/** A missing collection named by an object op: always fatal, even for ENOENT-tolerant ops. */
export class MissingCollection extends EbofsError {}

/** Live state plus the undo log of the batch being applied. */
export class State {
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
/** The model's own invariants (run after every batch under EBOFS_VERIFY); throws AssertionError. */
export function assertState(s: State): void {
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

export function assertObject(obj: MemObject, where: string): void {
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

export function readData(obj: MemObject, offset: number, length: number): Buffer {
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

