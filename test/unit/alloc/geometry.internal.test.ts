/**
 * Goal: options become the documented geometry (defaults, rounding, stripe units, slack) and
 * whole-stripe counting is exact at the edges. Method: table of cases.
 */
import test from 'ava';
import { makeGeometry, stripesWithin } from '../../../alloc/geometry.js';

test('defaults: 4 KiB units, no striping, slack 1/64 of capacity capped at 256 MiB', (t) => {
  const small = makeGeometry({ capacityBytes: 64 << 20 });
  t.is(small.unitBytes, 4096);
  t.is(small.stripeUnits, 1);
  t.false(small.striped);
  t.is(small.slackUnits * 4096, 1 << 20);
  t.is(small.extentsPerAllocationMax, 64);
  const big = makeGeometry({ capacityBytes: 2 ** 45 });
  t.is(big.slackUnits * 4096, 256 << 20);
});

test('stripe geometry in units', (t) => {
  const g = makeGeometry({ capacityBytes: 1 << 30, unitBytes: 16384, stripeUnitBytes: 65536, stripeWidth: 3 });
  t.is(g.stripeUnits, 12);
  t.true(g.striped);
  t.is(g.unitCount, (1 << 30) / 16384);
});

test('whole stripes inside a run', (t) => {
  t.is(stripesWithin(0, 8, 4), 2);
  t.is(stripesWithin(1, 8, 4), 1);
  t.is(stripesWithin(1, 7, 4), 1);
  t.is(stripesWithin(1, 6, 4), 0);
  t.is(stripesWithin(4, 4, 4), 1);
  t.is(stripesWithin(5, 100, 1), 100);
});
