/**
 * Goal: a batch's reuse of the last descent's path (the hot key, batch.ts) never answers for a
 * stale path: gets and puts of one key, interleaved with inserts that split pages, deletes that
 * merge them, and value-size changes, always agree with a Map.
 * Method: tiny pages (many splits and merges), seeded random operation mixes biased towards
 * repeating the previous key, checked after every operation and after commit.
 */
import test from 'ava';
import { Random } from '../../../common/random.js';
import { EMPTY_ROOT, MemoryPageStore, Pager, check, makeDescriptor, openTree } from '../../../btree/index.js';

const hex = (b: Uint8Array | undefined): string | undefined => (b === undefined ? undefined : Buffer.from(b).toString('hex'));

for (const seed of [1, 2, 3, 4, 5, 6]) {
  test(`hot-key reuse agrees with a map (seed ${seed})`, (t) => {
    const pager = new Pager(new MemoryPageStore({ pageSizeBytes: 512 }));
    const tree = openTree(pager, makeDescriptor(), EMPTY_ROOT);
    const r = new Random(seed);
    const model = new Map<string, string>();
    let last = Buffer.from('k0');
    for (let round = 0; round < 6; round++) {
      const b = tree.begin();
      for (let i = 0; i < 400; i++) {
        const key = r.chance(0.5) ? last : Buffer.from(`k${r.range(0, 150)}-${'x'.repeat(r.range(0, 24))}`);
        last = key;
        const k = key.toString('hex');
        const roll = r.float();
        if (roll < 0.4) {
          t.is(hex(b.get(key)), model.get(k), `get round ${round} op ${i}`);
        } else if (roll < 0.85) {
          const value = r.bytes(r.range(0, 60));
          b.put(key, value);
          model.set(k, value.toString('hex'));
        } else {
          t.is(b.delete(key), model.delete(k), `delete round ${round} op ${i}`);
        }
        if (r.chance(0.3)) t.is(hex(b.get(key)), model.get(k), `re-get round ${round} op ${i}`);
      }
      const { version } = b.commit();
      t.deepEqual(check(tree).map((f) => `${f.location}: ${f.problem}`), []);
      t.is(version.count, model.size);
      for (const [k, v] of model) t.is(hex(version.get(Buffer.from(k, 'hex'))), v);
    }
  });
}
