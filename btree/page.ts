/**
 * Slotted-page primitives (the layout is drawn in format.ts): search in place, insert and
 * remove cells, compact, and rebuild a page from a list of cells. No I/O, no allocation on the
 * search path.
 *
 * A search never decodes the node: it binary-searches the slot array and compares the codec's
 * target with the key bytes where they lie in the page.
 */
import { assert } from '../common/assert.js';
import { type Codec } from './codec.js';
import {
  CHILD_ID_SIZE_BYTES, KIND_LEAF, OFFSET_CELL_AREA_START, OFFSET_GARBAGE_BYTES,
  OFFSET_KIND, OFFSET_LEVEL, OFFSET_PAGE_ID, PAGE_HEADER_SIZE_BYTES, SLOT_SIZE_BYTES, cellCount,
  readId, readU32, setCellCount, slotOffset, writeId, writeU16, writeU32,
} from './format.js';

/** Resets `page` to an empty page of `kind`. Zeroes everything (no stale bytes leak). */
export function initPage(page: Uint8Array, kind: number, level: number, id: number): void {
  page.fill(0);
  page[OFFSET_KIND] = kind;
  page[OFFSET_LEVEL] = level;
  writeU32(page, OFFSET_CELL_AREA_START, page.length);
  writeId(page, OFFSET_PAGE_ID, id);
}

export function isLeaf(page: Uint8Array): boolean {
  return page[OFFSET_KIND] === KIND_LEAF;
}

/** Size of cell `index`. */
export function cellSize(page: Uint8Array, index: number, codec: Codec): number {
  const at = slotOffset(page, index);
  return page[OFFSET_KIND] === KIND_LEAF ? codec.leafCellSize(page, at) : codec.branchCellSize(page, at);
}

/** Offset of the ikey of cell `index`. */
export function ikeyAt(page: Uint8Array, index: number): number {
  const at = slotOffset(page, index);
  return page[OFFSET_KIND] === KIND_LEAF ? at : at + CHILD_ID_SIZE_BYTES;
}

export function childId(page: Uint8Array, index: number): number {
  return readId(page, slotOffset(page, index));
}

export function setChildId(page: Uint8Array, index: number, id: number): void {
  writeId(page, slotOffset(page, index), id);
}

/** Free bytes (contiguous gap plus garbage). */
export function freeBytes(page: Uint8Array): number {
  const gap = readU32(page, OFFSET_CELL_AREA_START) - PAGE_HEADER_SIZE_BYTES - cellCount(page) * SLOT_SIZE_BYTES;
  return gap + readU32(page, OFFSET_GARBAGE_BYTES);
}

/** Bytes used by slots and live cells. */
export function usedBytes(page: Uint8Array): number {
  return page.length - PAGE_HEADER_SIZE_BYTES - freeBytes(page);
}

/** Leaf: index of the first entry >= target (cellCount when none). */
export function searchLeaf(page: Uint8Array, codec: Codec): number {
  if (codec.bytesOrder && !codec.duplicates) return searchBytes(page, codec, 0, 0);
  let lo = 0;
  let hi = cellCount(page);
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const at = PAGE_HEADER_SIZE_BYTES + mid * SLOT_SIZE_BYTES;
    if (codec.compareTarget(page, page[at]! | (page[at + 1]! << 8)) > 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Branch: index of the child whose range holds the target (cell 0's key is ignored). */
export function searchBranch(page: Uint8Array, codec: Codec): number {
  if (codec.bytesOrder && !codec.duplicates) return searchBytes(page, codec, 1, CHILD_ID_SIZE_BYTES) - 1;
  let lo = 1;
  let hi = cellCount(page);
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const at = PAGE_HEADER_SIZE_BYTES + mid * SLOT_SIZE_BYTES;
    if (codec.compareTarget(page, (page[at]! | (page[at + 1]! << 8)) + CHILD_ID_SIZE_BYTES) >= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

/**
 * Binary search of a plain tree in `bytes` order (the common case), from slot `first` on:
 * the first slot whose key is above the target (a branch, `skip` = child id size) or at or
 * above it (a leaf, `skip` 0). Keys between two bounds share with the target at least the
 * shorter of the bounds' common prefixes with it, so each comparison starts there: sibling
 * keys (one collection, one pool, one object) differ only near their ends.
 */
function searchBytes(page: Uint8Array, codec: Codec, first: number, skip: number): number {
  const t = codec.target;
  const ts = codec.targetKeyStart;
  const tl = codec.targetKeyLength;
  const prefix = codec.keyPrefix;
  const fixed = codec.keyFixed;
  const branch = skip !== 0;
  let lo = first;
  let hi = cellCount(page);
  let lcpLo = 0;
  let lcpHi = 0;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const slot = PAGE_HEADER_SIZE_BYTES + mid * SLOT_SIZE_BYTES;
    const at = (page[slot]! | (page[slot + 1]! << 8)) + skip;
    let kl: number;
    if (prefix === 0) kl = fixed;
    else if (prefix === 2) kl = page[at]! | (page[at + 1]! << 8);
    else if (prefix === 1) kl = page[at]!;
    else kl = (page[at]! | (page[at + 1]! << 8) | (page[at + 2]! << 16) | (page[at + 3]! << 24)) >>> 0;
    const ks = at + prefix;
    const n = tl < kl ? tl : kl;
    let i = lcpLo < lcpHi ? lcpLo : lcpHi;
    while (i < n && t[ts + i] === page[ks + i]) i++;
    const c = i < n ? t[ts + i]! - page[ks + i]! : tl - kl;
    if (branch ? c >= 0 : c > 0) {
      lo = mid + 1;
      lcpLo = i;
    } else {
      hi = mid;
      lcpHi = i;
    }
  }
  return lo;
}

/** Rewrites the cells packed at the end of the page, zeroing the gap. */
export function compactPage(page: Uint8Array, codec: Codec, scratch: Uint8Array): void {
  scratch.set(page);
  const count = cellCount(page);
  let end = page.length;
  for (let i = 0; i < count; i++) {
    const at = slotOffset(scratch, i);
    const size = cellSize(scratch, i, codec);
    end -= size;
    page.set(scratch.subarray(at, at + size), end);
    writeU16(page, PAGE_HEADER_SIZE_BYTES + i * SLOT_SIZE_BYTES, end);
  }
  page.fill(0, PAGE_HEADER_SIZE_BYTES + count * SLOT_SIZE_BYTES, end);
  writeU32(page, OFFSET_CELL_AREA_START, end);
  writeU32(page, OFFSET_GARBAGE_BYTES, 0);
}

/**
 * Inserts the cell `source[sourceAt, sourceAt + size)` at slot `index`. The caller checked
 * that it fits (freeBytes >= size + slot); compacts first when the gap is too small.
 */
export function insertCell(
  page: Uint8Array, index: number, source: Uint8Array, sourceAt: number, size: number,
  codec: Codec, scratch: Uint8Array,
): void {
  const count = cellCount(page);
  assert(index >= 0 && index <= count, 'insert index out of range');
  assert(freeBytes(page) >= size + SLOT_SIZE_BYTES, 'insertCell without room');
  let start = readU32(page, OFFSET_CELL_AREA_START);
  const slotsEnd = PAGE_HEADER_SIZE_BYTES + (count + 1) * SLOT_SIZE_BYTES;
  if (start - size < slotsEnd) {
    compactPage(page, codec, scratch);
    start = readU32(page, OFFSET_CELL_AREA_START);
  }
  start -= size;
  page.set(source.subarray(sourceAt, sourceAt + size), start);
  writeU32(page, OFFSET_CELL_AREA_START, start);
  const slotAt = PAGE_HEADER_SIZE_BYTES + index * SLOT_SIZE_BYTES;
  page.copyWithin(slotAt + SLOT_SIZE_BYTES, slotAt, PAGE_HEADER_SIZE_BYTES + count * SLOT_SIZE_BYTES);
  writeU16(page, slotAt, start);
  setCellCount(page, count + 1);
}

/** Removes cell `index` (its bytes become garbage, zeroed). */
export function removeCell(page: Uint8Array, index: number, codec: Codec): void {
  const count = cellCount(page);
  assert(index >= 0 && index < count, 'remove index out of range');
  const at = slotOffset(page, index);
  const size = cellSize(page, index, codec);
  page.fill(0, at, at + size);
  const start = readU32(page, OFFSET_CELL_AREA_START);
  if (at === start) writeU32(page, OFFSET_CELL_AREA_START, start + size);
  else writeU32(page, OFFSET_GARBAGE_BYTES, readU32(page, OFFSET_GARBAGE_BYTES) + size);
  const slotAt = PAGE_HEADER_SIZE_BYTES + index * SLOT_SIZE_BYTES;
  const slotsEnd = PAGE_HEADER_SIZE_BYTES + count * SLOT_SIZE_BYTES;
  page.copyWithin(slotAt, slotAt + SLOT_SIZE_BYTES, slotsEnd);
  page[slotsEnd - 2] = 0;
  page[slotsEnd - 1] = 0;
  setCellCount(page, count - 1);
}

/**
 * A list of cells to lay out into pages (splits, merges, rebalances, bulk load). Entries point
 * into source buffers that stay unchanged while the list is used.
 */
export class CellList {
  buffers: Uint8Array[] = [];
  offsets: number[] = [];
  sizes: number[] = [];
  length = 0;

  clear(): void {
    this.length = 0;
  }

  push(buffer: Uint8Array, offset: number, size: number): void {
    const n = this.length++;
    this.buffers[n] = buffer;
    this.offsets[n] = offset;
    this.sizes[n] = size;
  }

  /** Appends every cell of `page`. */
  pushPage(page: Uint8Array, codec: Codec): void {
    const count = cellCount(page);
    for (let i = 0; i < count; i++) this.push(page, slotOffset(page, i), cellSize(page, i, codec));
  }

  /** Used bytes (cells + slots) of cells [from, to). */
  usedBytes(from: number, to: number): number {
    let sum = 0;
    for (let i = from; i < to; i++) sum += this.sizes[i]! + SLOT_SIZE_BYTES;
    return sum;
  }

  /**
   * The split point m (1 <= m < length) that balances [0, m) and [m, length) best while both
   * fit `capacity`.
   */
  balancedSplit(capacity: number): number {
    const total = this.usedBytes(0, this.length);
    let left = 0;
    let best = -1;
    let bestDiff = Infinity;
    for (let m = 1; m < this.length; m++) {
      left += this.sizes[m - 1]! + SLOT_SIZE_BYTES;
      const right = total - left;
      if (left > capacity) break;
      if (right > capacity) continue;
      const diff = Math.abs(left - right);
      if (diff < bestDiff) { bestDiff = diff; best = m; }
    }
    assert(best > 0, `no split point for ${this.length} cells of ${total} bytes`);
    return best;
  }

  /** Lays cells [from, to) into `page` (re-initialised as kind/level/id). */
  writeTo(page: Uint8Array, from: number, to: number, kind: number, level: number, id: number): void {
    initPage(page, kind, level, id);
    let end = page.length;
    for (let i = from; i < to; i++) {
      const size = this.sizes[i]!;
      end -= size;
      const source = this.buffers[i]!;
      const at = this.offsets[i]!;
      page.set(source.subarray(at, at + size), end);
      writeU16(page, PAGE_HEADER_SIZE_BYTES + (i - from) * SLOT_SIZE_BYTES, end);
    }
    assert(end >= PAGE_HEADER_SIZE_BYTES + (to - from) * SLOT_SIZE_BYTES, 'cells overflow the page');
    writeU32(page, OFFSET_CELL_AREA_START, end);
    setCellCount(page, to - from);
  }
}

