/**
 * Bulk load: builds a tree bottom-up from entries in ascending order, filling each leaf to the
 * requested percentage, then each branch level from the first keys of the level below, until
 * one page remains (the root). Pages are written as soon as they are final; the last two pages
 * of each level are held back so an underfull last page can be merged or rebalanced with its
 * neighbour (format.ts fill invariant).
 */
import { EbofsError } from '../common/errors.js';
import { type Codec } from './codec.js';
import { EMPTY_ROOT, type TreeRoot } from './descriptor.js';
import {
  CHILD_ID_SIZE_BYTES, DEPTH_MAX, KIND_BRANCH, KIND_LEAF, OFFSET_CELL_AREA_START,
  PAGE_HEADER_SIZE_BYTES, SLOT_SIZE_BYTES, cellCount, setCellCount, writeId, writeU16, writeU32,
} from './format.js';
import type { Entry } from './index.js';
import { encodeInline, inlineSize } from './inline.js';
import { CellList, ikeyAt, initPage, usedBytes } from './page.js';
import { type Pager } from './pager.js';
import { type PageId } from './store.js';

/** Builds one level of pages from cells appended in order. */
class LevelBuilder {
  private readonly pager: Pager;
  private readonly codec: Codec;
  private readonly kind: number;
  private readonly level: number;
  private readonly capacity: number;
  private held: Uint8Array | null = null;
  private heldId = 0;
  current: Uint8Array;
  private currentId = 0;
  private count = 0;
  private used = 0;
  private cellStart: number;
  /** Branch cells (child id + first ikey) for the level above. */
  readonly parents: Uint8Array[] = [];
  readonly written: PageId[];
  /** Every id this builder allocated (freed by the caller if the load fails). */
  readonly allocated: PageId[];

  constructor(
    pager: Pager, codec: Codec, kind: number, level: number, fillPercent: number, written: PageId[],
    allocated: PageId[],
  ) {
    this.pager = pager;
    this.codec = codec;
    this.kind = kind;
    this.level = level;
    this.capacity = Math.max(pager.limits.fillMinBytes * 2,
      Math.floor(pager.limits.usableBytes * fillPercent / 100));
    this.written = written;
    this.allocated = allocated;
    this.current = this.newPage();
    this.cellStart = this.current.length;
  }

  /** Allocates the next page and builds it in the store's memory when the store lends it. */
  private newPage(): Uint8Array {
    const id = this.pager.allocate();
    this.allocated.push(id);
    const page = this.pager.pageBuffer(id);
    initPage(page, this.kind, this.level, id);
    this.currentId = id;
    return page;
  }

  /** Appends a cell copied from `source`. */
  append(source: Uint8Array, sourceAt: number, size: number): void {
    const start = this.reserve(size);
    this.current.set(source.subarray(sourceAt, sourceAt + size), start);
  }

  /** Appends a leaf entry encoded straight into the page; returns its cell offset. */
  appendEntry(key: Uint8Array, value: Uint8Array, size: number): number {
    const start = this.reserve(size);
    this.codec.encodeLeafCell(this.current, key, value, start);
    return start;
  }

  /** Makes room for a cell of `size` (starting a new page when full); returns its offset. */
  private reserve(size: number): number {
    let page = this.current;
    if (this.count > 0 && this.used + size + SLOT_SIZE_BYTES > this.capacity) {
      if (this.held !== null) this.release(this.held, this.heldId);
      this.held = page;
      this.heldId = this.currentId;
      page = this.current = this.newPage();
      this.count = 0;
      this.used = 0;
      this.cellStart = page.length;
    }
    const count = this.count;
    const start = this.cellStart - size;
    writeU16(page, PAGE_HEADER_SIZE_BYTES + count * SLOT_SIZE_BYTES, start);
    writeU32(page, OFFSET_CELL_AREA_START, start);
    setCellCount(page, count + 1);
    this.count = count + 1;
    this.used += size + SLOT_SIZE_BYTES;
    this.cellStart = start;
    return start;
  }

  /** The page holding the last appended cell. */
  get lastPage(): Uint8Array {
    return this.current;
  }

  get pageCount(): number {
    return this.parents.length + (this.held !== null ? 1 : 0) + (cellCount(this.current) > 0 ? 1 : 0);
  }

  /** Finishes the level: fixes an underfull last page, then releases the held pages. */
  finish(): void {
    const last = this.current;
    const held = this.held;
    if (held !== null && this.underfull(last)) {
      const list = new CellList();
      const a = held.slice();
      const b = last.slice();
      list.pushPage(a, this.codec);
      list.pushPage(b, this.codec);
      const usable = this.pager.limits.usableBytes;
      if (list.usedBytes(0, list.length) <= usable) {
        list.writeTo(held, 0, list.length, this.kind, this.level, this.heldId);
        initPage(last, this.kind, this.level, this.currentId);
      } else {
        const m = list.balancedSplit(usable);
        list.writeTo(held, 0, m, this.kind, this.level, this.heldId);
        list.writeTo(last, m, list.length, this.kind, this.level, this.currentId);
      }
    }
    if (held !== null) this.release(held, this.heldId);
    if (cellCount(last) > 0) this.release(last, this.currentId);
    else this.abandonCurrent();
    this.held = null;
  }

  /** Gives back the current page, never written (merged away, or the tree went inline). */
  abandonCurrent(): void {
    const id = this.currentId as PageId;
    this.pager.free(id);
    this.allocated.splice(this.allocated.lastIndexOf(id), 1);
  }

  private underfull(page: Uint8Array): boolean {
    const minCells = this.kind === KIND_LEAF ? 1 : 2;
    return cellCount(page) < minCells || usedBytes(page) < this.pager.limits.fillMinBytes;
  }

  private release(page: Uint8Array, pageId: number): void {
    const id = pageId as PageId;
    const ikey = ikeyAt(page, 0);
    const ikeySize = this.codec.ikeySize(page, ikey);
    const cell = new Uint8Array(CHILD_ID_SIZE_BYTES + ikeySize);
    writeId(cell, 0, id);
    cell.set(page.subarray(ikey, ikey + ikeySize), CHILD_ID_SIZE_BYTES);
    this.parents.push(cell);
    this.pager.write(id, page, false);
    this.written.push(id);
  }
}

export function bulkBuild(
  pager: Pager, codec: Codec, entries: Iterable<Entry | readonly [Uint8Array, Uint8Array]>, fillPercent: number,
): { root: TreeRoot; written: PageId[] } {
  const written: PageId[] = [];
  const allocated: PageId[] = [];
  try {
    return buildAll(pager, codec, entries, fillPercent, written, allocated);
  } catch (err) {
    for (const id of allocated) pager.free(id);
    throw err;
  }
}

function buildAll(
  pager: Pager, codec: Codec, entries: Iterable<Entry | readonly [Uint8Array, Uint8Array]>,
  fillPercent: number, written: PageId[], allocated: PageId[],
): { root: TreeRoot; written: PageId[] } {
  const leaves = new LevelBuilder(pager, codec, KIND_LEAF, 0, fillPercent, written, allocated);
  let prevPage: Uint8Array | null = null;
  let prevAt = 0;
  let count = 0;
  for (const entry of entries) {
    const key = isTuple(entry) ? entry[0] : entry.key;
    const raw = isTuple(entry) ? entry[1] : entry.value;
    codec.checkKey(key);
    const value = codec.checkValue(key, codec.hasValue ? raw : undefined);
    const at = leaves.appendEntry(key, value, codec.leafCellSizeFor(key, value));
    const page = leaves.current;
    if (prevPage !== null && codec.compareIkeys(prevPage, prevAt, page, at) >= 0) {
      throw new EbofsError('EINVAL', `bulk load input not strictly ascending at entry ${count}`);
    }
    prevPage = page;
    prevAt = at;
    count++;
  }
  if (count === 0) {
    leaves.abandonCurrent();
    return { root: EMPTY_ROOT, written };
  }
  if (leaves.pageCount === 1 && codec.descriptor.inlineMaxBytes > 0 &&
      inlineSize(leaves.lastPage, codec) <= codec.descriptor.inlineMaxBytes) {
    const bytes = encodeInline(leaves.lastPage, codec);
    leaves.abandonCurrent();
    return { root: { kind: 'inline', bytes, count }, written };
  }
  leaves.finish();
  let cells = leaves.parents;
  let depth = 1;
  while (cells.length > 1) {
    if (depth >= DEPTH_MAX) throw new EbofsError('E2BIG', `tree depth limit ${DEPTH_MAX}`);
    const level = new LevelBuilder(pager, codec, KIND_BRANCH, depth, 100, written, allocated);
    for (const c of cells) level.append(c, 0, c.length);
    level.finish();
    cells = level.parents;
    depth++;
  }
  const rootId = written[written.length - 1]!;
  return { root: { kind: 'paged', pageId: rootId, depth, count }, written };
}

function isTuple(e: Entry | readonly [Uint8Array, Uint8Array]): e is readonly [Uint8Array, Uint8Array] {
  return Array.isArray(e);
}
