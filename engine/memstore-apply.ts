/**
 * engine/memstore-apply.ts: MemStore's op semantics (the reference every other store is
 * compared with): each op checks before it changes anything it cannot undo.
 */
import { EbofsError, type ErrorCode } from '../common/errors.js';
import { assertNever } from '../common/assert.js';
import { COLLECTION_COUNT_MAX, XATTR_BYTES_PER_OBJECT_MAX, XATTR_COUNT_PER_OBJECT_MAX } from './limits.js';
import { collectionAdmits, parseCollectionId, splitMoves, type CollectionId } from './collection.js';
import { encodeOidKeyBinary } from './oid-key.js';
import { type Op, type OpOf } from './types-ops.js';
import { type Ghobject, bytesToBinary, formatGhobject } from './types.js';
import {
  PAGE_BYTES, EMPTY, SortedMap, MemObject, Entry, MemCollection, MissingCollection, State,
} from './memstore-model.js';

// ---- op application (each op checks before it changes anything it cannot undo) ----

export function fail(code: ErrorCode, message: string): never {
  throw new EbofsError(code, message);
}

export function getCollection(s: State, cid: CollectionId): MemCollection {
  const coll = s.collections.get(cid);
  if (coll === undefined) throw new MissingCollection('ENOENT', `no collection ${cid}`);
  return coll;
}

export function findObject(s: State, cid: CollectionId, oid: Ghobject): MemObject {
  const entry = getCollection(s, cid).objects.get(encodeOidKeyBinary(oid));
  if (entry === undefined) fail('ENOENT', `no object ${formatGhobject(oid)}`);
  return entry.obj;
}

/** Inserts `obj` as `oid` in `cid` (refusing objects outside a PG's hash range). */
export function insertObject(s: State, cid: CollectionId, oid: Ghobject, obj: MemObject): MemObject {
  const coll = getCollection(s, cid);
  if (!collectionAdmits(coll.parsed, coll.bits, oid)) {
    fail('EINVAL', `${formatGhobject(oid)} does not belong to ${cid} (bits ${coll.bits})`);
  }
  s.putObject(coll, encodeOidKeyBinary(oid), { oid, obj });
  return obj;
}

export function findOrCreate(s: State, cid: CollectionId, oid: Ghobject): MemObject {
  const entry = getCollection(s, cid).objects.get(encodeOidKeyBinary(oid));
  return entry?.obj ?? insertObject(s, cid, oid, new MemObject());
}

export function writeData(s: State, obj: MemObject, offset: number, data: Uint8Array): void {
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

export function zeroData(s: State, obj: MemObject, offset: number, length: number): void {
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

export function truncateData(s: State, obj: MemObject, size: number): void {
  if (size < obj.size) {
    const firstDropped = Math.ceil(size / PAGE_BYTES);
    for (const index of [...obj.pages.keys()]) if (index >= firstDropped) s.setPage(obj, index, undefined);
    if (size % PAGE_BYTES !== 0) zeroData(s, obj, size, PAGE_BYTES - (size % PAGE_BYTES));
  }
  s.setField(obj, 'size', size);
}

export function setAttrs(s: State, obj: MemObject, attrs: ReadonlyArray<readonly [Uint8Array, Uint8Array]>): void {
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

export function copyObject(source: MemObject): MemObject {
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

export function cloneRange(s: State, op: OpOf<'cloneRange'>): void {
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

export function moveObjects(s: State, from: MemCollection, to: MemCollection, pick: (oid: Ghobject) => boolean): void {
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
export function checkMembers(coll: MemCollection, cid: CollectionId): void {
  for (const key of coll.objects.keys()) {
    const { oid } = coll.objects.get(key) as Entry;
    if (!collectionAdmits(coll.parsed, coll.bits, oid)) {
      fail('EINVAL', `${formatGhobject(oid)} would fall outside ${cid} with bits ${coll.bits}`);
    }
  }
}

export function applyCollectionOp(s: State, op: OpOf<'createCollection' | 'removeCollection' | 'splitCollection' |
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
export function applyOp(s: State, op: Op): void {
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

