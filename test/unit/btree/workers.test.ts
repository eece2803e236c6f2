/**
 * Goal: worker-thread readers scan pinned versions while the writer keeps committing, and each
 * reader sees exactly the version it pinned; pages are reclaimed (and reused) only when no
 * reader can reach them.
 *
 * Method: the writer commits random batches on a shared MemoryPageStore, records each
 * generation's scan digest and count in shared memory, then publishes the generation. Two
 * workers pin, scan and compare digests many times. The writer reclaims after every commit
 * (so pages are reused under the readers' feet unless the reader table protects them) and
 * stops when both workers are done.
 */
import test from 'ava';
import { Random } from '../../../common/random.js';
import {
  EMPTY_ROOT, MemoryPageStore, Pager, ReaderTable, Reclaimer, check, encodeTreeHeader, makeDescriptor,
  openTree, spawnReaderWorker, type SharedTreeHandle,
} from '../../../btree/index.js';
import { scanDigest } from './digest.js';

const GENERATIONS_MAX = 100_000;

test('worker readers see exactly the generation they pinned', async (t) => {
  const seed = Number(process.env['BTREE_SEED'] ?? 7);
  t.log(`seed ${seed}`);
  const r = new Random(seed);
  const store = new MemoryPageStore({ pageSizeBytes: 512, pageCountMax: 1 << 16 });
  const pager = new Pager(store);
  const table = ReaderTable.create(8, 4096);
  const reclaimer = new Reclaimer(pager, table);
  const tree = openTree(pager, makeDescriptor(), EMPTY_ROOT);
  const digests = new SharedArrayBuffer(GENERATIONS_MAX * 2 * 4);
  const digestArray = new Int32Array(digests);
  const countArray = new Int32Array(digests, GENERATIONS_MAX * 4);
  const publish = (generation: number): void => {
    const { digest, count } = scanDigest(tree.current);
    Atomics.store(digestArray, generation, digest);
    Atomics.store(countArray, generation, count);
    table.publish(generation, encodeTreeHeader(tree.descriptor, tree.current.root));
  };
  publish(0);
  const handle: SharedTreeHandle = { store: store.shareHandle(), readers: table.buffer };
  const workers = [0, 1].map(() => spawnReaderWorker(new URL('./reader-worker.ts', import.meta.url), {
    handle, digests, scans: 150,
  }));
  const results: { scans: number; mismatches: number; generations: number; problems: string[] }[] = [];
  const done = workers.map((w) => new Promise<void>((resolve, reject) => {
    w.once('message', (m) => { results.push(m); resolve(); });
    w.once('error', reject);
  }));
  let finished = false;
  void Promise.all(done).then(() => { finished = true; }, () => { finished = true; });
  let generation = 0;
  let reclaimed = 0;
  while (!finished && generation < GENERATIONS_MAX - 1) {
    const batch = tree.begin();
    for (let i = 0; i < 50; i++) {
      const key = Buffer.from(`key-${r.int(3000)}`);
      if (r.chance(0.6)) batch.put(key, r.bytes(r.int(40)));
      else batch.delete(key);
    }
    const result = batch.commit();
    generation++;
    reclaimer.retire(generation, result.freed);
    publish(generation);
    reclaimed += reclaimer.reclaim();
    if (generation % 20 === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  await Promise.all(done);
  await Promise.all(workers.map((w) => w.terminate()));
  t.log(`writer committed ${generation} generations, reclaimed ${reclaimed} pages; readers saw ${results.map((x) => x.generations).join(', ')} generations`);
  for (const res of results) {
    t.is(res.mismatches, 0, res.problems.join('; '));
    t.is(res.scans, 150);
  }
  t.true(reclaimed > 0);
  t.deepEqual(check(tree), []);
});
