/**
 * engine/object-data.ts: an object's data as the ops see it — inline in the onode while small,
 * else extent records (data.ts) — with the size rules every data op shares.
 *
 * Inline data: an object whose size fits `inlineCapacity` (ONODE_INLINE_BYTES_MAX, and what
 * its onode key leaves of a btree cell) and that has no live extent keeps its bytes in the onode
 * record (meta-keys.ts, ONODE_FLAG_INLINE): no data block, no extent record, no checkpoint data
 * write. An op that would grow it past the capacity first moves the bytes to extents
 * ("materialize") and proceeds on extents; an object that has extents never becomes inline
 * again until it is empty. A key change (rename, split, merge) that leaves too little room
 * materializes too. Replay makes the same decisions: they depend on sizes and keys only.
 *
 * Growth: an op that makes the object larger first clears any garbage (reclaim.ts) in the way.
 */
import type { Where } from './types.js';
import type { OnodeRecord } from './meta-keys.js';
import { ONODE_FLAG_INLINE, ONODE_RECORD_BYTES } from './meta-keys.js';
import { extentsIn, readLogicalBlockSync, truncateData, writeRange, zeroRange } from './data.js';
import { getDead, manyRecordsAbove, markDead, prepareExtend } from './reclaim.js';
import { type TxnContext } from './txn-context.js';

/** Largest inline object (a cell may allow less: long keys leave little room). */
export const ONODE_INLINE_BYTES_MAX = 512;
/** Room a btree cell needs besides key, record and data (length prefixes). */
const CELL_OVERHEAD_BYTES = 8;

/** An object being changed: its stored onode key and its (mutable) record. */
export interface Found {
  key: Uint8Array;
  onode: OnodeRecord;
}

export function isInline(o: OnodeRecord): boolean {
  return (o.flags & ONODE_FLAG_INLINE) !== 0;
}

/** Most data bytes an object stored under a key of `storedKeyBytes` may keep inline. */
export function inlineCapacity(ctx: TxnContext, storedKeyBytes: number): number {
  const cell = ctx.state.pager.limits.cellSizeMax;
  return Math.max(0, Math.min(ONODE_INLINE_BYTES_MAX, cell - storedKeyBytes - ONODE_RECORD_BYTES - CELL_OVERHEAD_BYTES));
}

/** Whether the object can hold `size` bytes inline (it is inline, or empty, and they fit). */
function fitsInline(ctx: TxnContext, found: Found, size: number): boolean {
  return (isInline(found.onode) || found.onode.size === 0) && size <= inlineCapacity(ctx, found.key.byteLength);
}

function setInline(found: Found, bytes: Buffer): void {
  found.onode.inline = bytes;
  found.onode.flags |= ONODE_FLAG_INLINE;
  found.onode.size = bytes.byteLength;
}

/** The inline bytes resized to `size` (zero-padded), as a new buffer. */
function inlineResized(o: OnodeRecord, size: number): Buffer {
  const out = Buffer.alloc(size);
  o.inline?.copy(out, 0, 0, Math.min(size, o.inline.byteLength));
  return out;
}

/** Moves an inline object's bytes to extents (small-write path). */
export function materialize(ctx: TxnContext, o: OnodeRecord, label: Where): void {
  if (!isInline(o)) return;
  const bytes = o.inline ?? Buffer.alloc(0);
  o.flags &= ~ONODE_FLAG_INLINE;
  delete o.inline;
  o.size = 0;
  if (bytes.byteLength === 0) return;
  prepareExtend(ctx, o.nid, bytes.byteLength, label);
  writeRange(ctx, o.nid, 0, bytes, label, false);
  o.size = bytes.byteLength;
}

/** Before the object is stored under a key of `storedKeyBytes`: materialize if it no longer fits. */
export function fitKey(ctx: TxnContext, o: OnodeRecord, storedKeyBytes: number, label: Where): void {
  if (isInline(o) && o.size > inlineCapacity(ctx, storedKeyBytes)) materialize(ctx, o, label);
}

/** Clears garbage in the way before [offset, offset + length) grows the object. */
function cover(ctx: TxnContext, o: OnodeRecord, offset: number, length: number, label: Where): void {
  if (length > 0 && offset + length > o.size) prepareExtend(ctx, o.nid, offset + length, label);
}

/**
 * Writes `data` at `offset`, growing the object when it ends past the size. Only a write op's
 * own data may take the large path (data.ts writeRange).
 */
export function writeObject(ctx: TxnContext, found: Found, offset: number, data: Uint8Array, label: Where, largeAllowed = true): void {
  if (data.byteLength === 0) return;
  const o = found.onode;
  const size = Math.max(o.size, offset + data.byteLength);
  if (fitsInline(ctx, found, size)) {
    const bytes = inlineResized(o, size);
    bytes.set(data, offset);
    setInline(found, bytes);
    return;
  }
  materialize(ctx, o, label);
  cover(ctx, o, offset, data.byteLength, label);
  writeRange(ctx, o.nid, offset, data, label, largeAllowed);
  o.size = size;
}

/** Zeroes [offset, offset + length), growing the object when it ends past the size. */
export function zeroObject(ctx: TxnContext, found: Found, offset: number, length: number, label: Where): void {
  if (length === 0) return;
  const o = found.onode;
  const size = Math.max(o.size, offset + length);
  if (fitsInline(ctx, found, size)) {
    const bytes = inlineResized(o, size);
    bytes.fill(0, offset, offset + length);
    setInline(found, bytes);
    return;
  }
  materialize(ctx, o, label);
  cover(ctx, o, offset, length, label);
  zeroRange(ctx, o.nid, offset, length, label);
  o.size = size;
}

/** Sets the size exactly: shrinking drops data (lazily when that is much), growing adds holes. */
export function resizeObject(ctx: TxnContext, found: Found, size: number, label: Where): void {
  const o = found.onode;
  if (isInline(o)) {
    if (size <= inlineCapacity(ctx, found.key.byteLength)) {
      setInline(found, inlineResized(o, size));
      return;
    }
    materialize(ctx, o, label);
  }
  if (size > o.size) {
    prepareExtend(ctx, o.nid, size, label);
  } else if (size < o.size) {
    const B = ctx.state.geometry.blockBytes;
    const keep = Math.ceil(size / B);
    if (getDead(ctx.dead, o.nid) !== undefined || manyRecordsAbove(ctx.extents, o.nid, keep, ctx.state.lazyRecordsMin)) {
      markDead(ctx, o.nid, keep, false);
      truncateData(ctx, o.nid, keep * B, size, label);
    } else {
      truncateData(ctx, o.nid, o.size, size, label);
    }
  }
  o.size = size;
}

/** Synchronous read of object data inside a transaction (holes and bytes past the size: zeros). */
export function readObjectSync(ctx: TxnContext, o: OnodeRecord, offset: number, length: number, label: Where): Buffer {
  const out = Buffer.alloc(length);
  if (isInline(o)) {
    o.inline?.copy(out, 0, Math.min(offset, o.size), Math.min(offset + length, o.size));
    return out;
  }
  const B = ctx.state.geometry.blockBytes;
  const b0 = Math.floor(offset / B);
  const b1 = Math.ceil((offset + length) / B);
  if (extentsIn(ctx.extents, o.nid, b0, b1, label).length === 0) return out;
  for (let b = b0; b < b1; b++) {
    const block = readLogicalBlockSync(ctx, o.nid, b, label);
    const start = Math.max(offset, b * B);
    const end = Math.min(offset + length, (b + 1) * B);
    block.copy(out, start - offset, start - b * B, end - b * B);
  }
  return out;
}
