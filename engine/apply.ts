/**
 * engine/apply.ts: the semantics of every transaction op on the metadata trees, through a
 * TxnContext (so the whole vector commits or aborts as one). The rules are Ceph's, exactly as
 * MemStore (the reference model) implements them: which ops create objects, which errors a
 * transaction tolerates (types-ops.ts), PG hash-range admission, split and merge.
 */
import { assertNever } from '../common/assert.js';
import { EbofsError, type ErrorCode } from '../common/errors.js';
import { collectionAdmits, parseCollectionId, splitMoves, type CollectionId, type ParsedCollectionId } from './collection.js';
import { collectionKeyRange, decodeOnodeKey, encodeOnodeKey } from './oid-key.js';
import { deleteOnode, getOnode, putOnode, scanOnodes, storedOnodeKey } from './onode-keys.js';
import { type Op, type OpOf } from './types-ops.js';
import { type Ghobject, type Where, ObjectLabel, formatGhobject } from './types.js';
import { COLLECTION_COUNT_MAX, XATTR_BYTES_PER_OBJECT_MAX, XATTR_COUNT_PER_OBJECT_MAX } from './limits.js';
import {
  type OnodeRecord, encodeOnode, nidRange, omapEntryBase, omapHeaderBase, xattrBase,
} from './meta-keys.js';
import { deleteChunked, deleteRange, getChunked, iterateChunked, putChunked } from './chunked.js';
import { removeData, shareRange } from './data.js';
import { getDead, manyKeys, manyRecordsAbove, markDead, prepareExtend } from './reclaim.js';
import { type Found, fitKey, isInline, readObjectSync, resizeObject, writeObject, zeroObject } from './object-data.js';
import { type TxnContext } from './txn-context.js';

/** A missing collection always rejects the transaction, even for ENOENT-tolerant ops. */
export class MissingCollection extends EbofsError {}

function fail(code: ErrorCode, message: string): never {
  throw new EbofsError(code, message);
}

function collBits(ctx: TxnContext, cid: CollectionId): number {
  const value = ctx.colls.get(Buffer.from(cid, 'latin1'));
  if (value === undefined) throw new MissingCollection('ENOENT', `no collection ${cid}`);
  return Buffer.from(value.buffer, value.byteOffset, value.byteLength).readUInt32LE(0);
}

function lookupOnode(ctx: TxnContext, cid: CollectionId, oid: Ghobject): OnodeRecord | undefined {
  return getOnode(ctx.onodes, ctx.names, encodeOnodeKey(cid, oid), new ObjectLabel(cid, oid, 'onode '));
}

function find(ctx: TxnContext, cid: CollectionId, oid: Ghobject): Found {
  collBits(ctx, cid);
  const full = encodeOnodeKey(cid, oid);
  const onode = getOnode(ctx.onodes, ctx.names, full, new ObjectLabel(cid, oid, 'onode '));
  if (onode === undefined) fail('ENOENT', `no object ${formatGhobject(oid)}`);
  return { key: storedOnodeKey(full), onode };
}

function insert(ctx: TxnContext, cid: CollectionId, oid: Ghobject, onode: OnodeRecord): Found {
  return insertAt(ctx, cid, oid, onode, collBits(ctx, cid), encodeOnodeKey(cid, oid), new ObjectLabel(cid, oid));
}

/** The last collection id parsed by parsedCid, and its parse (read only). */
let lastParsed: { cid: CollectionId; parsed: ParsedCollectionId } | undefined;

/** parseCollectionId(cid), remembering the last one (an object creation parses its collection's id). */
function parsedCid(cid: CollectionId): ParsedCollectionId {
  if (lastParsed?.cid !== cid) lastParsed = { cid, parsed: parseCollectionId(cid) };
  return lastParsed.parsed;
}

/** insert() with the collection's bits, the onode key and the object's label already at hand. */
function insertAt(
  ctx: TxnContext, cid: CollectionId, oid: Ghobject, onode: OnodeRecord, bits: number, full: Uint8Array, label: Where,
): Found {
  if (!collectionAdmits(parsedCid(cid), bits, oid)) {
    fail('EINVAL', `${formatGhobject(oid)} does not belong to ${cid} (bits ${bits})`);
  }
  fitKey(ctx, onode, storedOnodeKey(full).byteLength, label);
  const key = putOnode(ctx.onodes, ctx.names, full, onode, ctx.state.pager.limits.cellSizeMax);
  return { key, onode };
}

function emptyOnode(ctx: TxnContext): OnodeRecord {
  const nid = ctx.nextNid++;
  return { nid, size: 0, xattrCount: 0, xattrBytes: 0, hintObjectSize: 0, hintWriteSize: 0, hintFlags: 0, flags: 0 };
}

/**
 * The object, created empty when missing. One collection lookup, one key encoding and one
 * onode lookup; `label` (`cid/oid`, from where()) is made once per op by the caller and
 * formatted only if an error needs it.
 */
function findOrCreate(ctx: TxnContext, cid: CollectionId, oid: Ghobject, label = new ObjectLabel(cid, oid)): Found {
  const bits = collBits(ctx, cid);
  const full = encodeOnodeKey(cid, oid);
  const onode = getOnode(ctx.onodes, ctx.names, full, label.withPrefix('onode '));
  if (onode !== undefined) return { key: storedOnodeKey(full), onode };
  return insertAt(ctx, cid, oid, emptyOnode(ctx), bits, full, label);
}

function save(ctx: TxnContext, found: Found): void {
  ctx.onodes.put(found.key, encodeOnode(found.onode));
}

function where(op: { cid: CollectionId; oid: Ghobject }): ObjectLabel {
  return new ObjectLabel(op.cid, op.oid);
}

/**
 * Removes an object's onode and everything keyed by its nid: at once when that is little,
 * else in O(1) by a dead mark the reclaimer works off (reclaim.ts).
 */
function destroy(ctx: TxnContext, found: Found, label: Where): void {
  deleteOnode(ctx.onodes, ctx.names, found.key, found.onode);
  const { nid } = found.onode;
  if (getDead(ctx.dead, nid) !== undefined || manyRecordsAbove(ctx.extents, nid, 0, ctx.state.lazyRecordsMin) ||
    manyKeys(ctx.omap, nid, ctx.state.lazyRecordsMin)) {
    markDead(ctx, nid, 0, true);
    return;
  }
  removeData(ctx, nid, found.onode.size, label);
  const range = nidRange(nid);
  deleteRange(ctx.xattrs, range.start, range.end);
  deleteRange(ctx.omap, range.start, range.end);
}

function setAttrs(ctx: TxnContext, found: Found, attrs: readonly (readonly [Uint8Array, Uint8Array])[]): void {
  const o = found.onode;
  const cell = ctx.state.pager.limits.cellSizeMax;
  for (const [name, value] of attrs) {
    const base = xattrBase(o.nid, name);
    const prev = getChunked(ctx.xattrs, base);
    putChunked(ctx.xattrs, base, value, cell);
    o.xattrBytes += name.byteLength + value.byteLength - (prev === undefined ? 0 : name.byteLength + prev.byteLength);
    if (prev === undefined) o.xattrCount++;
  }
  if (o.xattrCount > XATTR_COUNT_PER_OBJECT_MAX) fail('E2BIG', `more than ${XATTR_COUNT_PER_OBJECT_MAX} xattrs`);
  if (o.xattrBytes > XATTR_BYTES_PER_OBJECT_MAX) fail('E2BIG', `xattrs exceed ${XATTR_BYTES_PER_OBJECT_MAX} bytes`);
  save(ctx, found);
}

function writeOp(ctx: TxnContext, op: OpOf<'write'>): void {
  const label = where(op);
  const found = findOrCreate(ctx, op.cid, op.oid, label);
  writeObject(ctx, found, op.offset, op.data, label);
  save(ctx, found);
}

function zeroOp(ctx: TxnContext, op: OpOf<'zero'>): void {
  const label = where(op);
  const found = findOrCreate(ctx, op.cid, op.oid, label);
  zeroObject(ctx, found, op.offset, op.length, label);
  save(ctx, found);
}

function truncateOp(ctx: TxnContext, op: OpOf<'truncate'>): void {
  const found = find(ctx, op.cid, op.oid);
  resizeObject(ctx, found, op.size, where(op));
  save(ctx, found);
}

/** Copies data [from, from+length) of `source` to `target` at `to`, byte for byte. */
function copyData(ctx: TxnContext, source: Found, target: Found, from: number, length: number, to: number, label: Where): void {
  const chunk = 1024 * 1024;
  for (let pos = 0; pos < length; pos += chunk) {
    const n = Math.min(chunk, length - pos);
    writeObject(ctx, target, to + pos, readObjectSync(ctx, source.onode, from + pos, n, label), label, false);
  }
}

/** clone: the target becomes a copy of the source — data shared (refs.ts), xattrs and omap copied. */
function cloneOp(ctx: TxnContext, op: OpOf<'clone'>): void {
  const source = find(ctx, op.cid, op.oid);
  const targetKey = storedOnodeKey(encodeOnodeKey(op.cid, op.targetOid));
  if (Buffer.compare(targetKey, source.key) === 0) return; // onto itself: already a copy
  const existing = lookupOnode(ctx, op.cid, op.targetOid);
  if (existing !== undefined) destroy(ctx, { key: targetKey, onode: existing }, where(op));
  const target = insert(ctx, op.cid, op.targetOid, { ...emptyOnode(ctx), hintObjectSize: source.onode.hintObjectSize,
    hintWriteSize: source.onode.hintWriteSize, hintFlags: source.onode.hintFlags });
  if (isInline(source.onode)) {
    writeObject(ctx, target, 0, source.onode.inline ?? Buffer.alloc(0), where(op), false);
    resizeObject(ctx, target, source.onode.size, where(op));
  } else {
    shareRange(ctx, source.onode.nid, 0, target.onode.nid, 0, Math.ceil(source.onode.size / ctx.state.geometry.blockBytes), where(op));
    target.onode.size = source.onode.size;
  }
  const cell = ctx.state.pager.limits.cellSizeMax;
  const range = nidRange(source.onode.nid);
  const shift = (base: Buffer): Buffer => {
    const out = Buffer.from(base);
    nidRange(target.onode.nid).start.copy(out, 0);
    return out;
  };
  for (const [base, value] of [...iterateChunked(ctx.xattrs, range.start, range.end)]) putChunked(ctx.xattrs, shift(base), value, cell);
  for (const [base, value] of [...iterateChunked(ctx.omap, range.start, range.end)]) putChunked(ctx.omap, shift(base), value, cell);
  target.onode.xattrCount = source.onode.xattrCount;
  target.onode.xattrBytes = source.onode.xattrBytes;
  save(ctx, target);
}

/**
 * cloneRange: data only. When source and target offsets agree modulo the data block size
 * (engine/geometry.ts), whole data blocks are shared and only the partial edges are copied;
 * otherwise every byte is copied.
 */
function cloneRangeOp(ctx: TxnContext, op: OpOf<'cloneRange'>): void {
  const source = find(ctx, op.cid, op.oid);
  if (op.sourceOffset + op.length > source.onode.size) {
    fail('EINVAL', `cloneRange ${op.sourceOffset}+${op.length} beyond source size ${source.onode.size}`);
  }
  const target = findOrCreate(ctx, op.cid, op.targetOid);
  const label = where(op);
  const srcEnd = op.sourceOffset + op.length;
  const B = ctx.state.geometry.blockBytes;
  const s0 = Math.ceil(op.sourceOffset / B);
  const s1 = Math.floor(srcEnd / B);
  const shareable = !isInline(source.onode) && !isInline(target.onode);
  if (shareable && (op.targetOffset - op.sourceOffset) % B === 0 && s1 > s0) {
    const shift = op.targetOffset - op.sourceOffset;
    const head = readObjectSync(ctx, source.onode, op.sourceOffset, s0 * B - op.sourceOffset, label);
    const tail = readObjectSync(ctx, source.onode, s1 * B, srcEnd - s1 * B, label);
    if (op.targetOffset + op.length > target.onode.size) {
      prepareExtend(ctx, target.onode.nid, op.targetOffset + op.length, label);
      target.onode.size = op.targetOffset + op.length;
    }
    shareRange(ctx, source.onode.nid, s0, target.onode.nid, s0 + shift / B, s1 - s0, label);
    writeObject(ctx, target, op.targetOffset, head, label, false);
    writeObject(ctx, target, s1 * B + shift, tail, label, false);
  } else {
    copyData(ctx, source, target, op.sourceOffset, op.length, op.targetOffset, label);
  }
  save(ctx, target);
}

function moveObjects(ctx: TxnContext, from: CollectionId, to: CollectionId, pick: (oid: Ghobject) => boolean): void {
  const range = collectionKeyRange(from);
  const moving: { stored: Uint8Array; onode: OnodeRecord; oid: Ghobject }[] = [];
  scanOnodes(ctx.onodes, ctx.names, range.start, range.end, (item) => {
    const { oid } = decodeOnodeKey(item.full);
    if (pick(oid)) moving.push({ stored: item.stored, onode: item.onode, oid });
    return true;
  });
  const cell = ctx.state.pager.limits.cellSizeMax;
  for (const { stored, onode, oid } of moving) {
    if (lookupOnode(ctx, to, oid) !== undefined) fail('EEXIST', `${formatGhobject(oid)} exists in target`);
    deleteOnode(ctx.onodes, ctx.names, stored, onode);
    const full = encodeOnodeKey(to, oid);
    fitKey(ctx, onode, storedOnodeKey(full).byteLength, new ObjectLabel(to, oid));
    putOnode(ctx.onodes, ctx.names, full, onode, cell);
  }
}

/**
 * After a split or merge every object must still belong to its collection under the new bits
 * (MemStore's rule: an inconsistent split or merge is EINVAL; a correct OSD never issues one).
 */
function checkMembers(ctx: TxnContext, cid: CollectionId): void {
  const bits = collBits(ctx, cid);
  const parsed = parseCollectionId(cid);
  const range = collectionKeyRange(cid);
  scanOnodes(ctx.onodes, ctx.names, range.start, range.end, (item) => {
    const { oid } = decodeOnodeKey(item.full);
    if (!collectionAdmits(parsed, bits, oid)) fail('EINVAL', `${formatGhobject(oid)} would fall outside ${cid} with bits ${bits}`);
    return true;
  });
}

function putBits(ctx: TxnContext, cid: CollectionId, bits: number): void {
  const value = Buffer.alloc(4);
  value.writeUInt32LE(bits, 0);
  ctx.colls.put(Buffer.from(cid, 'latin1'), value);
}

function collectionOp(ctx: TxnContext, op: OpOf<'createCollection' | 'removeCollection' | 'splitCollection' | 'mergeCollection'>): void {
  switch (op.type) {
    case 'createCollection':
      if (ctx.colls.get(Buffer.from(op.cid, 'latin1')) !== undefined) fail('EEXIST', `collection ${op.cid} exists`);
      if (ctx.colls.count >= COLLECTION_COUNT_MAX) fail('E2BIG', `more than ${COLLECTION_COUNT_MAX} collections`);
      putBits(ctx, op.cid, op.bits);
      return;
    case 'removeCollection': {
      collBits(ctx, op.cid);
      const range = collectionKeyRange(op.cid);
      if (!ctx.onodes.range({ start: range.start, end: range.end, limit: 1 }).next().done) {
        fail('ENOTEMPTY', `collection ${op.cid} not empty`);
      }
      ctx.colls.delete(Buffer.from(op.cid, 'latin1'));
      return;
    }
    case 'splitCollection': {
      collBits(ctx, op.cid);
      const childBits = collBits(ctx, op.targetCid);
      if (childBits !== op.bits) fail('EINVAL', `split target ${op.targetCid} has bits ${childBits}, not ${op.bits}`);
      moveObjects(ctx, op.cid, op.targetCid, (oid) => splitMoves(oid.hash, op.bits, op.rem));
      putBits(ctx, op.cid, op.bits);
      checkMembers(ctx, op.cid);
      checkMembers(ctx, op.targetCid);
      return;
    }
    case 'mergeCollection':
      collBits(ctx, op.cid);
      collBits(ctx, op.targetCid);
      moveObjects(ctx, op.cid, op.targetCid, () => true);
      putBits(ctx, op.targetCid, op.bits);
      ctx.colls.delete(Buffer.from(op.cid, 'latin1'));
      checkMembers(ctx, op.targetCid);
      return;
    default: assertNever(op, 'collection op');
  }
}

function omapOp(ctx: TxnContext, op: OpOf<'omapSetKeys' | 'omapRmKeys' | 'omapRmKeyRange' | 'omapClear' | 'omapSetHeader'>): void {
  const { nid } = find(ctx, op.cid, op.oid).onode;
  const cell = ctx.state.pager.limits.cellSizeMax;
  switch (op.type) {
    case 'omapSetKeys':
      for (const [k, v] of op.entries) putChunked(ctx.omap, omapEntryBase(nid, k), v, cell);
      return;
    case 'omapRmKeys':
      for (const k of op.keys) deleteChunked(ctx.omap, omapEntryBase(nid, k));
      return;
    case 'omapRmKeyRange': {
      const start = omapEntryBase(nid, op.first);
      const end = omapEntryBase(nid, op.last);
      if (Buffer.compare(start, end) < 0) deleteRange(ctx.omap, start, end);
      return;
    }
    case 'omapClear': {
      const range = nidRange(nid);
      deleteRange(ctx.omap, range.start, range.end);
      return;
    }
    case 'omapSetHeader':
      putChunked(ctx.omap, omapHeaderBase(nid), op.header, cell);
      return;
    default: assertNever(op, 'omap op');
  }
}

/** Runs an op that frees space with access to the allocator's slack (TxnContext.releasing). */
function releasing(ctx: TxnContext, apply: () => void): void {
  ctx.releasing = true;
  try {
    apply();
  } finally {
    ctx.releasing = false;
  }
}

/** Applies one op through `ctx`; throws EbofsError when it fails. */
export function applyOp(ctx: TxnContext, op: Op): void {
  switch (op.type) {
    case 'createCollection': case 'removeCollection': case 'splitCollection': case 'mergeCollection':
      return collectionOp(ctx, op);
    case 'setFloor':
      if (op.epoch > ctx.floor) ctx.floor = op.epoch;
      return;
    case 'touch': findOrCreate(ctx, op.cid, op.oid); return;
    case 'write': return writeOp(ctx, op);
    case 'zero': return releasing(ctx, () => zeroOp(ctx, op));
    case 'truncate': return releasing(ctx, () => truncateOp(ctx, op));
    case 'remove': destroy(ctx, find(ctx, op.cid, op.oid), where(op)); return;
    case 'setattr': return setAttrs(ctx, find(ctx, op.cid, op.oid), [[op.name, op.value]]);
    case 'setattrs': return setAttrs(ctx, find(ctx, op.cid, op.oid), op.attrs);
    case 'rmattr': {
      const found = find(ctx, op.cid, op.oid);
      const base = xattrBase(found.onode.nid, op.name);
      const prev = getChunked(ctx.xattrs, base);
      if (prev === undefined) fail('ENODATA', 'no such xattr');
      deleteChunked(ctx.xattrs, base);
      found.onode.xattrCount--;
      found.onode.xattrBytes -= op.name.byteLength + prev.byteLength;
      save(ctx, found);
      return;
    }
    case 'rmattrs': {
      const found = find(ctx, op.cid, op.oid);
      const range = nidRange(found.onode.nid);
      deleteRange(ctx.xattrs, range.start, range.end);
      found.onode.xattrCount = 0;
      found.onode.xattrBytes = 0;
      save(ctx, found);
      return;
    }
    case 'omapSetKeys': case 'omapRmKeys': case 'omapRmKeyRange': case 'omapClear': case 'omapSetHeader':
      return omapOp(ctx, op);
    case 'collectionMoveRename': {
      const found = find(ctx, op.cid, op.oid);
      collBits(ctx, op.targetCid);
      if (lookupOnode(ctx, op.targetCid, op.targetOid) !== undefined) {
        fail('EEXIST', `rename target ${formatGhobject(op.targetOid)} exists`);
      }
      deleteOnode(ctx.onodes, ctx.names, found.key, found.onode);
      insert(ctx, op.targetCid, op.targetOid, found.onode);
      return;
    }
    case 'setAllocHint': {
      const found = find(ctx, op.cid, op.oid);
      found.onode.hintObjectSize = op.expectedObjectSize;
      found.onode.hintWriteSize = op.expectedWriteSize;
      found.onode.hintFlags = op.flags;
      save(ctx, found);
      return;
    }
    case 'clone': return cloneOp(ctx, op);
    case 'cloneRange': return cloneRangeOp(ctx, op);
    default: assertNever(op, 'op');
  }
}
