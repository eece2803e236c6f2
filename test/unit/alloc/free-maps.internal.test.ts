/**
 * Goal: the two free-map forms (extents, bitmap) answer every query identically, so switching
 * form never changes a placement. Method: the same seeded random inserts and takes on both,
 * comparing every query and both structure checks against each other. Seeds are printed.
 */
import test from 'ava';
import { Random } from '../../../common/random.js';
import { BitmapMap } from '../../../alloc/bitmap-map.js';
import { ExtentMap } from '../../../alloc/extent-map.js';
import type { FreeMap } from '../../../alloc/free-map.js';

function runs(map: FreeMap): string {
  const out: string[] = [];
  map.forEach((start, length) => { out.push(`${start}+${length}`); });
  return out.join(',');
}

/** A random used range (a sub-range of a gap between free runs), or null. */
function usedRange(map: FreeMap, unitCount: number, random: Random): [number, number] | null {
  const gaps: Array<[number, number]> = [];
  let position = 0;
  map.forEach((start, length) => {
    if (start > position) gaps.push([position, start - position]);
    position = start + length;
  });
  if (position < unitCount) gaps.push([position, unitCount - position]);
  if (gaps.length === 0) return null;
  const [start, length] = random.pick(gaps);
  const from = start + random.int(length);
  return [from, random.range(1, start + length - from)];
}

for (const [seed, unitCount, stripeUnits] of [[1, 5000, 1], [2, 4099, 8], [3, 70000, 48], [4, 300, 3]] as const) {
  test(`extent and bitmap forms agree (seed ${seed}, ${unitCount} units, stripe ${stripeUnits})`, (t) => {
    t.log(`seed ${seed}`);
    const random = new Random(seed);
    const maps: FreeMap[] = [new ExtentMap(unitCount, stripeUnits), new BitmapMap(unitCount, stripeUnits)];
    for (const m of maps) m.insert(0, unitCount);
    for (let step = 0; step < 600; step++) {
      const [a, b] = maps as [FreeMap, FreeMap];
      if (random.chance(0.55) && a.runCount > 0) {
        const run = random.pick(collect(a));
        const start = run[0] + random.int(run[1]);
        const length = random.range(1, run[0] + run[1] - start);
        for (const m of maps) m.take(start, length);
      } else {
        const range = usedRange(a, unitCount, random);
        if (range !== null) for (const m of maps) m.insert(range[0], range[1]);
      }
      const from = random.int(unitCount);
      const length = random.range(1, 64);
      t.is(b.freeUnits, a.freeUnits);
      t.is(b.runCount, a.runCount);
      t.is(b.fullStripeCount, a.fullStripeCount);
      t.is(b.firstFit(from, length), a.firstFit(from, length));
      t.deepEqual(b.bestFit(length), a.bestFit(length));
      t.deepEqual(b.largest(), a.largest());
      t.deepEqual(b.runAt(from), a.runAt(from));
      t.is(b.overlaps(from, length), a.overlaps(from, length));
    }
    t.is(runs(maps[1]!), runs(maps[0]!));
    t.deepEqual(maps[0]!.checkStructure(), []);
    t.deepEqual(maps[1]!.checkStructure(), []);
  });
}

function collect(map: FreeMap): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  map.forEach((start, length) => { out.push([start, length]); });
  return out;
}

test('inserting over free space and taking used space are bugs', (t) => {
  for (const map of [new ExtentMap(100, 4), new BitmapMap(100, 4)]) {
    map.insert(10, 10);
    t.throws(() => map.insert(15, 10), { code: 'EASSERT' });
    t.throws(() => map.take(5, 10), { code: 'EASSERT' });
    t.is(map.fullStripeCount, 2);
  }
});

test('ExtentMap.load equals inserting the same runs', (t) => {
  const random = new Random(9);
  const runs: Array<{ start: number; length: number }> = [];
  let at = 0;
  while (at < 50_000) {
    const length = random.range(1, 40);
    runs.push({ start: at, length });
    at += length + random.range(1, 20);
  }
  const loaded = new ExtentMap(at + 10, 8);
  loaded.load(runs);
  const inserted = new ExtentMap(at + 10, 8);
  for (const run of random.shuffle([...runs])) inserted.insert(run.start, run.length);
  t.deepEqual(loaded.checkStructure(), []);
  t.is(runs.length, loaded.runCount);
  t.is(loaded.fullStripeCount, inserted.fullStripeCount);
  t.is(runsOf(loaded), runsOf(inserted));
  for (let i = 0; i < 200; i++) {
    const length = random.range(1, 45);
    t.deepEqual(loaded.bestFit(length), inserted.bestFit(length));
    t.deepEqual(loaded.largest(), inserted.largest());
  }
  t.throws(() => new ExtentMap(100, 1).load([{ start: 0, length: 5 }, { start: 5, length: 5 }]), { code: 'EASSERT' });
  // Beyond 2^32 units the packed sort does not apply; the comparator path must agree.
  const far = [{ start: 3, length: 9 }, { start: 2 ** 33, length: 4 }, { start: 2 ** 34, length: 9 }, { start: 2 ** 35, length: 2 ** 22 }];
  const huge = new ExtentMap(2 ** 36, 1);
  huge.load(far);
  t.deepEqual(huge.checkStructure(), []);
  t.deepEqual(huge.bestFit(5), { start: 3, length: 9 });
  t.deepEqual(huge.largest(), { start: 2 ** 35, length: 2 ** 22 });
});

function runsOf(map: FreeMap): string {
  return runs(map);
}
