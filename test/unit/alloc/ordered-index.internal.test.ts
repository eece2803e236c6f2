/**
 * Goal: the treap behind the free map keeps order, balance data and subtree maxima under random
 * inserts and removes. Method: seeded random operations against a sorted-array reference;
 * every query is compared, and checkStructure() must stay empty. Seeds are printed.
 */
import test from 'ava';
import { Random } from '../../../common/random.js';
import { NONE, OrderedIndex } from '../../../alloc/ordered-index.js';

interface Entry { a: number; b: number; v: number }

function cmp(x: Entry, a: number, b: number): number {
  return x.a !== a ? x.a - a : x.b - b;
}

function reference(entries: Entry[], a: number, b: number) {
  const sorted = [...entries].sort((x, y) => cmp(x, y.a, y.b));
  return {
    lower: sorted.find((e) => cmp(e, a, b) >= 0),
    floor: [...sorted].reverse().find((e) => cmp(e, a, b) <= 0),
    succ: sorted.find((e) => cmp(e, a, b) > 0),
    firstValue: (min: number) => sorted.find((e) => e.a >= a && e.v >= min),
  };
}

for (const seed of [1, 2, 3]) {
  test(`random operations match a sorted array (seed ${seed})`, (t) => {
    t.log(`seed ${seed}`);
    const random = new Random(seed);
    const index = new OrderedIndex(2);
    let entries: Entry[] = [];
    for (let step = 0; step < 1500; step++) {
      if (entries.length === 0 || random.chance(0.6)) {
        const e = { a: random.int(500), b: random.int(3), v: random.int(1000) };
        if (entries.some((x) => x.a === e.a && x.b === e.b)) continue;
        index.insert(e.a, e.b, e.v);
        entries.push(e);
      } else {
        const e = random.pick(entries);
        index.remove(e.a, e.b);
        entries = entries.filter((x) => x !== e);
      }
      const a = random.int(520);
      const b = random.int(3);
      const min = random.int(1000);
      const ref = reference(entries, a, b);
      const key = (id: number) => (id === NONE ? undefined : `${index.keyAOf(id)}/${index.keyBOf(id)}`);
      const refKey = (e: Entry | undefined) => (e === undefined ? undefined : `${e.a}/${e.b}`);
      t.is(key(index.lowerBound(a, b)), refKey(ref.lower));
      t.is(key(index.floor(a, b)), refKey(ref.floor));
      t.is(key(index.successor(a, b)), refKey(ref.succ));
      t.is(key(index.firstWithValueAtLeast(a, min)), refKey(ref.firstValue(min)));
      t.is(index.size, entries.length);
    }
    t.deepEqual(index.checkStructure(), []);
    t.is(index.maxValueAll(), Math.max(0, ...entries.map((e) => e.v)));
  });
}

test('forEach visits in key order and stops early', (t) => {
  const index = new OrderedIndex();
  for (const a of [5, 1, 9, 3, 7]) index.insert(a, 0, a * 10);
  const seen: number[] = [];
  index.forEach((a) => { seen.push(a); });
  t.deepEqual(seen, [1, 3, 5, 7, 9]);
  const firstTwo: number[] = [];
  index.forEach((a) => { firstTwo.push(a); return firstTwo.length < 2; });
  t.deepEqual(firstTwo, [1, 3]);
});

test('duplicate insert and absent remove are bugs (AssertionError)', (t) => {
  const index = new OrderedIndex();
  index.insert(1, 1, 1);
  t.throws(() => index.insert(1, 1, 2), { code: 'EASSERT' });
  t.throws(() => index.remove(2, 2), { code: 'EASSERT' });
});

test('loadSorted builds the same index as inserts, and rejects unsorted input', (t) => {
  const random = new Random(5);
  const keys = [...new Set(Array.from({ length: 2000 }, () => random.int(100_000)))].sort((x, y) => x - y);
  const loaded = new OrderedIndex();
  loaded.loadSorted(keys, keys.map(() => 0), keys.map((k) => k % 97));
  const inserted = new OrderedIndex();
  for (const k of keys) inserted.insert(k, 0, k % 97);
  t.deepEqual(loaded.checkStructure(), []);
  t.is(loaded.size, keys.length);
  for (let i = 0; i < 300; i++) {
    const a = random.int(100_000);
    const min = random.int(97);
    const at = (index: OrderedIndex, id: number) => (id === NONE ? -1 : index.keyAOf(id));
    t.is(at(loaded, loaded.firstWithValueAtLeast(a, min)), at(inserted, inserted.firstWithValueAtLeast(a, min)));
    t.is(at(loaded, loaded.floor(a, 0)), at(inserted, inserted.floor(a, 0)));
  }
  loaded.insert(-1, 0, 5);
  loaded.remove(keys[0]!, 0);
  t.deepEqual(loaded.checkStructure(), []);
  t.throws(() => new OrderedIndex().loadSorted([1, 0], [0, 0], [0, 0]), { code: 'EASSERT' });
});
