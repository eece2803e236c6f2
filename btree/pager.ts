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

export interface PagerOptions {
  /**
   * Most pages kept in the verified-page cache (default: unbounded). When a load would exceed
   * it the whole cache is dropped: every cached page can be read again from the store (and is
   * verified again), so eviction never affects correctness, only speed.
   */
  cachePagesMax?: number;
}

export class Pager {
  readonly store: PageStore;
  readonly pageSizeBytes: number;
  readonly limits: PageLimits;
  private cache: (Uint8Array | undefined)[] = [];
  /** owned[id] = 1 when cache[id] is a buffer this Pager wrote (reusable after a free). */
  private owned = new Uint8Array(0);
  /** Page buffers ready for reuse (only with a store that copies on write). */
  private readonly pool: Uint8Array[] = [];
  /** Pages loaded (verified) since creation, for tests and stats. */
  loadCount = 0;
  private cachedCount = 0;
  private readonly cachePagesMax: number;

  constructor(store: PageStore, options: PagerOptions = {}) {
    this.store = store;
    this.pageSizeBytes = store.pageSizeBytes;
    this.limits = pageLimits(store.pageSizeBytes);
    this.cachePagesMax = options.cachePagesMax ?? Infinity;
    if (!(this.cachePagesMax >= 1)) throw new EbofsError('EINVAL', `cachePagesMax ${options.cachePagesMax} is invalid`);
  }

  /** The verified bytes of page `id`. Never modify them. */
  read(id: PageId): Uint8Array {
    const cached = this.cache[id];
    if (cached !== undefined) return cached;
    return this.load(id);
  }

  allocate(): PageId {
    const id = this.store.allocate();
    assert(Number.isSafeInteger(id) && id > 0, `store allocated bad page id ${id}`);
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
    assert(readId(page, OFFSET_PAGE_ID) === id, `page ${id} carries id ${readId(page, OFFSET_PAGE_ID)}`);
    sealPage(page);
    this.store.write(id, page);
    this.forget(id);
    if (!keep) {
      if (this.store.copiesOnWrite === true && this.pool.length < PAGE_POOL_COUNT_MAX) this.pool.push(page);
      return;
    }
    this.remember(id, page);
    if (this.store.copiesOnWrite === true) this.markOwned(id);
  }

  /**
   * Frees `id` in the store. Only the owner calls this, once no version reaches the page, so
   * a buffer this Pager wrote for it can be reused for a new page.
   */
  free(id: PageId): void {
    const cached = id < this.cache.length ? this.cache[id] : undefined;
    if (cached !== undefined && id < this.owned.length && this.owned[id] === 1 &&
        this.pool.length < PAGE_POOL_COUNT_MAX) {
      this.pool.push(cached);
    }
    this.forget(id);
    this.store.free(id);
  }

  private forget(id: PageId): void {
    if (id < this.cache.length && this.cache[id] !== undefined) {
      this.cache[id] = undefined;
      this.cachedCount--;
    }
    if (id < this.owned.length) this.owned[id] = 0;
  }

  /** Caches a verified page, dropping the whole cache first when it is full. */
  private remember(id: PageId, page: Uint8Array): void {
    if (this.cachedCount >= this.cachePagesMax) this.resetCache();
    // Keep the cache array dense (packed elements): filling up to `id` avoids V8's slow
    // dictionary mode for sparse arrays.
    const cache = this.cache;
    while (cache.length <= id) cache.push(undefined);
    if (cache[id] === undefined) this.cachedCount++;
    cache[id] = page;
  }

  /** Pages currently cached. */
  get cachedPageCount(): number {
    return this.cachedCount;
  }

  private markOwned(id: PageId): void {
    if (id >= this.owned.length) {
      const grown = new Uint8Array(Math.max(id + 1, this.owned.length * 2, 1024));
      grown.set(this.owned);
      this.owned = grown;
    }
    this.owned[id] = 1;
  }

  /** Forgets every cached page (a reader that pins a newer generation calls this). */
  resetCache(): void {
    this.cache = [];
    this.owned = new Uint8Array(0);
    this.cachedCount = 0;
  }

  private load(id: PageId): Uint8Array {
    const page = this.store.read(id);
    verifyPage(page, id, this.pageSizeBytes);
    this.loadCount++;
    this.remember(id, page);
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
