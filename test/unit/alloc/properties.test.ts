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
    { numRuns: 25, seed: FC_SEED },
  );
  t.pass();
});

test('same seed, same placements', (t) => {
  for (const seed of [7, 8]) {
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

const UNIT = 4096;
const STRIPE_UNITS = 8;

/** The state one generated op list runs against: the allocator and who owns each unit. */
class OpRunner {
  readonly a = createAllocator({ capacityBytes: 256 * UNIT, stripeUnitBytes: 2 * UNIT, stripeWidth: 4, slackBytes: 4 * UNIT });
  readonly owner = new Int32Array(256).fill(-1);
  live: Extent[] = [];
  readonly reservations: Reservation[] = [];
  generation = 1;
  id = 0;

  /** Applies one op; false when a property broke. */
  apply(op: Op): boolean {
    switch (op.kind) {
      case 'alloc': return this.alloc(op);
      case 'free': return this.free(op.pick);
      case 'durable':
        this.a.markDurable(this.generation++);
        return true;
      case 'reserve': return this.reserve(op.units);
      case 'release': return this.release();
    }
  }

  /** Invariants that hold after every op. */
  sound(): boolean {
    const s = this.a.stats();
    return s.freeBytes + s.allocatedBytes + s.reservedBytes + s.deferredBytes === s.capacityBytes
      && check(this.a).length === 0;
  }

  private alloc(op: Extract<Op, { kind: 'alloc' }>): boolean {
    const reservation = op.useReservation ? this.reservations[0] : undefined;
    const remaining = reservation?.remainingBytes ?? 0;
    const fullBefore = this.a.stats().freeFullStripes;
    let got: Extent[];
    try {
      got = this.a.allocate(op.units * UNIT, { contiguous: op.contiguous, reservation });
    } catch (err) {
      if (!isErrorCode(err, 'ENOSPC')) throw err;
      // Reservations are honoured: a draw within the rest never fails (non-contiguous).
      return op.contiguous || remaining < op.units * UNIT;
    }
    this.id++;
    for (const e of got) {
      if (e.offset % UNIT !== 0 || e.length % UNIT !== 0) return false;
      for (let u = e.offset / UNIT; u < (e.offset + e.length) / UNIT; u++) {
        if (this.owner[u] !== -1) return false; // overlaps a live allocation
        this.owner[u] = this.id;
      }
    }
    this.live.push(...got);
    if (op.contiguous || op.units < STRIPE_UNITS || fullBefore <= op.units / STRIPE_UNITS + 1) return true;
    const stripe = STRIPE_UNITS * UNIT;
    const whole = got.reduce((n, e) => n + (e.offset % stripe === 0 ? Math.floor(e.length / stripe) : 0), 0);
    return whole >= Math.floor(op.units / STRIPE_UNITS);
  }

  private free(pick: number): boolean {
    if (this.live.length === 0) return true;
    const e = this.live[pick % this.live.length]!;
    this.live = this.live.filter((x) => x !== e);
    this.a.free([e], this.generation);
    this.owner.fill(-1, e.offset / UNIT, (e.offset + e.length) / UNIT);
    return true;
  }

  private reserve(units: number): boolean {
    try {
      this.reservations.push(this.a.reserve(units * UNIT));
    } catch (err) {
      if (!isErrorCode(err, 'ENOSPC')) throw err;
    }
    return true;
  }

  private release(): boolean {
    const r = this.reservations.shift();
    if (r === undefined) return true;
    const rest = r.remainingBytes;
    return this.a.release(r) === rest && !r.live;
  }
}

test('generated op lists keep every invariant after every operation', (t) => {
  fc.assert(
    fc.property(fc.array(opArb, { maxLength: 120 }), (ops) => {
      const runner = new OpRunner();
      return ops.every((op) => runner.apply(op) && runner.sound());
    }),
    { numRuns: 150, seed: FC_SEED },
  );
  t.pass();
});
