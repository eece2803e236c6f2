/**
 * check(tree): every violation of the format.ts invariants in one tree version, as a list of
 * findings (empty = healthy). fsck and the tests use it; a finding is never just logged.
 *
 * It reads pages straight from the store (not the Pager's cache) and verifies each checksum,
 * walks the tree with an explicit stack (no recursion over on-disk structures), and checks:
 * header sanity and level, cell bounds and overlap, garbage accounting, key order within each
 * page and against the bounds the parent gives, fill of non-root pages, child counts, every
 * page reachable exactly once, the entry count, and the inline root's size limit.
 */
import { checksum32 } from '../common/checksum.js';
import { type Codec } from './codec.js';
import {
  CHILD_ID_SIZE_BYTES, DEPTH_MAX, KIND_LEAF, OFFSET_CELL_AREA_START, OFFSET_CHECKSUM,
  OFFSET_GARBAGE_BYTES, OFFSET_LEVEL, OFFSET_PAGE_ID, PAGE_HEADER_SIZE_BYTES, SLOT_SIZE_BYTES,
  cellCount, pageKind, readId, readU32, slotOffset,
} from './format.js';
import type { TreeVersion } from './index.js';
import { decodeInline } from './inline.js';
import { childId, cellSize, ikeyAt, usedBytes } from './page.js';
import { headerProblem } from './pager.js';
import { type PageId } from './store.js';
import { type Tree } from './tree.js';

export interface CheckFinding {
  /** Where: "page 17", "page 17 cell 3", "inline root", "tree". */
  readonly location: string;
  readonly problem: string;
}

export interface CheckOptions {
  /** The version to check (default: the tree's current version). */
  version?: TreeVersion;
  /** Stop after this many findings (default 100). */
  maxFindings?: number;
}

export const CHECK_FINDINGS_MAX_DEFAULT = 100;

interface Bound { page: Uint8Array; at: number }
interface Frame { id: number; level: number; lo: Bound | null; hi: Bound | null; isRoot: boolean }

export function check(tree: Tree, options: CheckOptions = {}): CheckFinding[] {
  const version = options.version ?? tree.current;
  const max = options.maxFindings ?? CHECK_FINDINGS_MAX_DEFAULT;
  const findings: CheckFinding[] = [];
  const report = (location: string, problem: string): void => {
    if (findings.length < max) findings.push({ location, problem });
  };
  const root = version.root;
  if (root.kind === 'empty') return findings;
  const codec = tree.codec;
  if (root.kind === 'inline') {
    checkInline(tree, root.bytes, root.count, report);
    return findings;
  }
  const walker = new Walker(tree, codec, report);
  walker.walk(root.pageId, root.depth);
  if (walker.entries !== root.count) report('tree', `entry count ${root.count} but ${walker.entries} entries found`);
  return findings;
}

/** Every page id reachable from `version` (for leak and reuse checks). */
export function reachablePages(tree: Tree, version: TreeVersion): Set<PageId> {
  const out = new Set<PageId>();
  if (version.root.kind !== 'paged') return out;
  const stack: { id: number; level: number }[] = [{ id: version.root.pageId, level: version.root.depth - 1 }];
  while (stack.length > 0) {
    const { id, level } = stack.pop()!;
    out.add(id as PageId);
    if (level === 0) continue;
    const page = tree.pager.store.read(id as PageId);
    for (let i = 0; i < cellCount(page); i++) stack.push({ id: childId(page, i), level: level - 1 });
  }
  return out;
}

function checkInline(tree: Tree, bytes: Uint8Array, count: number, report: (l: string, p: string) => void): void {
  if (bytes.length > tree.descriptor.inlineMaxBytes) {
    report('inline root', `inline root of ${bytes.length} bytes exceeds inlineMaxBytes ${tree.descriptor.inlineMaxBytes}`);
  }
  try {
    const page = decodeInline(bytes, tree.codec, tree.pager.pageSizeBytes);
    if (cellCount(page) !== count) report('inline root', `entry count ${count} but ${cellCount(page)} entries`);
  } catch (err) {
    report('inline root', err instanceof Error ? err.message : String(err));
  }
}

class Walker {
  entries = 0;
  private readonly seen = new Set<number>();

  constructor(
    private readonly tree: Tree,
    private readonly codec: Codec,
    private readonly report: (location: string, problem: string) => void,
  ) {}

  walk(rootId: number, depth: number): void {
    if (depth < 1 || depth > DEPTH_MAX) {
      this.report('tree', `depth ${depth} outside [1, ${DEPTH_MAX}]`);
      return;
    }
    const stack: Frame[] = [{ id: rootId, level: depth - 1, lo: null, hi: null, isRoot: true }];
    while (stack.length > 0) {
      const frame = stack.pop()!;
      const page = this.load(frame);
      if (page === undefined) continue;
      this.checkCells(frame, page);
      if (frame.level === 0) {
        this.entries += cellCount(page);
        continue;
      }
      const count = cellCount(page);
      for (let i = count - 1; i >= 0; i--) {
        stack.push({
          id: childId(page, i), level: frame.level - 1, isRoot: false,
          lo: i === 0 ? frame.lo : { page, at: ikeyAt(page, i) },
          hi: i === count - 1 ? frame.hi : { page, at: ikeyAt(page, i + 1) },
        });
      }
    }
  }

  /** Reads and verifies a page; undefined when it cannot be walked further. */
  private load(frame: Frame): Uint8Array | undefined {
    const where = `page ${frame.id}`;
    if (this.seen.has(frame.id)) {
      this.report(where, 'page reachable more than once');
      return undefined;
    }
    this.seen.add(frame.id);
    let page: Uint8Array;
    try {
      page = this.tree.pager.store.read(frame.id as PageId);
    } catch (err) {
      this.report(where, `unreadable: ${err instanceof Error ? err.message : String(err)}`);
      return undefined;
    }
    if (page.length !== this.tree.pager.pageSizeBytes) {
      this.report(where, `page of ${page.length} bytes`);
      return undefined;
    }
    const stored = readU32(page, OFFSET_CHECKSUM);
    const actual = checksum32(page.subarray(4));
    if (stored !== actual) this.report(where, `checksum mismatch (stored ${stored}, computed ${actual})`);
    const problem = headerProblem(page, page.length);
    if (problem !== undefined) {
      this.report(where, problem);
      return undefined;
    }
    if (readId(page, OFFSET_PAGE_ID) !== frame.id) this.report(where, `page carries id ${readId(page, OFFSET_PAGE_ID)}`);
    if (page[OFFSET_LEVEL] !== frame.level) {
      this.report(where, `level ${page[OFFSET_LEVEL]} where ${frame.level} was expected`);
      return undefined;
    }
    return page;
  }

  private checkCells(frame: Frame, page: Uint8Array): void {
    const where = `page ${frame.id}`;
    const count = cellCount(page);
    const leaf = pageKind(page) === KIND_LEAF;
    const start = readU32(page, OFFSET_CELL_AREA_START);
    const ranges: [number, number][] = [];
    let live = 0;
    for (let i = 0; i < count; i++) {
      const at = slotOffset(page, i);
      const size = at >= start && at < page.length ? safeSize(page, i, this.codec) : -1;
      if (size < 0 || at + size > page.length || (!leaf && size <= CHILD_ID_SIZE_BYTES)) {
        this.report(`${where} cell ${i}`, `cell at ${at} outside the cell area`);
        return;
      }
      ranges.push([at, at + size]);
      live += size;
    }
    ranges.sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < ranges.length; i++) {
      if (ranges[i]![0] < ranges[i - 1]![1]) this.report(where, `cells overlap at ${ranges[i]![0]}`);
    }
    const garbage = readU32(page, OFFSET_GARBAGE_BYTES);
    if (garbage !== page.length - start - live) {
      this.report(where, `garbage bytes ${garbage} but ${page.length - start - live} unaccounted`);
    }
    this.checkOrder(frame, page, where);
    this.checkFill(frame, page, where);
  }

  private checkOrder(frame: Frame, page: Uint8Array, where: string): void {
    const codec = this.codec;
    const count = cellCount(page);
    const leaf = frame.level === 0;
    for (let i = 0; i < count; i++) {
      const at = ikeyAt(page, i);
      // A branch's cell 0 key is ignored by searches and may be stale: order starts at cell 1.
      if (i > (leaf ? 0 : 1) && codec.compareIkeys(page, ikeyAt(page, i - 1), page, at) >= 0) {
        this.report(`${where} cell ${i}`, 'keys not in ascending order');
      }
      // Branch cell 0's key is ignored by searches, so parent bounds do not apply to it.
      if (!leaf && i === 0) continue;
      if (frame.lo !== null && codec.compareIkeys(page, at, frame.lo.page, frame.lo.at) < 0) {
        this.report(`${where} cell ${i}`, 'key below the lower bound from the parent');
      }
      if (frame.hi !== null && codec.compareIkeys(page, at, frame.hi.page, frame.hi.at) >= 0) {
        this.report(`${where} cell ${i}`, 'key at or above the upper bound from the parent');
      }
    }
  }

  private checkFill(frame: Frame, page: Uint8Array, where: string): void {
    const count = cellCount(page);
    const leaf = frame.level === 0;
    if (frame.isRoot) {
      if (leaf && count === 0) this.report(where, 'empty root leaf (the root should be empty)');
      if (!leaf && count < 2) this.report(where, `root branch with ${count} children`);
      return;
    }
    if (count < (leaf ? 1 : 2)) this.report(where, `non-root ${leaf ? 'leaf' : 'branch'} with ${count} cells`);
    const fillMin = this.tree.pager.limits.fillMinBytes;
    if (usedBytes(page) < fillMin) this.report(where, `underfull: ${usedBytes(page)} bytes used, minimum ${fillMin}`);
    if (PAGE_HEADER_SIZE_BYTES + count * SLOT_SIZE_BYTES > readU32(page, OFFSET_CELL_AREA_START)) {
      this.report(where, 'slot array overlaps cells');
    }
  }
}

/** Cell size, or -1 when its length prefixes run off the page. */
function safeSize(page: Uint8Array, index: number, codec: Codec): number {
  try {
    const size = cellSize(page, index, codec);
    return Number.isFinite(size) ? size : -1;
  } catch {
    return -1;
  }
}
