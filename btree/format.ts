/**
 * The on-page format of ebofs B+tree pages, and every limit of the btree layer.
 *
 * A tree is a copy-on-write B+tree of slotted pages. Leaves hold entries; branches hold one
 * cell per child. Every number below is little-endian (the whole ebofs format is).
 *
 * Page layout (pageSizeBytes = P, a power of two in [PAGE_SIZE_MIN, PAGE_SIZE_MAX]):
 *
 * | offset | size | type  | field                                                             |
 * | ------ | ---- | ----- | ----------------------------------------------------------------- |
 * | 0      | 4    | u32   | checksum: xxh32 (seed 0) of bytes [4, P)                          |
 * | 4      | 1    | u8    | kind: 1 = leaf, 2 = branch (0 is reserved as invalid)            |
 * | 5      | 1    | u8    | level: 0 for leaves, a branch is one more than its children      |
 * | 6      | 2    | u16   | cellCount: number of slots (entries in a leaf, children in branch) |
 * | 8      | 4    | u32   | cellAreaStart: lowest byte of the cell area (cells in [it, P))   |
 * | 12     | 4    | u32   | garbageBytes: bytes in the cell area not used by a live cell      |
 * | 16     | 8    | u64   | pageId: the page's own id (0 for an inline root, never stored)    |
 * | 24     | 2n   | u16[] | slot array: offset of cell i, cells in comparator order           |
 * | 24+2n  | ...  |       | free space (zero-filled when written)                             |
 * | ...    | ...  |       | cells, in any physical order, growing down from P                 |
 *
 * Leaf cell: `ikey` then, for trees that store values separately, `value`.
 * Branch cell: u64 child page id (8 bytes), then `ikey`.
 *
 * `ikey` (the searchable key) is the encoded key: for a fixed key format the key bytes, for a
 * variable one a 1/2/4-byte length prefix (LE) then the bytes. In a duplicate-key tree the ikey
 * is the encoded key followed by the encoded value (the pair is the sort key: values of one key
 * are kept sorted, as LMDB's DUPSORT does) and there is no separate value. Sets store no value.
 *
 * Invariants (checked by check.ts):
 * - checksum matches; kind is 1 or 2; level is 0 exactly for leaves; pageId is the page's id.
 * - 24 + 2 * cellCount <= cellAreaStart <= P; every cell lies inside [cellAreaStart, P) and no
 *   two cells overlap; garbageBytes = P - cellAreaStart - sum of live cell sizes.
 * - Within a page the ikeys ascend strictly by the tree's comparator, except that a branch's
 *   cell 0 key is ignored (it acts as minus infinity and may be stale); for i >= 1, every ikey
 *   below child i is >= key i and < key i+1, and below child 0 < key 1.
 * - All leaves are at the same depth; a branch at level L only points at pages at level L-1.
 * - Every non-root page uses at least a quarter of the page (FILL_MIN); a non-root branch has
 *   at least two children, a non-root leaf at least one entry; the root is never an empty
 *   branch and a root branch has at least two children.
 * - Every page is reachable exactly once from the root.
 *
 * Versioning: the tree header (descriptor.ts) carries a format version; a page format change
 * bumps it. Kind values are never reused.
 *
 * Why: the checksum sits first so it covers everything after it, including the header; the
 * page's own id catches misdirected writes; slots let a search binary-search keys in place in
 * the page bytes without decoding the node; cell 0 of a branch keeps a stored key so splits and
 * merges move whole cells.
 */
import { assert } from '../common/assert.js';
import { EbofsError } from '../common/errors.js';
import { isPowerOfTwo } from '../common/ints.js';

export const PAGE_SIZE_DEFAULT_BYTES = 4096;
export const PAGE_SIZE_MIN_BYTES = 512;
export const PAGE_SIZE_MAX_BYTES = 65536;

export const PAGE_HEADER_SIZE_BYTES = 24;
export const SLOT_SIZE_BYTES = 2;
export const CHILD_ID_SIZE_BYTES = 8;

export const OFFSET_CHECKSUM = 0;
export const OFFSET_KIND = 4;
export const OFFSET_LEVEL = 5;
export const OFFSET_CELL_COUNT = 6;
export const OFFSET_CELL_AREA_START = 8;
export const OFFSET_GARBAGE_BYTES = 12;
export const OFFSET_PAGE_ID = 16;

export const KIND_LEAF = 1;
export const KIND_BRANCH = 2;

/** At least this many maximum-size cells fit in one page (so splits always make progress). */
export const ENTRIES_PER_PAGE_MIN = 4;
/** Absolute cap on a key, whatever the page size. */
export const KEY_SIZE_MAX_BYTES = 1024;
/** Deepest tree we build or accept (a page-count bound makes 24 levels unreachable anyway). */
export const DEPTH_MAX = 24;
/** A non-root page must use at least 1/FILL_MIN_DIVISOR of its usable bytes. */
export const FILL_MIN_DIVISOR = 4;
/** Cap on the inline (embedded root) size a descriptor may ask for. */
export const INLINE_SIZE_MAX_BYTES = 2048;
/** Entries in one tree (kept in a u64 in the header; bounded to stay a safe integer). */
export const ENTRY_COUNT_MAX = Number.MAX_SAFE_INTEGER;

assert(isPowerOfTwo(PAGE_SIZE_DEFAULT_BYTES));
assert(PAGE_HEADER_SIZE_BYTES === OFFSET_PAGE_ID + 8, 'header layout');
assert(PAGE_SIZE_MAX_BYTES <= 65536, 'slots are u16 offsets');

/** Size limits derived from a page size. */
export interface PageLimits {
  pageSizeBytes: number;
  /** Bytes available for slots and cells. */
  usableBytes: number;
  /** Largest cell (excluding its slot) such that ENTRIES_PER_PAGE_MIN fit. */
  cellSizeMax: number;
  /** Largest encoded ikey (so a branch cell, child id + ikey, fits cellSizeMax). */
  ikeySizeMax: number;
  /** Smallest used byte count (cells + slots) of a non-root page. */
  fillMinBytes: number;
}

export function checkPageSize(pageSizeBytes: number): void {
  if (!isPowerOfTwo(pageSizeBytes) || pageSizeBytes < PAGE_SIZE_MIN_BYTES ||
      pageSizeBytes > PAGE_SIZE_MAX_BYTES) {
    throw new EbofsError('EINVAL', `page size ${pageSizeBytes} is not a power of two in ` +
      `[${PAGE_SIZE_MIN_BYTES}, ${PAGE_SIZE_MAX_BYTES}]`);
  }
}

export function pageLimits(pageSizeBytes: number): PageLimits {
  checkPageSize(pageSizeBytes);
  const usableBytes = pageSizeBytes - PAGE_HEADER_SIZE_BYTES;
  const cellSizeMax = Math.floor(usableBytes / ENTRIES_PER_PAGE_MIN) - SLOT_SIZE_BYTES;
  const ikeySizeMax = cellSizeMax - CHILD_ID_SIZE_BYTES;
  const fillMinBytes = Math.floor(usableBytes / FILL_MIN_DIVISOR);
  assert(ENTRIES_PER_PAGE_MIN * (cellSizeMax + SLOT_SIZE_BYTES) <= usableBytes);
  return { pageSizeBytes, usableBytes, cellSizeMax, ikeySizeMax, fillMinBytes };
}

// Header accessors. Pages are plain Uint8Arrays; these read and write one field each.

export function pageKind(page: Uint8Array): number {
  return page[OFFSET_KIND]!;
}

export function pageLevel(page: Uint8Array): number {
  return page[OFFSET_LEVEL]!;
}

export function cellCount(page: Uint8Array): number {
  return page[OFFSET_CELL_COUNT]! | (page[OFFSET_CELL_COUNT + 1]! << 8);
}

export function setCellCount(page: Uint8Array, count: number): void {
  page[OFFSET_CELL_COUNT] = count & 0xff;
  page[OFFSET_CELL_COUNT + 1] = count >>> 8;
}

export function readU16(page: Uint8Array, offset: number): number {
  return page[offset]! | (page[offset + 1]! << 8);
}

export function writeU16(page: Uint8Array, offset: number, value: number): void {
  page[offset] = value & 0xff;
  page[offset + 1] = value >>> 8;
}

export function readU32(page: Uint8Array, offset: number): number {
  return (page[offset]! | (page[offset + 1]! << 8) | (page[offset + 2]! << 16) |
    (page[offset + 3]! << 24)) >>> 0;
}

export function writeU32(page: Uint8Array, offset: number, value: number): void {
  page[offset] = value & 0xff;
  page[offset + 1] = (value >>> 8) & 0xff;
  page[offset + 2] = (value >>> 16) & 0xff;
  page[offset + 3] = (value >>> 24) & 0xff;
}

/** Reads a u64 page id; ids are below 2^53 (the high word is checked by the page loader). */
export function readId(page: Uint8Array, offset: number): number {
  return readU32(page, offset) + readU32(page, offset + 4) * 0x1_0000_0000;
}

export function writeId(page: Uint8Array, offset: number, id: number): void {
  writeU32(page, offset, id >>> 0);
  writeU32(page, offset + 4, Math.floor(id / 0x1_0000_0000));
}

export function slotOffset(page: Uint8Array, index: number): number {
  const at = PAGE_HEADER_SIZE_BYTES + index * SLOT_SIZE_BYTES;
  return page[at]! | (page[at + 1]! << 8);
}
