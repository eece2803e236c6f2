/**
 * Inline (embedded) roots: a tree small enough to live inside its owner's record (an onode)
 * instead of a page. In memory it is a leaf page with id 0 that never reaches the store.
 *
 * Layout (little-endian):
 *
 * | offset | size | type  | field                                          |
 * | ------ | ---- | ----- | ---------------------------------------------- |
 * | 0      | 1    | u8    | inline format version (1)                      |
 * | 1      | 2    | u16   | entry count n (>= 1)                           |
 * | 3      | ...  | cells | n leaf cells (format.ts), ascending, back to back |
 *
 * Invariants: n >= 1 (an empty tree has an empty root, not an inline one); the cells exactly
 * fill the bytes; keys ascend strictly; the size is at most the descriptor's inlineMaxBytes.
 *
 * Hysteresis (batch.ts): a paged single-leaf tree moves inline only when its inline form is at
 * most half of inlineMaxBytes; an inline tree moves to a page once it exceeds inlineMaxBytes.
 */
import { CorruptionError } from '../common/errors.js';
import { type Codec } from './codec.js';
import { KIND_LEAF, PAGE_HEADER_SIZE_BYTES, SLOT_SIZE_BYTES, cellCount, slotOffset } from './format.js';
import { CellList, cellSize } from './page.js';
import { NO_PAGE } from './store.js';

export const INLINE_FORMAT_VERSION = 1;
export const INLINE_HEADER_SIZE_BYTES = 3;

/** Bytes the inline form of leaf `page` takes. */
export function inlineSize(page: Uint8Array, codec: Codec): number {
  let size = INLINE_HEADER_SIZE_BYTES;
  const count = cellCount(page);
  for (let i = 0; i < count; i++) size += cellSize(page, i, codec);
  return size;
}

export function encodeInline(page: Uint8Array, codec: Codec): Uint8Array {
  const count = cellCount(page);
  const out = new Uint8Array(inlineSize(page, codec));
  out[0] = INLINE_FORMAT_VERSION;
  out[1] = count & 0xff;
  out[2] = count >>> 8;
  let at = INLINE_HEADER_SIZE_BYTES;
  for (let i = 0; i < count; i++) {
    const from = slotOffset(page, i);
    const size = cellSize(page, i, codec);
    out.set(page.subarray(from, from + size), at);
    at += size;
  }
  return out;
}

/** Rebuilds the in-memory leaf of an inline root. Bad bytes are a CorruptionError. */
export function decodeInline(bytes: Uint8Array, codec: Codec, pageSizeBytes: number): Uint8Array {
  const location = 'inline root';
  const bad = (msg: string): CorruptionError => new CorruptionError('ECORRUPT', msg, { location });
  if (bytes.length < INLINE_HEADER_SIZE_BYTES || bytes[0] !== INLINE_FORMAT_VERSION) {
    throw bad('bad inline root header');
  }
  const count = bytes[1]! | (bytes[2]! << 8);
  if (count === 0) throw bad('inline root with no entries');
  const list = new CellList();
  let at = INLINE_HEADER_SIZE_BYTES;
  let used = 0;
  for (let i = 0; i < count; i++) {
    if (at >= bytes.length) throw bad('inline root truncated');
    const size = safeCellSize(bytes, at, codec);
    if (size === undefined || at + size > bytes.length) throw bad(`inline cell ${i} overruns`);
    if (i > 0 && codec.compareIkeys(bytes, list.offsets[i - 1]!, bytes, at) >= 0) {
      throw bad(`inline keys out of order at ${i}`);
    }
    list.push(bytes, at, size);
    at += size;
    used += size + SLOT_SIZE_BYTES;
  }
  if (at !== bytes.length) throw bad('inline root has trailing bytes');
  if (used > pageSizeBytes - PAGE_HEADER_SIZE_BYTES) throw bad('inline root larger than a page');
  const page = new Uint8Array(pageSizeBytes);
  list.writeTo(page, 0, count, KIND_LEAF, 0, NO_PAGE);
  return page;
}

/** A leaf cell's size if its length prefixes stay inside `bytes`. */
function safeCellSize(bytes: Uint8Array, at: number, codec: Codec): number | undefined {
  const prefixes = codec.keyPrefix + (codec.hasValue ? codec.valuePrefix : 0);
  if (at + prefixes > bytes.length) return undefined;
  const keyEnd = at + codec.keyPrefix + codec.keyLength(bytes, at);
  if (!codec.hasValue) return keyEnd - at;
  if (keyEnd + codec.valuePrefix > bytes.length) return undefined;
  return keyEnd + codec.valuePrefix + codec.valueLength(bytes, keyEnd) - at;
}
