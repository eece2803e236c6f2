/**
 * `npm run bench -- btree [--quick]`: the btree layer against lmdb-js (noSync) and a JS Map, in
 * the same process, interleaved round by round.
 *
 * Data: N keys of 16–32 random bytes (seeded), 100-byte values; N = 1,000,000 (50,000 with
 * --quick). Workloads, each measured in entries per second:
 * - bulk load: sorted input into an empty tree / environment / Map;
 * - random put: updates and inserts in batches of 1,000 per version (one commit / transaction);
 * - random get: existing keys in random order (values copied out);
 * - ordered scan: every entry in key order (ebofs: a cursor with zero-copy views, and the
 *   copying range iterator; lmdb: getRange; Map: unordered iteration, for scale only);
 * - random get in 1 and 2 worker threads reading a published version of the ebofs tree
 *   (aggregate rate), and lmdb-js opened in the same number of workers.
 * Ratio rows compare ebofs with lmdb. Inputs (keys, values, sorted pairs) are built before
 * any timed region, so every system is timed on the same prepared data.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { open, type RootDatabase } from 'lmdb';
import { Random } from '../common/random.js';
import {
  EMPTY_ROOT, MemoryPageStore, Pager, ReaderTable, Reclaimer, encodeTreeHeader, makeDescriptor, openTree,
  spawnReaderWorker, type Tree,
} from '../btree/index.js';
import { type Bench, type BenchContext, type BenchRow, interleave, nowMs, ratioRows, summarise } from './harness.js';
import { type GetWorkerData, type GetWorkerResult } from './btree-worker.js';

const VALUE_SIZE_BYTES = 100;
const PUT_BATCH_SIZE = 1000;

interface Data {
  keys: Buffer[];
  sorted: Buffer[];
  value: Buffer;
  /** values[i] belongs to sorted[i]; built once, outside every timed region. */
  values: Buffer[];
  /** The same pairs in the tuple form bulkLoad takes. */
  pairs: (readonly [Buffer, Buffer])[];
  order: Uint32Array;
  keyBuffer: SharedArrayBuffer;
  keyOffsets: SharedArrayBuffer;
}

function makeData(count: number, seed: number): Data {
  const r = new Random(seed);
  const seen = new Set<string>();
  const keys: Buffer[] = [];
  while (keys.length < count) {
    const key = r.bytes(16 + r.int(17));
    const text = key.toString('latin1');
    if (seen.has(text)) continue;
    seen.add(text);
    keys.push(key);
  }
  const sorted = keys.slice().sort(Buffer.compare);
  const order = new Uint32Array(count);
  for (let i = 0; i < count; i++) order[i] = i;
  r.shuffle(order as unknown as number[]);
  let total = 0;
  for (const k of keys) total += k.length;
  const keyBuffer = new SharedArrayBuffer(total);
  const keyOffsets = new SharedArrayBuffer((count + 1) * 4);
  const bytes = new Uint8Array(keyBuffer);
  const offsets = new Uint32Array(keyOffsets);
  let at = 0;
  for (let i = 0; i < count; i++) {
    offsets[i] = at;
    bytes.set(keys[i]!, at);
    at += keys[i]!.length;
  }
  offsets[count] = at;
  const value = r.bytes(VALUE_SIZE_BYTES);
  const values = sorted.map((_, i) => valueFor(value, i));
  const pairs = sorted.map((k, i) => [k, values[i]!] as const);
  return { keys, sorted, value, values, pairs, order, keyBuffer, keyOffsets };
}

function valueFor(base: Buffer, i: number): Buffer {
  const v = Buffer.from(base);
  v.writeUInt32LE(i >>> 0, 0);
  return v;
}

/** An ebofs tree loaded with all keys. */
function loadEbofs(data: Data): { tree: Tree; store: MemoryPageStore; pager: Pager } {
  const store = new MemoryPageStore({ pageSizeBytes: 4096, pageCountMax: 1 << 20 });
  const pager = new Pager(store);
  const tree = openTree(pager, makeDescriptor({ value: { kind: 'variable', prefixBytes: 1 } }), EMPTY_ROOT);
  tree.bulkLoad(data.pairs);
  return { tree, store, pager };
}

function openLmdb(dir: string): RootDatabase<Buffer, Buffer> {
  mkdirSync(dir, { recursive: true });
  return open<Buffer, Buffer>({
    path: dir, noSync: true, keyEncoding: 'binary', encoding: 'binary', mapSize: 8 * 1024 ** 3,
  });
}

async function loadLmdb(dir: string, data: Data): Promise<RootDatabase<Buffer, Buffer>> {
  const db = openLmdb(dir);
  db.transactionSync(() => {
    for (let i = 0; i < data.sorted.length; i++) db.putSync(data.sorted[i]!, data.values[i]!);
  });
  return db;
}

async function bulkLoad(ctx: BenchContext, data: Data, rounds: number): Promise<BenchRow[]> {
  const n = data.sorted.length;
  let lmdbRun = 0;
  return interleave('bulk load', [
    { system: 'ebofs', round: async () => {
      const t0 = nowMs();
      loadEbofs(data);
      return { 'entries/s': n / ((nowMs() - t0) / 1000) };
    } },
    { system: 'lmdb', round: async () => {
      const dir = join(ctx.scratchDir, `bulk-${lmdbRun++}`);
      const t0 = nowMs();
      const db = await loadLmdb(dir, data);
      const rate = n / ((nowMs() - t0) / 1000);
      await db.close();
      rmSync(dir, { recursive: true, force: true });
      return { 'entries/s': rate };
    } },
    { system: 'Map', round: async () => {
      const t0 = nowMs();
      const map = new Map<string, Buffer>();
      for (let i = 0; i < n; i++) map.set(data.sorted[i]!.toString('latin1'), data.values[i]!);
      return { 'entries/s': n / ((nowMs() - t0) / 1000) };
    } },
  ], rounds, { 'entries/s': 'entries/s' });
}

interface Loaded {
  ebofs: { tree: Tree; store: MemoryPageStore; pager: Pager };
  lmdb: RootDatabase<Buffer, Buffer>;
  lmdbDir: string;
  map: Map<string, Buffer>;
}

async function loadAll(ctx: BenchContext, data: Data): Promise<Loaded> {
  const lmdbDir = join(ctx.scratchDir, 'main');
  const map = new Map<string, Buffer>();
  for (let i = 0; i < data.sorted.length; i++) map.set(data.sorted[i]!.toString('latin1'), data.values[i]!);
  return { ebofs: loadEbofs(data), lmdb: await loadLmdb(lmdbDir, data), lmdbDir, map };
}

async function randomPut(loaded: Loaded, data: Data, putCount: number, rounds: number): Promise<BenchRow[]> {
  const r = new Random(11);
  const newKeys = Array.from({ length: putCount }, () => r.bytes(16 + r.int(17)));
  const pick = (round: number, i: number): Buffer =>
    (i & 1) === 0 ? data.keys[data.order[(round * putCount + i) % data.keys.length]!]! : newKeys[i]!;
  const reclaimer = new Reclaimer(loaded.ebofs.pager);
  let generation = 0;
  const rounds3 = [0, 0, 0];
  return interleave('random put (1,000 per version)', [
    { system: 'ebofs', round: async () => {
      const round = rounds3[0]!++;
      const tree = loaded.ebofs.tree;
      const t0 = nowMs();
      for (let i = 0; i < putCount; i += PUT_BATCH_SIZE) {
        const batch = tree.begin();
        for (let j = i; j < i + PUT_BATCH_SIZE && j < putCount; j++) batch.put(pick(round, j), valueFor(data.value, j + round));
        const result = batch.commit();
        reclaimer.retire(++generation, result.freed);
        reclaimer.reclaim();
      }
      return { 'entries/s': putCount / ((nowMs() - t0) / 1000) };
    } },
    { system: 'lmdb', round: async () => {
      const round = rounds3[1]!++;
      const db = loaded.lmdb;
      const t0 = nowMs();
      for (let i = 0; i < putCount; i += PUT_BATCH_SIZE) {
        db.transactionSync(() => {
          for (let j = i; j < i + PUT_BATCH_SIZE && j < putCount; j++) db.putSync(pick(round, j), valueFor(data.value, j + round));
        });
      }
      return { 'entries/s': putCount / ((nowMs() - t0) / 1000) };
    } },
    { system: 'Map', round: async () => {
      const round = rounds3[2]!++;
      const t0 = nowMs();
      for (let j = 0; j < putCount; j++) loaded.map.set(pick(round, j).toString('latin1'), valueFor(data.value, j + round));
      return { 'entries/s': putCount / ((nowMs() - t0) / 1000) };
    } },
  ], rounds, { 'entries/s': 'entries/s' });
}

async function randomGet(loaded: Loaded, data: Data, getCount: number, rounds: number): Promise<BenchRow[]> {
  const n = data.keys.length;
  let sink = 0;
  const rows = await interleave('random get', [
    { system: 'ebofs', round: async () => {
      const version = loaded.ebofs.tree.current;
      const t0 = nowMs();
      for (let i = 0; i < getCount; i++) sink += version.get(data.keys[data.order[i % n]!]!)!.length;
      return { 'entries/s': getCount / ((nowMs() - t0) / 1000) };
    } },
    { system: 'lmdb', round: async () => {
      const db = loaded.lmdb;
      const t0 = nowMs();
      for (let i = 0; i < getCount; i++) sink += db.get(data.keys[data.order[i % n]!]!)!.length;
      return { 'entries/s': getCount / ((nowMs() - t0) / 1000) };
    } },
    { system: 'Map', round: async () => {
      const t0 = nowMs();
      for (let i = 0; i < getCount; i++) sink += loaded.map.get(data.keys[data.order[i % n]!]!.toString('latin1'))!.length;
      return { 'entries/s': getCount / ((nowMs() - t0) / 1000) };
    } },
  ], rounds, { 'entries/s': 'entries/s' });
  if (sink === 0) throw new Error('benchmark produced nothing');
  return rows;
}

async function orderedScan(loaded: Loaded, rounds: number): Promise<BenchRow[]> {
  let sink = 0;
  const rows = await interleave('ordered scan', [
    { system: 'ebofs', round: async () => {
      const cursor = loaded.ebofs.tree.current.cursor();
      const t0 = nowMs();
      let n = 0;
      for (let ok = cursor.first(); ok; ok = cursor.next()) {
        sink += cursor.keyView().length + cursor.valueView().length;
        n++;
      }
      return { 'entries/s': n / ((nowMs() - t0) / 1000) };
    } },
    { system: 'ebofs-copying', round: async () => {
      const t0 = nowMs();
      let n = 0;
      for (const e of loaded.ebofs.tree.current.range()) {
        sink += e.key.length + e.value.length;
        n++;
      }
      return { 'entries/s': n / ((nowMs() - t0) / 1000) };
    } },
    { system: 'lmdb', round: async () => {
      const t0 = nowMs();
      let n = 0;
      for (const e of loaded.lmdb.getRange({})) {
        sink += e.key.length + e.value.length;
        n++;
      }
      return { 'entries/s': n / ((nowMs() - t0) / 1000) };
    } },
    { system: 'Map', round: async () => {
      const t0 = nowMs();
      let n = 0;
      for (const [k, v] of loaded.map) {
        sink += k.length + v.length;
        n++;
      }
      return { 'entries/s': n / ((nowMs() - t0) / 1000) };
    } },
  ], rounds, { 'entries/s': 'entries/s' });
  if (sink === 0) throw new Error('benchmark produced nothing');
  return rows;
}

async function runWorkers(count: number, input: GetWorkerData): Promise<number> {
  const workers = Array.from({ length: count }, (_, i) =>
    spawnReaderWorker(new URL('./btree-worker.ts', import.meta.url), { ...input, seed: input.seed + i }));
  const results = await Promise.all(workers.map((w) => new Promise<GetWorkerResult>((resolve, reject) => {
    w.once('message', resolve);
    w.once('error', reject);
  })));
  await Promise.all(workers.map((w) => w.terminate()));
  const total = results.reduce((sum, r) => sum + r.gets, 0);
  const slowest = Math.max(...results.map((r) => r.elapsedMs));
  return total / (slowest / 1000);
}

async function workerGets(loaded: Loaded, data: Data, getCount: number, rounds: number): Promise<BenchRow[]> {
  const table = ReaderTable.create(8, 4096);
  const tree = loaded.ebofs.tree;
  table.publish(1, encodeTreeHeader(tree.descriptor, tree.current.root));
  const base = {
    keyBuffer: data.keyBuffer, keyOffsets: data.keyOffsets, gets: getCount,
    handle: { store: loaded.ebofs.store.shareHandle(), readers: table.buffer }, lmdbDir: loaded.lmdbDir,
  };
  const rows: BenchRow[] = [];
  for (const threads of [1, 2]) {
    rows.push(...await interleave(`random get, ${threads} worker${threads > 1 ? 's' : ''}`, [
      { system: 'ebofs', round: async () => ({ 'entries/s': await runWorkers(threads, { ...base, system: 'ebofs', seed: 1 }) }) },
      { system: 'lmdb', round: async () => ({ 'entries/s': await runWorkers(threads, { ...base, system: 'lmdb', seed: 1 }) }) },
    ], rounds, { 'entries/s': 'entries/s' }));
  }
  return rows;
}

const bench: Bench = {
  describe: 'btree vs lmdb-js (noSync) and Map: bulk load, random put (1,000 per version), random get, ordered scan, worker readers',
  async run(ctx: BenchContext): Promise<BenchRow[]> {
    const keyCount = ctx.quick ? 50_000 : 1_000_000;
    const rounds = ctx.quick ? 3 : 5;
    ctx.log(`generating ${keyCount} keys`);
    const data = makeData(keyCount, 42);
    const rows: BenchRow[] = [];
    ctx.log('bulk load');
    rows.push(...await bulkLoad(ctx, data, 5));
    ctx.log('loading all systems');
    const loaded = await loadAll(ctx, data);
    ctx.log('random get');
    rows.push(...await randomGet(loaded, data, keyCount, rounds));
    ctx.log('ordered scan');
    rows.push(...await orderedScan(loaded, rounds));
    ctx.log('worker readers');
    rows.push(...await workerGets(loaded, data, keyCount, 3));
    ctx.log('random put');
    rows.push(...await randomPut(loaded, data, ctx.quick ? 20_000 : 100_000, rounds));
    await loaded.lmdb.close();
    rows.push(summarise('pages', 'ebofs', 'allocated pages after the run', 'pages', [loaded.ebofs.store.allocatedPageCount]));
    return [...rows, ...ratioRows(rows, 'ebofs', 'lmdb'), ...ratioRows(rows.map((r) =>
      r.system === 'ebofs-copying' ? { ...r, system: 'ebofs-copying' } : r), 'ebofs-copying', 'lmdb')];
  },
};
export default bench;

