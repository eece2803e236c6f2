/**
 * Pager: the btree layer's door to a PageStore. It verifies every page when it is first loaded
 * (checksum, header sanity, self id) and caches the verified bytes, so hot paths touch no
 * checksum. One Pager per store and thread; every tree on the store shares it.
 *
 * Cache validity: a cached page changes only when its id is freed and written again. Writes
 * and frees go through this Pager (a write caches the sealed bytes it wrote, a free forgets
 * the id), and a reader Pager in a worker thread calls
 * `resetCache` whenever it pins a newer generation (pages it cached for an older one may have
 * been reused since).
 *
 * Cache policy: segmented LRU, bounded by `cachePagesMax` pages. A page enters the probation
 * segment (when it is loaded, or written with `keep`); a hit in probation promotes it to the
 * protected segment, which holds at most PROTECTED_PERCENT of the bound (its least recently
 * used page moves back to the head of probation when it overflows). A full cache evicts one
 * page: the least recently used one of probation, or of protected when probation is empty.
 * Why segmented: a scan (a cursor over an omap, a collection listing) reads every leaf once,
 * so it only cycles probation and leaves the pages used twice or more (the upper levels, hot
 * leaves) in protected; under uniform random lookups it hits as often as plain LRU.
 * No policy helps a loop over more pages than the cache: every read of it misses, but each
 * miss evicts one page, never the whole cache.
 *
 * Cache structure (all in typed arrays; a hit allocates nothing and costs one hash probe and
 * a few array stores):
 *
 * | structure              | what                                                             |
 * | ---------------------- | ---------------------------------------------------------------- |
 * | slots 0 and 1          | sentinels heading the circular probation and protected lists     |
 * | slot s >= 2            | one cached page: ids[s], pages[s], owned[s], segment[s], prev/next |
 * | free slots             | a stack linked through next[] (freeSlot, 0 = none)               |
 * | table (ids, slots)     | open addressing, linear probing, power of two >= 2x slot capacity, |
 * |                        | 0 = empty; deletion shifts entries back (no tombstones)          |
 *
 * Slot capacity starts small and doubles up to the bound, so memory follows the pages cached,
 * not the largest page id (a dense array indexed by id would grow to the device size: V8
 * cannot even allocate one past ~112M entries).
 *
 * Invariants (checkCache verifies them):
 * - cachedPageCount <= cachePagesMax, after every call;
 * - every cached page is in exactly one list, tagged with that list's segment, and in the
 *   table under its id; the table holds nothing else; protected holds <= protectedMax pages;
 * - an id is cached at most once, never id 0;
 * - owned[s] = 1 only for a buffer this Pager wrote to a store that copies on write; such a
 *   buffer goes to the pool only when its id is freed (no version reaches it). Eviction and
 *   resetCache drop buffers without pooling them: a cursor may still be reading them.
 *
 * Eviction never affects correctness, only speed: an evicted page is read from the store
 * again and verified again.
 */
import { assert } from '../common/assert.js';
import { checksum32 } from '../common/checksum.js';
import { CorruptionError, EbofsError } from '../common/errors.js';
import {
  KIND_BRANCH, KIND_LEAF, OFFSET_CELL_AREA_START, OFFSET_CHECKSUM, OFFSET_GARBAGE_BYTES,
  OFFSET_LEVEL, OFFSET_PAGE_ID, PAGE_HEADER_SIZE_BYTES, SLOT_SIZE_BYTES, type PageLimits, cellCount,
  pageKind, pageLimits, readId, readU32, writeU32,
} from './format.js';
import { type PageId, type PageStore } from './store.js';

/** Most page buffers kept for reuse. */
export const PAGE_POOL_COUNT_MAX = 4096;
/**
 * Most pages any cache holds, whatever `cachePagesMax` says (slot numbers are int32s; 2^28
 * pages are 1 TiB of 4 KiB pages). An unbounded Pager is bounded by this.
 */
export const CACHE_PAGES_MAX = 2 ** 28;
/** Share of the bound the protected segment may hold (the rest is probation's). */
export const PROTECTED_PERCENT = 80;
/** Page slots a cache starts with (and returns to on resetCache); it doubles as it fills. */
const SLOT_COUNT_INITIAL = 256;

/** Sentinel slot heading the probation list; also the segment tag, and "not cached". */
const PROBATION = 0;
/** Sentinel slot heading the protected list; also the segment tag. */
const PROTECTED = 1;
const SENTINEL_COUNT = 2;
/** lookup's answer for an id that is not cached (slot 0 is a sentinel, never a page). */
const MISS = 0;

export interface PagerOptions {
  /**
   * Most pages kept in the verified-page cache (default and most: CACHE_PAGES_MAX). A load
   * or write into a full cache first evicts one page (segmented LRU, see the head comment).
   * A positive integer or Infinity.
   */
  cachePagesMax?: number;
}

/** Counters of the verified-page cache, for stats and tests. */
export interface PagerCacheStats {
  readonly cachePagesMax: number;
  readonly cachedPageCount: number;
  readonly protectedPageCount: number;
  /** Reads served from the cache. */
  readonly hitCount: number;
  /** Pages read from the store and verified (cache misses). */
  readonly loadCount: number;
  /** Pages dropped to make room (not counting frees, rewrites and resetCache). */
  readonly evictionCount: number;
}

/**
 * The verified-page cache: a segmented LRU over slots in typed arrays, with an
 * open-addressing table from page id to slot. See the head comment for layout and invariants.
 */
class PageCache {
  readonly pagesMax: number;
  readonly protectedMax: number;
  count = 0;
  protectedCount = 0;
  hitCount = 0;
  evictionCount = 0;
  // Per slot (index = slot; 0 and 1 are the list sentinels).
  private ids = new Float64Array(0);
  private pages: (Uint8Array | undefined)[] = [];
  private owned = new Uint8Array(0);
  private segment = new Uint8Array(0);
  private prev = new Int32Array(0);
  private next = new Int32Array(0);
  /** Slots handed out so far (the ones above are unused); freed slots are on the free stack. */
  private slotHighWater = SENTINEL_COUNT;
  private freeSlot = 0;
  // Table: page id -> slot.
  private tableIds = new Float64Array(0);
  private tableSlots = new Int32Array(0);
  private tableMask = 0;
  private tableShift = 0;

  constructor(pagesMax: number) {
    assert(Number.isSafeInteger(pagesMax) && pagesMax >= 1 && pagesMax <= CACHE_PAGES_MAX,
      `cache bound ${pagesMax}`);
    this.pagesMax = pagesMax;
    this.protectedMax = Math.floor(pagesMax * PROTECTED_PERCENT / 100);
    this.reset();
  }

  /** Empties the cache and returns to the initial capacity (counters are kept). */
  reset(): void {
    this.slotHighWater = SENTINEL_COUNT; // nothing to keep
    this.tableIds = new Float64Array(0); // so allocateSlots makes a fresh table
    this.allocateSlots(Math.min(SLOT_COUNT_INITIAL, this.pagesMax));
    this.freeSlot = 0;
    this.count = 0;
    this.protectedCount = 0;
    for (const head of [PROBATION, PROTECTED]) {
      this.prev[head] = head;
      this.next[head] = head;
    }
  }

  /** The slot holding page `id`, or MISS. Allocates nothing. */
  lookup(id: number): number {
    const tableIds = this.tableIds;
    const mask = this.tableMask;
    for (let i = this.home(id); ; i = (i + 1) & mask) {
      const key = tableIds[i]!;
      // An empty entry maps to slot 0 = MISS, so id 0 (and any absent id) misses.
      if (key === id) return this.tableSlots[i]!;
      if (key === 0) return MISS;
    }
  }

  page(slot: number): Uint8Array {
    return this.pages[slot]!;
  }

  isOwned(slot: number): boolean {
    return this.owned[slot] === 1;
  }

  /** Records a hit on `slot`: most recently used in protected (promoted from probation). */
  touch(slot: number): void {
    this.hitCount++;
    if (this.segment[slot] === PROTECTED) {
      if (this.next[PROTECTED] !== slot) {
        this.unlink(slot);
        this.linkFront(PROTECTED, slot);
      }
      return;
    }
    this.unlink(slot);
    this.segment[slot] = PROTECTED;
    this.linkFront(PROTECTED, slot);
    if (++this.protectedCount > this.protectedMax) {
      const demoted = this.prev[PROTECTED]!;
      this.unlink(demoted);
      this.segment[demoted] = PROBATION;
      this.linkFront(PROBATION, demoted);
      this.protectedCount--;
    }
  }

  /** Caches page `id` (not cached yet) at the head of probation, evicting one page if full. */
  insert(id: number, page: Uint8Array, owned: boolean): void {
    assert(Number.isSafeInteger(id) && id > 0, 'cache insert of a bad page id');
    if (this.count >= this.pagesMax) this.evict();
    const slot = this.takeSlot();
    this.ids[slot] = id;
    this.pages[slot] = page;
    this.owned[slot] = owned ? 1 : 0;
    this.segment[slot] = PROBATION;
    this.linkFront(PROBATION, slot);
    this.tableInsert(id, slot);
    this.count++;
    assert(this.count <= this.pagesMax, 'page cache over its bound');
  }

  /** Drops the page in `slot` (a free, a rewrite or an eviction). */
  remove(slot: number): void {
    assert(slot >= SENTINEL_COUNT && this.pages[slot] !== undefined, 'remove of an empty cache slot');
    this.unlink(slot);
    if (this.segment[slot] === PROTECTED) this.protectedCount--;
    this.tableDelete(this.ids[slot]!);
    this.ids[slot] = 0;
    this.pages[slot] = undefined;
    this.owned[slot] = 0;
    this.next[slot] = this.freeSlot;
    this.freeSlot = slot;
    this.count--;
  }

  private evict(): void {
    let victim = this.prev[PROBATION]!;
    if (victim === PROBATION) victim = this.prev[PROTECTED]!;
    assert(victim >= SENTINEL_COUNT, 'a full cache with both lists empty');
    this.remove(victim);
    this.evictionCount++;
  }

  private unlink(slot: number): void {
    const before = this.prev[slot]!;
    const after = this.next[slot]!;
    this.next[before] = after;
    this.prev[after] = before;
  }

  private linkFront(head: number, slot: number): void {
    const first = this.next[head]!;
    this.prev[slot] = head;
    this.next[slot] = first;
    this.prev[first] = slot;
    this.next[head] = slot;
  }

  private takeSlot(): number {
    if (this.freeSlot !== 0) {
      const slot = this.freeSlot;
      this.freeSlot = this.next[slot]!;
      return slot;
    }
    if (this.slotHighWater === this.prev.length) {
      const capacity = this.prev.length - SENTINEL_COUNT;
      assert(capacity < this.pagesMax, 'no free slot in a cache below its bound');
      this.allocateSlots(Math.min(this.pagesMax, capacity * 2));
    }
    return this.slotHighWater++;
  }

  /** (Re)allocates the slot arrays for `capacity` pages, keeping the slots in use. */
  private allocateSlots(capacity: number): void {
    const length = capacity + SENTINEL_COUNT;
    const used = Math.min(this.slotHighWater, this.prev.length);
    const ids = new Float64Array(length);
    const owned = new Uint8Array(length);
    const segment = new Uint8Array(length);
    const prev = new Int32Array(length);
    const next = new Int32Array(length);
    ids.set(this.ids.subarray(0, used));
    owned.set(this.owned.subarray(0, used));
    segment.set(this.segment.subarray(0, used));
    prev.set(this.prev.subarray(0, used));
    next.set(this.next.subarray(0, used));
    [this.ids, this.owned, this.segment, this.prev, this.next] = [ids, owned, segment, prev, next];
    // Packed elements (no holes) keep indexed loads fast.
    const pages = this.pages.slice(0, used);
    while (pages.length < length) pages.push(undefined);
    this.pages = pages;
    this.allocateTable(length);
  }

  /** A table of at least 2 entries per slot, refilled from the slots in use. */
  private allocateTable(slotLength: number): void {
    let size = 16;
    while (size < 2 * slotLength) size *= 2;
    if (size === this.tableIds.length) return;
    this.tableIds = new Float64Array(size);
    this.tableSlots = new Int32Array(size);
    this.tableMask = size - 1;
    this.tableShift = 32 - Math.log2(size);
    for (let slot = SENTINEL_COUNT; slot < this.slotHighWater && slot < this.ids.length; slot++) {
      if (this.pages[slot] !== undefined) this.tableInsert(this.ids[slot]!, slot);
    }
  }

  /** Fibonacci hash of a page id (a safe integer) into the table. */
  private home(id: number): number {
    // Ids below 2^32 (all but the largest devices) skip the split into two words.
    const mixed = id <= 0xffffffff ? id : (id >>> 0) ^ Math.imul(Math.floor(id / 4294967296), 0x85ebca6b);
    return Math.imul(mixed, 0x9e3779b1) >>> this.tableShift;
  }

  private tableInsert(id: number, slot: number): void {
    const mask = this.tableMask;
    let i = this.home(id);
    while (this.tableIds[i] !== 0) {
      assert(this.tableIds[i] !== id, 'a page cached twice');
      i = (i + 1) & mask;
    }
    this.tableIds[i] = id;
    this.tableSlots[i] = slot;
  }

  /** Deletes `id` from the table, shifting later entries of its run back into the hole. */
  private tableDelete(id: number): void {
    const tableIds = this.tableIds;
    const mask = this.tableMask;
    let hole = this.home(id);
    while (tableIds[hole] !== id) {
      assert(tableIds[hole] !== 0, 'a cached page missing from the table');
      hole = (hole + 1) & mask;
    }
    for (let j = (hole + 1) & mask; tableIds[j] !== 0; j = (j + 1) & mask) {
      const key = tableIds[j]!;
      // The entry at j may fill the hole when the hole lies on its probe path [home, j].
      if (((j - this.home(key)) & mask) >= ((j - hole) & mask)) {
        tableIds[hole] = key;
        this.tableSlots[hole] = this.tableSlots[j]!;
        hole = j;
      }
    }
    tableIds[hole] = 0;
    this.tableSlots[hole] = 0;
  }

  /** Verifies every invariant of the head comment; throws AssertionError. O(capacity). */
  check(): void {
    assert(this.count <= this.pagesMax, `cache holds ${this.count} > ${this.pagesMax} pages`);
    assert(this.protectedCount <= this.protectedMax, 'protected segment over its share');
    const seen = new Set<number>();
    for (const head of [PROBATION, PROTECTED]) {
      let listed = 0;
      for (let s = this.next[head]!; s !== head; s = this.next[s]!) {
        assert(listed++ < this.count, 'cache list longer than the cache (a cycle)');
        assert(this.prev[this.next[s]!] === s, `slot ${s}: broken back link`);
        assert(this.segment[s] === head, `slot ${s}: in list ${head}, tagged ${this.segment[s]}`);
        assert(this.pages[s] !== undefined && !seen.has(s), `slot ${s}: empty or listed twice`);
        assert(this.lookup(this.ids[s]!) === s, `page ${this.ids[s]} not found in its slot ${s}`);
        seen.add(s);
      }
      if (head === PROTECTED) assert(listed === this.protectedCount, 'protected count is wrong');
    }
    assert(seen.size === this.count, `lists hold ${seen.size} pages, count says ${this.count}`);
    let entries = 0;
    for (let i = 0; i < this.tableIds.length; i++) {
      if (this.tableIds[i] !== 0) entries++;
      else assert(this.tableSlots[i] === 0, 'an empty table entry names a slot');
    }
    assert(entries === this.count, `table holds ${entries} ids, cache ${this.count} pages`);
  }
}

export class Pager {
  readonly store: PageStore;
  readonly pageSizeBytes: number;
  readonly limits: PageLimits;
  private readonly cache: PageCache;
  /** Page buffers ready for reuse (only with a store that copies on write). */
  private readonly pool: Uint8Array[] = [];
  private loadedCount = 0;

  constructor(store: PageStore, options: PagerOptions = {}) {
    this.store = store;
    this.pageSizeBytes = store.pageSizeBytes;
    this.limits = pageLimits(store.pageSizeBytes);
    const max = options.cachePagesMax ?? Infinity;
    if (!(Number.isSafeInteger(max) && max >= 1) && max !== Infinity) {
      throw new EbofsError('EINVAL', `cachePagesMax ${options.cachePagesMax} is invalid`);
    }
    this.cache = new PageCache(Math.min(max, CACHE_PAGES_MAX));
  }

  /** The verified bytes of page `id`. Never modify them. */
  read(id: PageId): Uint8Array {
    const cache = this.cache;
    const slot = cache.lookup(id);
    if (slot === MISS) return this.load(id);
    cache.touch(slot);
    return cache.page(slot);
  }

  allocate(): PageId {
    const id = this.store.allocate();
    if (!(Number.isSafeInteger(id) && id > 0)) assert(false, `store allocated bad page id ${id}`);
    this.forget(id);
    return id;
  }

  /** A buffer to build the freshly allocated page `id` in (the store's, or a new one). */
  pageBuffer(id: PageId): Uint8Array {
    const lent = this.store.pageBuffer?.(id);
    if (lent === undefined) return this.pool.pop() ?? new Uint8Array(this.pageSizeBytes);
    assert(lent.length === this.pageSizeBytes, 'store lent a buffer of the wrong size');
    return lent;
  }

  /**
   * Seals `page` (sets its checksum) and writes it; the caller gives up `page`. The sealed
   * bytes are verified by construction, so they become the cached copy (no second checksum
   * when the page is next read) unless `keep` is false (bulk loads write many pages that
   * are not read soon): then, with a store that copies on write, the buffer is reused.
   */
  write(id: PageId, page: Uint8Array, keep = true): void {
    assert(page.length === this.pageSizeBytes, 'page size mismatch');
    const carried = readId(page, OFFSET_PAGE_ID);
    // (The message is built only on failure: this is the write path.)
    if (carried !== id) assert(false, `page ${id} carries id ${carried}`);
    sealPage(page);
    this.store.write(id, page);
    this.forget(id);
    if (!keep) {
      if (this.store.copiesOnWrite === true && this.pool.length < PAGE_POOL_COUNT_MAX) this.pool.push(page);
      return;
    }
    this.cache.insert(id, page, this.store.copiesOnWrite === true);
  }

  /**
   * Frees `id` in the store. Only the owner calls this, once no version reaches the page, so
   * a buffer this Pager wrote for it can be reused for a new page.
   */
  free(id: PageId): void {
    const slot = this.cache.lookup(id);
    if (slot !== MISS) {
      if (this.cache.isOwned(slot) && this.pool.length < PAGE_POOL_COUNT_MAX) this.pool.push(this.cache.page(slot));
      this.cache.remove(slot);
    }
    this.store.free(id);
  }

  private forget(id: PageId): void {
    const slot = this.cache.lookup(id);
    if (slot !== MISS) this.cache.remove(slot);
  }

  /** Pages currently cached. */
  get cachedPageCount(): number {
    return this.cache.count;
  }

  /** Pages loaded (read from the store and verified) since creation: the cache misses. */
  get loadCount(): number {
    return this.loadedCount;
  }

  /** A snapshot of the cache counters (a new object per call: not for hot paths). */
  cacheStats(): PagerCacheStats {
    const cache = this.cache;
    return {
      cachePagesMax: cache.pagesMax, cachedPageCount: cache.count, protectedPageCount: cache.protectedCount,
      hitCount: cache.hitCount, loadCount: this.loadedCount, evictionCount: cache.evictionCount,
    };
  }

  /** Verifies the cache's invariants (O(cache size); for tests). Throws AssertionError. */
  checkCache(): void {
    this.cache.check();
  }

  /**
   * Forgets every cached page (a reader that pins a newer generation calls this). Buffers
   * are dropped, not pooled: a cursor of the older generation may still be reading them.
   */
  resetCache(): void {
    this.cache.reset();
  }

  private load(id: PageId): Uint8Array {
    const page = this.store.read(id);
    verifyPage(page, id, this.pageSizeBytes);
    this.loadedCount++;
    this.cache.insert(id, page, false);
    return page;
  }
}

/** Sets the checksum of a page whose other bytes are final. */
export function sealPage(page: Uint8Array): void {
  writeU32(page, OFFSET_CHECKSUM, checksum32(page.subarray(4)));
}

/**
 * Verifies a page loaded from a store: checksum, then header fields. Throws CorruptionError
 * naming the page. Never asserts: these are bytes from a device.
 */
export function verifyPage(page: Uint8Array, id: PageId, pageSizeBytes: number): void {
  const location = `page ${id}`;
  if (page.length !== pageSizeBytes) {
    throw new CorruptionError('ECORRUPT', `page is ${page.length} bytes, expected ${pageSizeBytes}`, { location });
  }
  const stored = readU32(page, OFFSET_CHECKSUM);
  const actual = checksum32(page.subarray(4));
  if (stored !== actual) {
    throw new CorruptionError('ECHECKSUM', 'page checksum mismatch', {
      location, expected: String(stored), actual: String(actual),
    });
  }
  const problem = headerProblem(page, pageSizeBytes);
  if (problem !== undefined) throw new CorruptionError('ECORRUPT', problem, { location });
  const selfId = readId(page, OFFSET_PAGE_ID);
  if (selfId !== id) {
    throw new CorruptionError('ECORRUPT', 'page holds another page (misdirected write)', {
      location, expected: String(id), actual: String(selfId),
    });
  }
}

/** Describes what is wrong with a page header, or undefined when it is sane. */
export function headerProblem(page: Uint8Array, pageSizeBytes: number): string | undefined {
  const kind = pageKind(page);
  if (kind !== KIND_LEAF && kind !== KIND_BRANCH) return `bad page kind ${kind}`;
  const level = page[OFFSET_LEVEL]!;
  if ((kind === KIND_LEAF) !== (level === 0)) return `kind ${kind} at level ${level}`;
  const count = cellCount(page);
  const start = readU32(page, OFFSET_CELL_AREA_START);
  const garbage = readU32(page, OFFSET_GARBAGE_BYTES);
  if (PAGE_HEADER_SIZE_BYTES + count * SLOT_SIZE_BYTES > start || start > pageSizeBytes) {
    return `cell area start ${start} inconsistent with ${count} cells`;
  }
  if (garbage > pageSizeBytes - start) return `garbage bytes ${garbage} exceed the cell area`;
  if (readU32(page, OFFSET_PAGE_ID + 4) >= 2 ** 21) return 'page id out of range';
  return undefined;
}
