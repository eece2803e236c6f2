/**
 * Read paths shared by published versions and open batches: point lookups, cursors and range
 * iteration. Pages come from a PageSource: the batch's dirty pages first, then the inline root,
 * then the Pager (verified store pages). Descents check every page's level against the depth
 * the root promised, so a bad child pointer is reported as corruption, not followed blindly.
 */
import { CorruptionError, EbofsError } from '../common/errors.js';
import { type Codec, TARGET_KEY_HIGH, TARGET_KEY_LOW } from './codec.js';
import { type TreeDescriptor } from './descriptor.js';
import { DEPTH_MAX, OFFSET_LEVEL, cellCount, slotOffset } from './format.js';
import type { Cursor, Entry, RangeOptions, TreeReader } from './index.js';
import { childId, searchBranch, searchLeaf } from './page.js';
import { type Pager } from './pager.js';
import { type PageId } from './store.js';

/** Where a reader finds pages. */
export class PageSource {
  readonly pager: Pager;
  inlinePage: Uint8Array | null;
  dirty: Map<number, Uint8Array> | null;

  constructor(pager: Pager, inlinePage: Uint8Array | null, dirty: Map<number, Uint8Array> | null) {
    this.pager = pager;
    this.inlinePage = inlinePage;
    this.dirty = dirty;
  }

  page(id: number): Uint8Array {
    if (this.dirty !== null) {
      const d = this.dirty.get(id);
      if (d !== undefined) return d;
    }
    if (id === 0) {
      if (this.inlinePage === null) throw new EbofsError('EASSERT', 'no inline root page');
      return this.inlinePage;
    }
    return this.pager.read(id as PageId);
  }
}

/** Read operations over (source, root id, depth). Subclasses keep the fields current. */
export class ReadView implements TreeReader {
  readonly descriptor: TreeDescriptor;
  readonly codec: Codec;
  readonly source: PageSource;
  /** Root page id (0 for an inline root). */
  rootId = 0;
  /** 0 for an empty tree, 1 when the root is a leaf. */
  depth = 0;
  count = 0;

  constructor(codec: Codec, source: PageSource) {
    this.descriptor = codec.descriptor;
    this.codec = codec;
    this.source = source;
  }

  /** Descends along the codec's target to its leaf (no path recorded). */
  leafForTarget(): Uint8Array {
    const codec = this.codec;
    let page = this.source.page(this.rootId);
    let id = this.rootId;
    for (let level = this.depth - 1; ; level--) {
      if (page[OFFSET_LEVEL] !== level) throw levelMismatch(id, level, page[OFFSET_LEVEL]!);
      if (level === 0) return page;
      id = childId(page, searchBranch(page, codec));
      page = this.source.page(id);
    }
  }

  get(key: Uint8Array): Uint8Array | undefined {
    const codec = this.codec;
    codec.checkKey(key);
    if (this.depth === 0) return undefined;
    codec.setTarget(key, undefined, TARGET_KEY_LOW);
    const leaf = this.leafForTarget();
    const index = searchLeaf(leaf, codec);
    if (index >= cellCount(leaf)) {
      // Key-only bounds can land past a leaf's end when the run starts in the next leaf.
      return codec.duplicates ? this.getViaCursor(key) : undefined;
    }
    const at = slotOffset(leaf, index);
    if (!codec.sameKeyAsTarget(leaf, at)) return undefined;
    return codec.copyValue(leaf, at);
  }

  private getViaCursor(key: Uint8Array): Uint8Array | undefined {
    const cursor = this.cursor();
    if (!cursor.seek(key)) return undefined;
    return this.codec.keyCompare(key, 0, key.length, cursor.keyView(), 0, cursor.keyView().length) === 0
      ? cursor.value() : undefined;
  }

  has(key: Uint8Array, value?: Uint8Array): boolean {
    if (value === undefined || !this.codec.duplicates) return this.get(key) !== undefined;
    this.codec.checkKey(key);
    const cursor = this.cursor();
    if (!cursor.seek(key, value)) return false;
    const k = cursor.keyView();
    const v = cursor.valueView();
    return this.codec.keyCompare(key, 0, key.length, k, 0, k.length) === 0 &&
      this.codec.valueCompare(value, 0, value.length, v, 0, v.length) === 0;
  }

  getAll(key: Uint8Array): Uint8Array[] {
    this.codec.checkKey(key);
    const out: Uint8Array[] = [];
    const cursor = this.cursor();
    for (let ok = cursor.seek(key); ok; ok = cursor.next()) {
      const k = cursor.keyView();
      if (this.codec.keyCompare(key, 0, key.length, k, 0, k.length) !== 0) break;
      out.push(cursor.value());
    }
    return out;
  }

  first(): Entry | undefined {
    const cursor = this.cursor();
    return cursor.first() ? { key: cursor.key(), value: cursor.value() } : undefined;
  }

  last(): Entry | undefined {
    const cursor = this.cursor();
    return cursor.last() ? { key: cursor.key(), value: cursor.value() } : undefined;
  }

  cursor(): TreeCursor {
    return new TreeCursor(this);
  }

  range(options: RangeOptions = {}): IterableIterator<Entry> {
    return rangeIterator(this, options);
  }
}

export function levelMismatch(id: number, expected: number, actual: number): CorruptionError {
  return new CorruptionError('ECORRUPT', 'page at the wrong tree level', {
    location: `page ${id}`, expected: String(expected), actual: String(actual),
  });
}

/** A cursor: the page and slot at every level, root first. */
export class TreeCursor implements Cursor {
  private readonly view: ReadView;
  private readonly pages: Uint8Array[] = [];
  private readonly slots: number[] = [];
  private depth = 0;
  valid = false;

  constructor(view: ReadView) {
    this.view = view;
  }

  seek(key: Uint8Array, value?: Uint8Array): boolean {
    const codec = this.view.codec;
    codec.checkKey(key);
    codec.setTarget(key, value, TARGET_KEY_LOW);
    if (!this.descendTarget()) return false;
    const leaf = this.pages[this.depth - 1]!;
    const index = searchLeaf(leaf, codec);
    this.slots[this.depth - 1] = index;
    if (index < cellCount(leaf)) return (this.valid = true);
    return this.nextLeaf();
  }

  seekLast(key: Uint8Array): boolean {
    const codec = this.view.codec;
    codec.checkKey(key);
    codec.setTarget(key, undefined, TARGET_KEY_HIGH);
    if (!this.descendTarget()) return false;
    const leaf = this.pages[this.depth - 1]!;
    // First entry > key (key-only high bound), then one step back.
    const index = upperBoundIndex(leaf, codec, key);
    this.slots[this.depth - 1] = index;
    return this.retreat();
  }

  first(): boolean {
    return this.edge(false);
  }

  last(): boolean {
    return this.edge(true);
  }

  next(): boolean {
    if (!this.valid) return false;
    return this.advance();
  }

  prev(): boolean {
    if (!this.valid) return false;
    return this.retreat();
  }

  key(): Uint8Array {
    const leaf = this.currentLeaf();
    return this.view.codec.copyKey(leaf, slotOffset(leaf, this.slots[this.depth - 1]!));
  }

  value(): Uint8Array {
    const leaf = this.currentLeaf();
    return this.view.codec.copyValue(leaf, slotOffset(leaf, this.slots[this.depth - 1]!));
  }

  keyView(): Uint8Array {
    const leaf = this.currentLeaf();
    return this.view.codec.keyView(leaf, slotOffset(leaf, this.slots[this.depth - 1]!));
  }

  valueView(): Uint8Array {
    const leaf = this.currentLeaf();
    return this.view.codec.valueView(leaf, slotOffset(leaf, this.slots[this.depth - 1]!));
  }

  /** The leaf page and cell offset of the current entry (for zero-copy scans). */
  cellOffset(): number {
    const leaf = this.currentLeaf();
    return slotOffset(leaf, this.slots[this.depth - 1]!);
  }

  currentLeaf(): Uint8Array {
    if (!this.valid) throw new EbofsError('EINVAL', 'cursor is not on an entry');
    return this.pages[this.depth - 1]!;
  }

  private descendTarget(): boolean {
    const view = this.view;
    this.depth = view.depth;
    this.valid = false;
    if (this.depth === 0) return false;
    let id = view.rootId;
    for (let l = 0; l < this.depth; l++) {
      const page = view.source.page(id);
      const level = this.depth - 1 - l;
      if (page[OFFSET_LEVEL] !== level) throw levelMismatch(id, level, page[OFFSET_LEVEL]!);
      this.pages[l] = page;
      if (level === 0) break;
      const slot = searchBranch(page, view.codec);
      this.slots[l] = slot;
      id = childId(page, slot);
    }
    return true;
  }

  private edge(fromEnd: boolean): boolean {
    const view = this.view;
    this.depth = view.depth;
    this.valid = false;
    if (this.depth === 0) return false;
    this.pages[0] = view.source.page(view.rootId);
    this.descendEdge(0, fromEnd);
    const leaf = this.pages[this.depth - 1]!;
    if (cellCount(leaf) === 0) return false;
    this.slots[this.depth - 1] = fromEnd ? cellCount(leaf) - 1 : 0;
    return (this.valid = true);
  }

  /** From pages[level] (already set), descends to the leftmost or rightmost leaf. */
  private descendEdge(level: number, fromEnd: boolean): void {
    for (let l = level; l < this.depth - 1; l++) {
      const page = this.pages[l]!;
      const slot = fromEnd ? cellCount(page) - 1 : 0;
      this.slots[l] = slot;
      const id = childId(page, slot);
      const child = this.view.source.page(id);
      const expected = this.depth - 2 - l;
      if (child[OFFSET_LEVEL] !== expected) throw levelMismatch(id, expected, child[OFFSET_LEVEL]!);
      this.pages[l + 1] = child;
    }
    const leaf = this.pages[this.depth - 1]!;
    this.slots[this.depth - 1] = fromEnd ? cellCount(leaf) - 1 : 0;
  }

  /** Moves from a valid position to the next entry. */
  private advance(): boolean {
    const leafLevel = this.depth - 1;
    const slot = this.slots[leafLevel]! + 1;
    if (slot < cellCount(this.pages[leafLevel]!)) {
      this.slots[leafLevel] = slot;
      return (this.valid = true);
    }
    return this.nextLeaf();
  }

  /** Moves to the first entry of the next non-empty leaf. */
  private nextLeaf(): boolean {
    const leafLevel = this.depth - 1;
    for (let steps = 0; steps < DEPTH_MAX * 4 + this.view.count + 1; steps++) {
      let l = leafLevel - 1;
      while (l >= 0 && this.slots[l]! + 1 >= cellCount(this.pages[l]!)) l--;
      if (l < 0) return (this.valid = false);
      this.slots[l]!++;
      this.pages[l + 1] = this.view.source.page(childId(this.pages[l]!, this.slots[l]!));
      this.descendEdge(l + 1, false);
      if (cellCount(this.pages[leafLevel]!) > 0) return (this.valid = true);
    }
    throw new EbofsError('EASSERT', 'cursor advance did not terminate');
  }

  /** Moves to the entry before slot. */
  private retreat(): boolean {
    const leafLevel = this.depth - 1;
    const slot = this.slots[leafLevel]! - 1;
    if (slot >= 0) {
      this.slots[leafLevel] = slot;
      return (this.valid = true);
    }
    for (let steps = 0; steps < DEPTH_MAX * 4 + this.view.count + 1; steps++) {
      let l = leafLevel - 1;
      while (l >= 0 && this.slots[l]! === 0) l--;
      if (l < 0) return (this.valid = false);
      this.slots[l]!--;
      this.pages[l + 1] = this.view.source.page(childId(this.pages[l]!, this.slots[l]!));
      this.descendEdge(l + 1, true);
      if (cellCount(this.pages[leafLevel]!) > 0) return (this.valid = true);
    }
    throw new EbofsError('EASSERT', 'cursor retreat did not terminate');
  }
}

/** Index of the first entry whose key is > `key` in a leaf (key-only comparison). */
function upperBoundIndex(leaf: Uint8Array, codec: Codec, key: Uint8Array): number {
  let lo = 0;
  let hi = cellCount(leaf);
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const at = slotOffset(leaf, mid);
    const c = codec.keyCompare(key, 0, key.length, leaf, at + codec.keyPrefix, codec.keyLength(leaf, at));
    if (c >= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function* rangeIterator(view: ReadView, options: RangeOptions): IterableIterator<Entry> {
  const { start, end, reverse = false, limit = Infinity } = options;
  const codec = view.codec;
  const cursor = view.cursor();
  const cmpKey = (bound: Uint8Array): number => {
    const k = cursor.keyView();
    return codec.keyCompare(k, 0, k.length, bound, 0, bound.length);
  };
  let ok: boolean;
  if (!reverse) {
    ok = start === undefined ? cursor.first() : cursor.seek(start);
    while (ok && start !== undefined && options.startExclusive === true && cmpKey(start) === 0) ok = cursor.next();
  } else {
    ok = end === undefined ? cursor.last() : cursor.seekLast(end);
    while (ok && end !== undefined && options.endInclusive !== true && cmpKey(end) === 0) ok = cursor.prev();
  }
  let produced = 0;
  while (ok && produced < limit) {
    if (!reverse && end !== undefined) {
      const c = cmpKey(end);
      if (c > 0 || (c === 0 && options.endInclusive !== true)) return;
    }
    if (reverse && start !== undefined) {
      const c = cmpKey(start);
      if (c < 0 || (c === 0 && options.startExclusive === true)) return;
    }
    yield { key: cursor.key(), value: cursor.value() };
    produced++;
    ok = reverse ? cursor.prev() : cursor.next();
  }
}
