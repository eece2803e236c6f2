/**
 * Goal: the Pager's verified-page cache is bounded, evicts one page at a time (segmented LRU),
 * keeps pages used twice through a scan, and never serves stale bytes or hands out a buffer
 * someone may still read.
 *
 * Method: pages carry a tag (a u32 in their free space) and the stores count their reads.
 * Scenario tests count store reads for working sets smaller than, equal to and larger than
 * the cache, and for a tree slightly bigger than its cache. A model test runs seeded random
 * loads, writes (kept or not), frees (through the Pager or behind its back), reallocations
 * and resets against a Map of expected tags, on a copying store (buffers pooled), on a store
 * that keeps the written buffers, and on one whose ids are far above 2^32, for several cache
 * sizes; after every step the cache must be within its bound, have evicted at most one page
 * and pass checkCache(). PAGER_SEED=n replays one seed.
 */
import test from 'ava';
import { assertNever } from '../../../common/assert.js';
import { isErrorCode } from '../../../common/errors.js';
import { Random } from '../../../common/random.js';
import {
  EMPTY_ROOT, MemoryPageStore, Pager, makeDescriptor, openTree, type PageId, type PageStore,
} from '../../../btree/index.js';
import { KIND_LEAF, PAGE_HEADER_SIZE_BYTES, readU32, writeU32 } from '../../../btree/format.js';
import { initPage } from '../../../btree/page.js';
import { PROTECTED_PERCENT } from '../../../btree/pager.js';

const PAGE_SIZE_BYTES = 512;
/** The tag lives in the free space right after the (empty) slot array. */
const OFFSET_TAG = PAGE_HEADER_SIZE_BYTES;

/** Forwards to another store and counts reads. */
class CountingStore implements PageStore {
  readonly pageSizeBytes: number;
  readonly copiesOnWrite: boolean | undefined;
  readCount = 0;

  constructor(readonly inner: PageStore) {
    this.pageSizeBytes = inner.pageSizeBytes;
    this.copiesOnWrite = inner.copiesOnWrite;
  }

  read(id: PageId): Uint8Array {
    this.readCount++;
    return this.inner.read(id);
  }

  allocate(): PageId {
    return this.inner.allocate();
  }

  write(id: PageId, page: Uint8Array): void {
    this.inner.write(id, page);
  }

  free(id: PageId): void {
    this.inner.free(id);
  }
}

/**
 * A store like the device-backed one: `write` keeps the caller's buffer (no copiesOnWrite),
 * `read` returns a fresh copy (as a device read would). Ids are reused last-freed first; the
 * n-th new id is `idOf(n)` (sparse ids far above 2^32 test the cache's hashing).
 */
class KeepingStore implements PageStore {
  readonly pageSizeBytes = PAGE_SIZE_BYTES;
  private readonly pages = new Map<number, Uint8Array | null>();
  private readonly freeIds: number[] = [];
  private newCount = 0;

  constructor(private readonly idOf: (n: number) => number = (n) => n) {}

  read(id: PageId): Uint8Array {
    const page = this.pages.get(id);
    if (page === undefined || page === null) throw new Error(`read of page ${id} that holds nothing`);
    return Uint8Array.from(page);
  }

  allocate(): PageId {
    const id = this.freeIds.pop() ?? this.idOf(++this.newCount);
    this.pages.set(id, null);
    return id as PageId;
  }

  write(id: PageId, page: Uint8Array): void {
    if (!this.pages.has(id)) throw new Error(`write of page ${id} that is not allocated`);
    this.pages.set(id, page);
  }

  free(id: PageId): void {
    if (!this.pages.delete(id)) throw new Error(`free of page ${id} that is not allocated`);
    this.freeIds.push(id);
  }
}

function tagOf(page: Uint8Array): number {
  return readU32(page, OFFSET_TAG);
}

/** Allocates a page through `pager`, tags it and writes it; returns its id. */
function writeTagged(pager: Pager, tag: number, keep: boolean): PageId {
  const id = pager.allocate();
  const page = pager.pageBuffer(id);
  initPage(page, KIND_LEAF, 0, id);
  writeU32(page, OFFSET_TAG, tag);
  pager.write(id, page, keep);
  return id;
}

/** A copying store behind a counting one, a Pager over it, and `count` uncached pages. */
function setup(cachePagesMax: number, count: number) {
  const store = new CountingStore(new MemoryPageStore({ pageSizeBytes: PAGE_SIZE_BYTES }));
  const pager = new Pager(store, { cachePagesMax });
  const ids = Array.from({ length: count }, (_, i) => writeTagged(pager, i + 1, false));
  return { store, pager, ids };
}

test('a working set no bigger than the cache is read from the store once', (t) => {
  for (const [cachePagesMax, workingSet] of [[64, 50], [64, 64], [1, 1]] as const) {
    const { store, pager, ids } = setup(cachePagesMax, workingSet);
    const r = new Random(1);
    for (const id of ids) t.is(tagOf(pager.read(id)), ids.indexOf(id) + 1);
    t.is(store.readCount, workingSet);
    for (let i = 0; i < 5000; i++) {
      const at = r.int(workingSet);
      t.is(tagOf(pager.read(ids[at]!)), at + 1);
    }
    t.is(store.readCount, workingSet, `cache ${cachePagesMax}, working set ${workingSet}`);
    const stats = pager.cacheStats();
    t.deepEqual(stats, {
      cachePagesMax, cachedPageCount: workingSet, protectedPageCount: stats.protectedPageCount,
      hitCount: 5000, loadCount: workingSet, evictionCount: 0,
    });
    t.true(stats.protectedPageCount <= Math.floor(cachePagesMax * PROTECTED_PERCENT / 100));
    pager.checkCache();
  }
});

test('a loop over more pages than the cache evicts one page per miss, never the whole cache', (t) => {
  const cachePagesMax = 64;
  const { store, pager, ids } = setup(cachePagesMax, 80);
  let reads = 0;
  for (let round = 0; round < 5; round++) {
    for (const id of ids) {
      pager.read(id);
      reads++;
      t.is(pager.cachedPageCount, Math.min(reads, cachePagesMax));
    }
  }
  // No policy keeps a loop longer than the cache: every read misses, and each miss past the
  // first 64 evicts exactly one page.
  t.is(store.readCount, reads);
  t.is(pager.cacheStats().evictionCount, reads - cachePagesMax);
  pager.checkCache();
});

test('pages used twice survive a scan of more pages than the cache', (t) => {
  const cachePagesMax = 100;
  const { store, pager, ids } = setup(cachePagesMax, 1100);
  const hot = ids.slice(0, 20);
  for (let i = 0; i < 2; i++) for (const id of hot) pager.read(id);
  t.is(pager.cacheStats().protectedPageCount, hot.length);
  for (const id of ids.slice(hot.length)) pager.read(id);
  t.is(pager.cachedPageCount, cachePagesMax);
  const before = store.readCount;
  for (const id of hot) t.is(tagOf(pager.read(id)), ids.indexOf(id) + 1);
  t.is(store.readCount, before, 'a hot page was evicted by the scan');
  // Once protected is full, its least recently used pages go back to probation (and can then
  // be evicted), so the protected share is a bound, not a reservation.
  const protectedMax = cachePagesMax * PROTECTED_PERCENT / 100;
  for (let i = 0; i < 2; i++) for (const id of ids.slice(200, 200 + protectedMax - hot.length)) pager.read(id);
  t.is(pager.cacheStats().protectedPageCount, protectedMax);
  for (let i = 0; i < 2; i++) for (const id of ids.slice(300, 310)) pager.read(id);
  t.is(pager.cacheStats().protectedPageCount, protectedMax);
  t.is(pager.cachedPageCount, cachePagesMax);
  pager.checkCache();
});

test('a tree slightly bigger than its cache keeps most lookups in memory', (t) => {
  const inner = new MemoryPageStore({ pageSizeBytes: PAGE_SIZE_BYTES });
  const store = new CountingStore(inner);
  const r = new Random(7);
  const keys = Array.from({ length: 20_000 }, (_, i) => Buffer.from(`key-${String(i).padStart(8, '0')}`));
  const loader = openTree(new Pager(store), makeDescriptor(), EMPTY_ROOT);
  const { root } = loader.bulkLoad(keys.map((k) => [k, k] as const));
  const pageCount = inner.allocatedPageCount;
  const cachePagesMax = Math.floor(pageCount * 0.9);
  const pager = new Pager(store, { cachePagesMax });
  const tree = openTree(pager, makeDescriptor(), root);
  const gets = 20_000;
  for (let round = 0; round < 2; round++) {
    const before = store.readCount;
    for (let i = 0; i < gets; i++) {
      const key = keys[r.int(keys.length)]!;
      t.deepEqual(Buffer.from(tree.current.get(key)!), key);
    }
    const loads = store.readCount - before;
    t.log(`round ${round}: ${pageCount} pages, cache ${cachePagesMax}: ${loads} store reads for ${gets} gets`);
    t.true(pager.cachedPageCount <= cachePagesMax);
    // Dropping the whole cache when full made this about 0.4 reads per get; an LRU misses
    // only on the ~10% of leaves it cannot hold (and never on the upper levels).
    if (round === 1) t.true(loads > 0 && loads < gets * 0.15, `${loads} store reads for ${gets} gets`);
  }
  pager.checkCache();
});

test('resetCache forgets every page and keeps the counters', (t) => {
  const { store, pager, ids } = setup(16, 10);
  for (const id of ids) pager.read(id);
  for (const id of ids) pager.read(id);
  pager.resetCache();
  t.is(pager.cachedPageCount, 0);
  pager.checkCache();
  for (const id of ids) t.is(tagOf(pager.read(id)), ids.indexOf(id) + 1);
  t.is(store.readCount, 20);
  t.like(pager.cacheStats(), { hitCount: 10, loadCount: 20, evictionCount: 0, cachedPageCount: 10 });
});

test('cachePagesMax must be a positive integer or Infinity', (t) => {
  const store = new MemoryPageStore({ pageSizeBytes: PAGE_SIZE_BYTES });
  for (const bad of [0, -1, 1.5, Number.NaN]) {
    t.true(isErrorCode(t.throws(() => new Pager(store, { cachePagesMax: bad })), 'EINVAL'), String(bad));
  }
  t.notThrows(() => new Pager(store, { cachePagesMax: Infinity }));
  t.notThrows(() => new Pager(store, { cachePagesMax: 2 ** 40 }));
});

type StoreKind = 'copying' | 'keeping' | 'huge ids';

interface ModelRun {
  readonly seed: number;
  readonly cachePagesMax: number;
  readonly storeKind: StoreKind;
  readonly steps: number;
}

function makeStore(kind: StoreKind): PageStore {
  switch (kind) {
    case 'copying': return new MemoryPageStore({ pageSizeBytes: PAGE_SIZE_BYTES });
    case 'keeping': return new KeepingStore();
    // Every id has the same low 32 bits, and ids reach 2^50.
    case 'huge ids': return new KeepingStore((n) => n * 2 ** 32 + 7 + (n % 3) * 2 ** 48);
    default: return assertNever(kind, 'store kind');
  }
}

/** Expected tags by live id, and the buffers read (or written) for them that must stay intact. */
interface Model {
  readonly tags: Map<number, number>;
  readonly held: Map<number, Uint8Array[]>;
}

/** One random step; returns a problem or undefined. */
function modelStep(r: Random, pager: Pager, store: PageStore, model: Model, liveTarget: number): string | undefined {
  const live = [...model.tags.keys()];
  const roll = r.float();
  if (live.length > 0 && roll < 0.55) {
    // Reads favour the oldest quarter of the live pages, so both hits and evictions happen.
    const id = r.chance(0.6) ? live[r.int(Math.max(1, live.length >> 2))]! : r.pick(live);
    const page = pager.read(id as PageId);
    if (tagOf(page) !== model.tags.get(id)) return `read of ${id}: tag ${tagOf(page)}, want ${model.tags.get(id)}`;
    const held = model.held.get(id)!;
    if (held.length < 4) held.push(page);
    return undefined;
  }
  if ((roll < 0.8 && live.length < liveTarget * 2) || live.length === 0) {
    const id = pager.allocate();
    const page = pager.pageBuffer(id);
    for (const buffers of model.held.values()) {
      if (buffers.includes(page)) return `pageBuffer(${id}) handed out a buffer still in use`;
    }
    const tag = r.u32();
    initPage(page, KIND_LEAF, 0, id);
    writeU32(page, OFFSET_TAG, tag);
    const keep = r.chance(0.7);
    pager.write(id, page, keep);
    model.tags.set(id, tag);
    // A kept buffer is the cached copy; an unkept one may be pooled at once (copying store).
    model.held.set(id, keep || store.copiesOnWrite !== true ? [page] : []);
    return undefined;
  }
  if (roll < 0.97 || live.length < liveTarget) {
    const id = r.pick(live);
    // Mostly through the Pager; sometimes behind its back (then allocate must forget the id).
    if (r.chance(0.9)) pager.free(id as PageId);
    else store.free(id as PageId);
    model.tags.delete(id);
    model.held.delete(id);
    return undefined;
  }
  pager.resetCache();
  return undefined;
}

function checkHeld(model: Model): string | undefined {
  for (const [id, buffers] of model.held) {
    for (const page of buffers) {
      if (tagOf(page) !== model.tags.get(id)) return `a held buffer of page ${id} was overwritten`;
    }
  }
  return undefined;
}

function runModel(run: ModelRun): string | undefined {
  const r = new Random(run.seed);
  const store = makeStore(run.storeKind);
  const pager = new Pager(store, { cachePagesMax: run.cachePagesMax });
  const model: Model = { tags: new Map(), held: new Map() };
  const liveTarget = Number.isFinite(run.cachePagesMax) ? run.cachePagesMax * 2 + 3 : 60;
  let reads = 0;
  for (let step = 0; step < run.steps; step++) {
    const before = pager.cacheStats();
    const problem = modelStep(r, pager, store, model, liveTarget) ?? checkHeld(model);
    if (problem !== undefined) return `step ${step}: ${problem}`;
    const after = pager.cacheStats();
    reads += after.hitCount + after.loadCount - before.hitCount - before.loadCount;
    if (after.cachedPageCount > run.cachePagesMax) return `step ${step}: ${after.cachedPageCount} pages cached`;
    if (after.evictionCount - before.evictionCount > 1) return `step ${step}: evicted more than one page`;
    pager.checkCache();
  }
  for (const [id, tag] of model.tags) {
    if (tagOf(pager.read(id as PageId)) !== tag) return `final read of ${id} is stale`;
    reads++;
  }
  const stats = pager.cacheStats();
  if (stats.hitCount + stats.loadCount !== reads) return `hits + loads = ${stats.hitCount + stats.loadCount}, reads ${reads}`;
  return undefined;
}

test('model: seeded loads, writes, frees and resets never see stale bytes or break the bound', (t) => {
  const seeds = process.env['PAGER_SEED'] !== undefined ? [Number(process.env['PAGER_SEED'])] : [1, 2, 3];
  let runs = 0;
  for (const seed of seeds) {
    for (const cachePagesMax of [1, 2, 7, 64, Infinity]) {
      for (const storeKind of ['copying', 'keeping', 'huge ids'] as const) {
        const run = { seed, cachePagesMax, storeKind, steps: 3000 };
        let problem: string | undefined;
        try {
          problem = runModel(run);
        } catch (err) {
          problem = `threw ${(err as Error).stack ?? String(err)}`;
        }
        if (problem !== undefined) {
          t.fail(`seed ${seed} (replay: PAGER_SEED=${seed}), cache ${cachePagesMax}, ` +
            `${storeKind} store: ${problem}`);
          return;
        }
        runs++;
      }
    }
  }
  t.log(`seeds ${seeds.join(', ')}: ${runs} runs clean`);
  t.pass();
});
