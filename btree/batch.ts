/**
 * WriteBatch: the changes of one transaction on one tree, building the next version by
 * copy-on-write.
 *
 * The first change to touch a published page copies it into a private buffer under a newly
 * allocated id (the old id goes to `freed`, the parent's pointer is updated, the parent being
 * copied first); later changes in the same batch modify the copy in place. So each touched page
 * is copied once per batch, not once per operation. `commit` seals and writes the dirty pages
 * and publishes the new root.
 *
 * Structure changes keep format.ts invariants after every operation:
 * - an insert that does not fit splits the page at the byte-balanced point and inserts the
 *   separator (the right page's first ikey) into the parent, recursively; a root split grows
 *   the tree;
 * - a page below FILL_MIN (or a branch with one child) merges with a sibling when both fit one
 *   page, else the two are rebalanced; the parent loses a cell or gets a new separator, and is
 *   checked in turn; a root branch with one child is replaced by that child.
 *
 * Embedded roots: while the tree is one leaf it may live inline (page id 0, never stored); see
 * inline.ts for the hysteresis applied at commit.
 *
 * Hot key (plain trees): the path of the last descent stays recorded with a copy of its key, and
 * a get or put of that same key reuses it instead of descending again (a transaction reads an
 * onode, then writes it, often twice). Anything that may move cells between pages, or a descent
 * for another key, forgets it.
 */
import { assert } from '../common/assert.js';
import { EbofsError } from '../common/errors.js';
import { TARGET_KEY_LOW } from './codec.js';
import { EMPTY_ROOT, type TreeRoot } from './descriptor.js';
import {
  CHILD_ID_SIZE_BYTES, DEPTH_MAX, KIND_BRANCH, KIND_LEAF, OFFSET_LEVEL, OFFSET_PAGE_ID, SLOT_SIZE_BYTES, cellCount,
  slotOffset, writeId,
} from './format.js';
import type { CommitResult, WriteBatch } from './index.js';
import { encodeInline, inlineSize } from './inline.js';
import {
  CellList, cellSize, childId, freeBytes, ikeyAt, initPage, insertCell, isLeaf, removeCell,
  searchBranch, searchLeaf, setChildId, usedBytes,
} from './page.js';
import { PageSource, ReadView, levelMismatch } from './read.js';
import { NO_PAGE, type PageId } from './store.js';
import { type Tree, type TreeState } from './tree.js';

export class Batch extends ReadView implements WriteBatch {
  private readonly tree: Tree;
  private readonly base: TreeState;
  private readonly dirty: Map<number, Uint8Array>;
  private readonly freed: PageId[] = [];
  private readonly allocated = new Set<number>();
  private open = true;
  // The path of the last descent, root first.
  private readonly pathPages: Uint8Array[] = [];
  private readonly pathIds: number[] = [];
  private readonly pathSlots: number[] = [];
  private readonly ws: Workspace;
  /** The key the recorded path leads to (plain trees), its length, and whether it was found. */
  private hotKey: Uint8Array | null = null;
  private hotLength = -1;
  private hotFound = false;

  constructor(tree: Tree, base: TreeState) {
    const dirty = new Map<number, Uint8Array>();
    super(tree.codec, new PageSource(tree.pager, base.inlinePage, dirty));
    this.tree = tree;
    this.base = base;
    this.dirty = dirty;
    this.rootId = base.rootId;
    this.depth = base.depth;
    this.count = base.count;
    this.ws = tree.workspace;
  }

  override get(key: Uint8Array): Uint8Array | undefined {
    const codec = this.codec;
    if (codec.duplicates) return super.get(key);
    codec.checkKey(key);
    if (this.depth === 0) return undefined;
    if (!this.descendKey(key)) return undefined;
    const leaf = this.pathPages[this.depth - 1]!;
    return codec.copyValue(leaf, slotOffset(leaf, this.pathSlots[this.depth - 1]!));
  }

  put(key: Uint8Array, value?: Uint8Array): void {
    this.checkOpen();
    const codec = this.codec;
    codec.checkKey(key);
    const stored = codec.checkValue(key, value);
    if (this.depth === 0) this.createRoot();
    let found: boolean;
    if (codec.duplicates) {
      this.forgetHot();
      codec.setTarget(key, stored, TARGET_KEY_LOW);
      found = this.descend();
    } else {
      found = this.descendKey(key);
    }
    const leafLevel = this.depth - 1;
    const leaf = this.pathPages[leafLevel]!;
    const slot = this.pathSlots[leafLevel]!;
    const cell = this.ws.cell;
    const size = codec.encodeLeafCell(cell, key, stored);
    if (found) {
      if (codec.duplicates || !codec.hasValue) return;
      const at = slotOffset(leaf, slot);
      const oldSize = codec.leafCellSize(leaf, at);
      if (oldSize === size && equalBytes(leaf, at, cell, size)) return;
      this.makePathDirty();
      const page = this.pathPages[leafLevel]!;
      if (oldSize === size) {
        page.set(cell.subarray(0, size), slotOffset(page, slot));
        return; // the path still leads to the key
      }
      this.forgetHot();
      removeCell(page, slot, codec);
      if (this.insertAt(leafLevel, slot, cell, size)) this.fixUnderflow(leafLevel);
      return;
    }
    if (this.count >= Number.MAX_SAFE_INTEGER) throw new EbofsError('E2BIG', 'tree entry count limit');
    this.makePathDirty();
    this.count++;
    // Without a split the new cell sits at the recorded slot: the path now leads to the key.
    if (this.insertAt(leafLevel, slot, cell, size)) this.hotFound = true;
    else this.forgetHot();
  }

  /** Descends to `key` (plain trees), reusing the recorded path when it leads there. */
  private descendKey(key: Uint8Array): boolean {
    const hot = this.hotKey;
    const n = key.length;
    if (hot !== null && this.hotLength === n) {
      let i = 0;
      while (i < n && hot[i] === key[i]) i++;
      if (i === n) return this.hotFound;
    }
    this.codec.setTarget(key, undefined, TARGET_KEY_LOW);
    const found = this.descend();
    let buf = this.hotKey;
    if (buf === null || buf.length < n) buf = this.hotKey = new Uint8Array(Math.max(64, n * 2));
    buf.set(key);
    this.hotLength = n;
    this.hotFound = found;
    return found;
  }

  private forgetHot(): void {
    this.hotLength = -1;
  }

  delete(key: Uint8Array, value?: Uint8Array): boolean {
    this.checkOpen();
    this.forgetHot();
    const codec = this.codec;
    codec.checkKey(key);
    if (codec.duplicates && value === undefined) {
      let any = false;
      const bound = this.count;
      for (let n = 0; n <= bound && this.deleteFirstOfKey(key); n++) any = true;
      return any;
    }
    if (this.depth === 0) return false;
    if (codec.duplicates) codec.checkValue(key, value);
    codec.setTarget(key, value, TARGET_KEY_LOW);
    if (!this.descend()) return false;
    this.removeAtPath();
    return true;
  }

  deleteRange(start?: Uint8Array, end?: Uint8Array): number {
    this.checkOpen();
    this.forgetHot();
    const codec = this.codec;
    if (start !== undefined) codec.checkKey(start);
    if (end !== undefined) codec.checkKey(end);
    let removed = 0;
    // Each removal invalidates cursors, so every step seeks from `start` again.
    for (const bound = this.count; removed < bound;) {
      const cursor = this.cursor();
      if (!(start === undefined ? cursor.first() : cursor.seek(start))) break;
      const key = cursor.keyView();
      if (end !== undefined && codec.keyCompare(key, 0, key.length, end, 0, end.length) >= 0) break;
      codec.setTargetFromIkey(cursor.currentLeaf(), cursor.cellOffset());
      if (!this.descend()) throw new EbofsError('EASSERT', 'entry vanished between seeks');
      this.removeAtPath();
      removed++;
    }
    return removed;
  }

  private deleteFirstOfKey(key: Uint8Array): boolean {
    if (this.depth === 0) return false;
    const codec = this.codec;
    codec.setTarget(key, undefined, TARGET_KEY_LOW);
    this.descend();
    const leafLevel = this.depth - 1;
    let leaf = this.pathPages[leafLevel]!;
    if (this.pathSlots[leafLevel]! >= cellCount(leaf)) {
      // The key's run may start in the next leaf: find its first entry and re-descend on it.
      const cursor = this.cursor();
      if (!cursor.seek(key)) return false;
      const k = cursor.keyView();
      if (codec.keyCompare(key, 0, key.length, k, 0, k.length) !== 0) return false;
      codec.setTargetFromIkey(cursor.currentLeaf(), cursor.cellOffset());
      if (!this.descend()) throw new EbofsError('EASSERT', 'entry vanished between seeks');
      leaf = this.pathPages[leafLevel]!;
    }
    if (!codec.sameKeyAsTarget(leaf, slotOffset(leaf, this.pathSlots[leafLevel]!))) return false;
    this.removeAtPath();
    return true;
  }

  /** Removes the leaf entry the last descent found. */
  private removeAtPath(): void {
    this.makePathDirty();
    const leafLevel = this.depth - 1;
    removeCell(this.pathPages[leafLevel]!, this.pathSlots[leafLevel]!, this.codec);
    this.count--;
    this.fixUnderflow(leafLevel);
  }

  commit(): CommitResult {
    this.checkOpen();
    this.open = false;
    // A batch that changed nothing publishes nothing (a transaction opens a batch on every tree).
    if (this.dirty.size === 0 && this.freed.length === 0 && this.allocated.size === 0 && this.rootId === this.base.rootId &&
      this.depth === this.base.depth && this.count === this.base.count) {
      return this.tree.keep();
    }
    const root = this.finishRoot();
    const written: PageId[] = [];
    for (const [id, page] of this.dirty) {
      if (id === NO_PAGE) continue;
      this.tree.pager.write(id as PageId, page);
      written.push(id as PageId);
    }
    return this.tree.publish(root, this.freed, written);
  }

  abort(): void {
    this.checkOpen();
    this.open = false;
    for (const id of this.allocated) this.tree.pager.free(id as PageId);
    this.tree.abandon();
  }

  private checkOpen(): void {
    if (!this.open) throw new EbofsError('EINVAL', 'batch is already committed or aborted');
  }

  private createRoot(): void {
    const inline = this.descriptor.inlineMaxBytes > 0;
    const id = inline ? NO_PAGE : this.allocatePage();
    const page = id === NO_PAGE ? new Uint8Array(this.tree.pager.pageSizeBytes) : this.tree.pager.pageBuffer(id);
    initPage(page, KIND_LEAF, 0, id);
    this.dirty.set(id, page);
    this.rootId = id;
    this.depth = 1;
  }

  private allocatePage(): PageId {
    const id = this.tree.pager.allocate();
    this.allocated.add(id);
    return id;
  }

  /** Drops a page from the new version (it may be published or allocated by this batch). */
  private dropPage(id: number): void {
    this.dirty.delete(id);
    if (id !== NO_PAGE) this.freed.push(id as PageId);
  }

  /** Descends along the codec's target recording the path; returns whether it found it. */
  private descend(): boolean {
    assert(this.depth > 0 && this.depth <= DEPTH_MAX, 'descend in an empty tree');
    const codec = this.codec;
    let id = this.rootId;
    for (let l = 0; ; l++) {
      const page = this.source.page(id);
      if (page[OFFSET_LEVEL] !== this.depth - 1 - l) throw levelMismatch(id, this.depth - 1 - l, page[OFFSET_LEVEL]!);
      this.pathPages[l] = page;
      this.pathIds[l] = id;
      if (l === this.depth - 1) {
        const slot = searchLeaf(page, codec);
        this.pathSlots[l] = slot;
        return slot < cellCount(page) && codec.compareTarget(page, slotOffset(page, slot)) === 0;
      }
      const slot = searchBranch(page, codec);
      this.pathSlots[l] = slot;
      id = childId(page, slot);
    }
  }

  /** Copies every published page on the path (root first) so the path can be changed. */
  private makePathDirty(): void {
    for (let l = 0; l < this.depth; l++) {
      const id = this.pathIds[l]!;
      if (this.dirty.has(id)) continue;
      const copy = this.copyPage(id, this.pathPages[l]!);
      this.pathPages[l] = copy.page;
      this.pathIds[l] = copy.id;
      if (l === 0) this.rootId = copy.id;
      else setChildId(this.pathPages[l - 1]!, this.pathSlots[l - 1]!, copy.id);
    }
  }

  /** A private copy of a published page (the inline root keeps id 0). */
  private copyPage(id: number, page: Uint8Array): { id: number; page: Uint8Array } {
    if (id === NO_PAGE) {
      const copy = new Uint8Array(page.length);
      copy.set(page);
      this.dirty.set(NO_PAGE, copy);
      return { id, page: copy };
    }
    const newId = this.allocatePage();
    const copy = this.tree.pager.pageBuffer(newId as PageId);
    copy.set(page);
    writeId(copy, OFFSET_PAGE_ID, newId);
    this.dirty.set(newId, copy);
    this.freed.push(id as PageId);
    return { id: newId, page: copy };
  }

  /** Makes child `slot` of dirty branch `parent` dirty; returns its page. */
  private dirtyChild(parent: Uint8Array, slot: number): { id: number; page: Uint8Array } {
    const id = childId(parent, slot);
    const existing = this.dirty.get(id);
    if (existing !== undefined) return { id, page: existing };
    const copy = this.copyPage(id, this.source.page(id));
    setChildId(parent, slot, copy.id);
    return copy;
  }

  /**
   * Inserts a cell at `index` of the dirty page at path level `level`, splitting as needed.
   * Returns true when no split happened (the path is still accurate).
   */
  private insertAt(level: number, index: number, source: Uint8Array, size: number): boolean {
    const page = this.pathPages[level]!;
    if (freeBytes(page) >= size + SLOT_SIZE_BYTES) {
      insertCell(page, index, source, 0, size, this.codec, this.ws.scratchA);
      return true;
    }
    this.splitInsert(level, index, source, size);
    return false;
  }

  private splitInsert(level: number, index: number, source: Uint8Array, size: number): void {
    const ws = this.ws;
    const codec = this.codec;
    let leftId = this.pathIds[level]!;
    const page = this.pathPages[level]!;
    const kind = isLeaf(page) ? KIND_LEAF : KIND_BRANCH;
    const pageLevel = this.depth - 1 - level;
    ws.scratchA.set(page);
    const list = ws.list;
    list.clear();
    const count = cellCount(page);
    for (let i = 0; i < count; i++) {
      if (i === index) list.push(source, 0, size);
      list.push(ws.scratchA, slotOffset(ws.scratchA, i), cellSize(ws.scratchA, i, codec));
    }
    if (index === count) list.push(source, 0, size);
    const m = list.balancedSplit(this.tree.pager.limits.usableBytes);
    let left = page;
    if (leftId === NO_PAGE) {
      // The inline root becomes a real page as soon as it splits.
      this.dirty.delete(NO_PAGE);
      leftId = this.allocatePage();
      left = this.tree.pager.pageBuffer(leftId as PageId);
      this.dirty.set(leftId, left);
      this.rootId = leftId;
    }
    const rightId = this.allocatePage();
    const right = this.tree.pager.pageBuffer(rightId);
    this.dirty.set(rightId, right);
    list.writeTo(left, 0, m, kind, pageLevel, leftId);
    list.writeTo(right, m, list.length, kind, pageLevel, rightId);
    const sep = ws.separators[level]!;
    const sepSize = makeBranchCell(sep, rightId, right, ikeyAt(right, 0), codec);
    if (level === 0) {
      this.growRoot(leftId, left, sep, sepSize);
      return;
    }
    this.insertAt(level - 1, this.pathSlots[level - 1]! + 1, sep, sepSize);
  }

  private growRoot(leftId: number, left: Uint8Array, sep: Uint8Array, sepSize: number): void {
    if (this.depth >= DEPTH_MAX) throw new EbofsError('E2BIG', `tree depth limit ${DEPTH_MAX}`);
    const codec = this.codec;
    const rootId = this.allocatePage();
    const root = this.tree.pager.pageBuffer(rootId);
    initPage(root, KIND_BRANCH, this.depth, rootId);
    const first = this.ws.cell;
    const firstSize = makeBranchCell(first, leftId, left, ikeyAt(left, 0), codec);
    insertCell(root, 0, first, 0, firstSize, codec, this.ws.scratchA);
    insertCell(root, 1, sep, 0, sepSize, codec, this.ws.scratchA);
    this.dirty.set(rootId, root);
    this.rootId = rootId;
    this.depth++;
  }

  /** Restores fill from path level `level` upwards after cells were removed or shrunk. */
  private fixUnderflow(level: number): void {
    for (let l = level; l > 0; l--) {
      const page = this.pathPages[l]!;
      if (!this.underfull(page)) return;
      if (!this.rebalance(l)) return;
    }
    this.shrinkRoot();
  }

  private underfull(page: Uint8Array): boolean {
    const minCells = isLeaf(page) ? 1 : 2;
    return cellCount(page) < minCells || usedBytes(page) < this.tree.pager.limits.fillMinBytes;
  }

  /**
   * Merges or rebalances the page at path level `level` with a sibling. Returns true when the
   * parent may now be underfull (and the path above is still accurate).
   */
  private rebalance(level: number): boolean {
    const codec = this.codec;
    const ws = this.ws;
    const parent = this.pathPages[level - 1]!;
    const slot = this.pathSlots[level - 1]!;
    const parentCount = cellCount(parent);
    if (parentCount < 2) return true; // only the root can have one child; shrinkRoot handles it
    const rightSlot = slot + 1 < parentCount ? slot + 1 : slot;
    const leftNode = this.dirtyChild(parent, rightSlot - 1);
    const rightNode = this.dirtyChild(parent, rightSlot);
    const leaf = isLeaf(leftNode.page);
    const kind = leaf ? KIND_LEAF : KIND_BRANCH;
    const pageLevel = this.depth - 1 - level;
    ws.scratchA.set(leftNode.page);
    ws.scratchB.set(rightNode.page);
    const list = ws.list;
    list.clear();
    list.pushPage(ws.scratchA, codec);
    const leftCount = list.length;
    list.pushPage(ws.scratchB, codec);
    if (!leaf) {
      // Right's cell 0 key was ignored; in the merged order it needs the parent's separator.
      const fixed = ws.cell;
      const size = makeBranchCell(fixed, childId(ws.scratchB, 0), parent, ikeyAt(parent, rightSlot), codec);
      list.buffers[leftCount] = fixed;
      list.offsets[leftCount] = 0;
      list.sizes[leftCount] = size;
    }
    const usable = this.tree.pager.limits.usableBytes;
    if (list.usedBytes(0, list.length) <= usable) {
      list.writeTo(leftNode.page, 0, list.length, kind, pageLevel, leftNode.id);
      removeCell(parent, rightSlot, codec);
      this.dropPage(rightNode.id);
      return true;
    }
    const m = list.balancedSplit(usable);
    list.writeTo(leftNode.page, 0, m, kind, pageLevel, leftNode.id);
    list.writeTo(rightNode.page, m, list.length, kind, pageLevel, rightNode.id);
    const sep = ws.separators[level]!;
    const sepSize = makeBranchCell(sep, rightNode.id, rightNode.page, ikeyAt(rightNode.page, 0), codec);
    removeCell(parent, rightSlot, codec);
    this.pathSlots[level - 1] = rightSlot - 1;
    return this.insertAt(level - 1, rightSlot, sep, sepSize);
  }

  /** Replaces a root branch with one child by that child; empties the tree at zero entries. */
  private shrinkRoot(): void {
    for (let guard = 0; guard < DEPTH_MAX && this.depth > 1; guard++) {
      const root = this.source.page(this.rootId);
      if (cellCount(root) !== 1) break;
      const child = childId(root, 0);
      this.dropPage(this.rootId);
      this.rootId = child;
      this.depth--;
    }
    if (this.depth === 1 && cellCount(this.source.page(this.rootId)) === 0) {
      this.dropPage(this.rootId);
      this.rootId = NO_PAGE;
      this.depth = 0;
    }
  }

  /** Chooses the root form to publish (empty, inline or paged) with hysteresis. */
  private finishRoot(): TreeRoot {
    if (this.depth === 0) {
      assert(this.count === 0, 'empty tree with entries');
      return EMPTY_ROOT;
    }
    const inlineMax = this.descriptor.inlineMaxBytes;
    if (this.depth === 1 && inlineMax > 0) {
      const leaf = this.source.page(this.rootId);
      const wasInline = this.base.depth === 0 || this.base.inlinePage !== null;
      const limit = wasInline ? inlineMax : Math.floor(inlineMax / 2);
      if (inlineSize(leaf, this.codec) <= limit) {
        const bytes = encodeInline(leaf, this.codec);
        if (this.rootId !== NO_PAGE) this.dropPage(this.rootId);
        else this.dirty.delete(NO_PAGE);
        this.rootId = NO_PAGE;
        return { kind: 'inline', bytes, count: this.count };
      }
      if (this.rootId === NO_PAGE) this.spillInlineRoot(leaf);
    }
    assert(this.rootId !== NO_PAGE, 'paged root without a page');
    return { kind: 'paged', pageId: this.rootId as PageId, depth: this.depth, count: this.count };
  }

  /** Moves an inline root leaf that grew past the inline limit into a page. */
  private spillInlineRoot(leaf: Uint8Array): void {
    const id = this.allocatePage();
    const page = this.tree.pager.pageBuffer(id);
    page.set(leaf);
    writeId(page, OFFSET_PAGE_ID, id);
    this.dirty.delete(NO_PAGE);
    this.dirty.set(id, page);
    this.rootId = id;
  }
}

/** Scratch buffers shared by a tree's batches (one batch at a time). */
export class Workspace {
  readonly scratchA: Uint8Array;
  readonly scratchB: Uint8Array;
  readonly cell: Uint8Array;
  readonly separators: Uint8Array[] = [];
  readonly list = new CellList();

  constructor(pageSizeBytes: number, cellSizeMax: number) {
    this.scratchA = new Uint8Array(pageSizeBytes);
    this.scratchB = new Uint8Array(pageSizeBytes);
    this.cell = new Uint8Array(cellSizeMax + CHILD_ID_SIZE_BYTES);
    for (let i = 0; i < DEPTH_MAX; i++) this.separators.push(new Uint8Array(cellSizeMax + CHILD_ID_SIZE_BYTES));
  }
}

/** Writes a branch cell (child id + the ikey at `ikeyAtOffset` of `page`) into `out`. */
function makeBranchCell(
  out: Uint8Array, child: number, page: Uint8Array, ikeyAtOffset: number, codec: { ikeySize(b: Uint8Array, a: number): number },
): number {
  const size = codec.ikeySize(page, ikeyAtOffset);
  writeId(out, 0, child);
  out.set(page.subarray(ikeyAtOffset, ikeyAtOffset + size), CHILD_ID_SIZE_BYTES);
  return CHILD_ID_SIZE_BYTES + size;
}

function equalBytes(a: Uint8Array, aAt: number, b: Uint8Array, size: number): boolean {
  for (let i = 0; i < size; i++) if (a[aAt + i] !== b[i]) return false;
  return true;
}
