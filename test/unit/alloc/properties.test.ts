/**
 * Goal: the allocator's properties hold after every operation, for generated op sequences:
 * no two allocated extents overlap, alignment holds, full-stripe requests get aligned whole
 * stripes (when enough are free), free + allocated + reserved + deferred = capacity,
 * reservations are honoured, the same seed gives the same placements, and the free-map form
 * (extents or bitmap) never changes a placement. Method: fast-check over seeds driving the
 * reference-model workload (test/unit/alloc/model.ts), and over explicit op lists. fast-check
 * prints the seed and path of any failure; our own seeds are printed with t.log.
 */
import test from 'ava';
import fc from 'fast-check';
import { Random } from '../../../common/random.js';
import { isErrorCode } from '../../../common/errors.js';
import { check, createAllocator, type Extent, type Reservation } from '../../../alloc/index.js';
import { randomScenario, simulate, Workload } from './model.js';

const FC_SEED = 20261201;

test('model workload: every operation matches the reference model', (t) => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), (seed) => {
      const { violations } = simulate(seed, 0.5);
      if (violations.length > 0) t.log(`seed ${seed}: ${violations[0]}`);
      return violations.length === 0;
    }),
    { numRuns: 40, seed: FC_SEED },
  );
  t.pass();
});

test('same seed, same placements', (t) => {
  for (const seed of [7, 8, 9]) {
    t.log(`seed ${seed}`);
    const first = simulate(seed);
    const second = simulate(seed);
    t.true(first.placements.length > 0);
    t.deepEqual(second.placements, first.placements);
  }
});

test('the bitmap form gives the same placements as the extent form', (t) => {
  for (const seed of [11, 12, 13, 14]) {
    t.log(`seed ${seed}`);
    const placementsWith = (cap: number) => {
      const random = new Random(seed);
      const scenario = randomScenario(random);
      scenario.weights.codec = 0;
      const workload = new Workload({ ...scenario, options: { ...scenario.options, freeExtentCountCap: cap } }, random.fork());
      t.deepEqual(workload.run(), []);
      return { placements: workload.placements, changes: workload.allocator.stats().counters.formChanges };
    };
    const extents = placementsWith(1 << 20);
    const bitmap = placementsWith(16);
    t.deepEqual(bitmap.placements, extents.placements);
    t.is(extents.changes, 0);
  }
});

type Op =
  | { kind: 'alloc'; units: number; contiguous: boolean; useReservation: boolean }
  | { kind: 'free'; pick: number }
  | { kind: 'durable' }
  | { kind: 'reserve'; units: number }
  | { kind: 'release' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('alloc' as const), units: fc.integer({ min: 1, max: 40 }), contiguous: fc.boolean(), useReservation: fc.boolean() }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('free' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('durable' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('reserve' as const), units: fc.integer({ min: 0, max: 40 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('release' as const) }) },
);

test('generated op lists keep every invariant after every operation', (t) => {
  const unit = 4096;
  const stripeUnits = 8;
  fc.assert(
    fc.property(fc.array(opArb, { maxLength: 120 }), (ops) => {
      const a = createAllocator({ capacityBytes: 256 * unit, stripeUnitBytes: 2 * unit, stripeWidth: 4, slackBytes: 4 * unit });
      const owner = new Int32Array(256).fill(-1);
      let live: Extent[] = [];
      const reservations: Reservation[] = [];
      let generation = 1;
      let id = 0;
      for (const op of ops) {
        if (op.kind === 'alloc') {
          const reservation = op.useReservation ? reservations[0] : undefined;
          const remaining = reservation?.remainingBytes ?? 0;
          const fullBefore = a.stats().freeFullStripes;
          let got: Extent[];
          try {
            got = a.allocate(op.units * unit, { contiguous: op.contiguous, reservation });
          } catch (err) {
            if (!isErrorCode(err, 'ENOSPC')) throw err;
            // Reservations are honoured: a draw within the rest never fails (non-contiguous).
            if (!op.contiguous && remaining >= op.units * unit) return false;
            continue;
          }
          id++;
          for (const e of got) {
            if (e.offset % unit !== 0 || e.length % unit !== 0) return false;
            for (let u = e.offset / unit; u < (e.offset + e.length) / unit; u++) {
              if (owner[u] !== -1) return false; // overlap with a live allocation
              owner[u] = id;
            }
          }
          if (!op.contiguous && op.units >= stripeUnits && fullBefore > op.units / stripeUnits + 1) {
            const whole = got.reduce((n, e) => n + (e.offset % (stripeUnits * unit) === 0 ? Math.floor(e.length / (stripeUnits * unit)) : 0), 0);
            if (whole < Math.floor(op.units / stripeUnits)) return false;
          }
          live.push(...got);
        } else if (op.kind === 'free' && live.length > 0) {
          const e = live[op.pick % live.length]!;
          live = live.filter((x) => x !== e);
          a.free([e], generation);
          owner.fill(-1, e.offset / unit, (e.offset + e.length) / unit);
        } else if (op.kind === 'durable') {
          a.markDurable(generation);
          generation++;
        } else if (op.kind === 'reserve') {
          try {
            reservations.push(a.reserve(op.units * unit));
          } catch (err) {
            if (!isErrorCode(err, 'ENOSPC')) throw err;
          }
        } else if (op.kind === 'release' && reservations.length > 0) {
          const r = reservations.shift()!;
          const rest = r.remainingBytes;
          if (a.release(r) !== rest || r.live) return false;
        }
        const s = a.stats();
        if (s.freeBytes + s.allocatedBytes + s.reservedBytes + s.deferredBytes !== s.capacityBytes) return false;
        if (check(a).length > 0) return false;
      }
      return true;
    }),
    { numRuns: 150, seed: FC_SEED },
  );
  t.pass();
});
