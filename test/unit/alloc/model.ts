/**
 * A slow reference model of the allocator (one state per unit) and a seeded random workload
 * that drives the real allocator and the model side by side, checking after every operation.
 *
 * Shared by the property tests (test/unit/alloc/properties.test.ts) and the simulation target
 * (test/sim/targets/alloc.ts). The model predicts, exactly, whether each operation must succeed
 * or fail with ENOSPC/EINVAL; the allocator is free to choose *where* space goes, and the model
 * checks that its choice is legal (free before, aligned, within limits, stripes whole).
 */
import { Random } from '../../../common/random.js';
import { isErrorCode } from '../../../common/errors.js';
import {
  check, createAllocator, decodeAllocator, rebuildAllocator,
  type Allocator, type AllocatorOptions, type Extent, type Reservation,
} from '../../../alloc/index.js';

const FREE = 0;
const USED = -1;

/** The unit-state model: FREE, USED, or the generation a deferred unit was freed in. */
export class Model {
  readonly state: Int32Array;
  reservedUnits = 0;

  constructor(readonly unitCount: number, readonly unitBytes: number) {
    this.state = new Int32Array(unitCount);
  }

  freeUnits(): number {
    let n = 0;
    for (const s of this.state) if (s === FREE) n++;
    return n;
  }

  deferredUnits(): number {
    let n = 0;
    for (const s of this.state) if (s > 0) n++;
    return n;
  }

  /** Free runs as [start, length] in units, in order. */
  freeRuns(): Array<[number, number]> {
    const runs: Array<[number, number]> = [];
    let i = 0;
    while (i < this.unitCount) {
      if (this.state[i] !== FREE) { i++; continue; }
      const start = i;
      while (i < this.unitCount && this.state[i] === FREE) i++;
      runs.push([start, i - start]);
    }
    return runs;
  }

  largestRun(): number {
    return this.freeRuns().reduce((max, [, len]) => Math.max(max, len), 0);
  }

  /** The `align`-aligned parts of the free runs, as lengths. */
  alignedParts(align: number): number[] {
    return this.freeRuns().map(([start, len]) => Math.floor((start + len) / align) * align - Math.ceil(start / align) * align)
      .filter((len) => len > 0);
  }

  /** Fewest aligned parts that can hold `units` (largest first), or Infinity. */
  greedyAlignedCount(units: number, align: number): number {
    let sum = 0;
    for (const [i, len] of this.alignedParts(align).sort((a, b) => b - a).entries()) {
      sum += len;
      if (sum >= units) return i + 1;
    }
    return Infinity;
  }

  /** Fewest runs that can hold `units` (largest first), or Infinity. */
  greedyRunCount(units: number): number {
    const lengths = this.freeRuns().map(([, len]) => len).sort((a, b) => b - a);
    let sum = 0;
    for (const [i, len] of lengths.entries()) {
      sum += len;
      if (sum >= units) return i + 1;
    }
    return Infinity;
  }

  fullStripes(stripeUnits: number): number {
    let count = 0;
    for (let s = 0; (s + 1) * stripeUnits <= this.unitCount; s++) {
      let whole = true;
      for (let u = s * stripeUnits; u < (s + 1) * stripeUnits && whole; u++) whole = this.state[u] === FREE;
      if (whole) count++;
    }
    return count;
  }

  units(e: Extent): [number, number] {
    return [e.offset / this.unitBytes, e.length / this.unitBytes];
  }

  allFree(e: Extent): boolean {
    const [start, length] = this.units(e);
    for (let u = start; u < start + length; u++) if (this.state[u] !== FREE) return false;
    return true;
  }

  allUsed(e: Extent): boolean {
    const [start, length] = this.units(e);
    for (let u = start; u < start + length; u++) if (this.state[u] !== USED) return false;
    return true;
  }

  set(e: Extent, value: number): void {
    const [start, length] = this.units(e);
    this.state.fill(value, start, start + length);
  }

  markDurable(generation: number): void {
    for (let u = 0; u < this.unitCount; u++) {
      const s = this.state[u]!;
      if (s > 0 && s <= generation) this.state[u] = FREE;
    }
  }
}

/** One randomly chosen configuration and swarm weights for a run. */
export interface Scenario {
  options: AllocatorOptions;
  steps: number;
  weights: { allocate: number; free: number; durable: number; reserve: number; release: number;
    codec: number; rebuild: number; markUsed: number };
}

export function randomScenario(random: Random, scale = 1): Scenario {
  const unitBytes = random.pick([4096, 4096, 8192, 65536]);
  const unitCount = random.range(64, 3000);
  const striped = random.chance(0.6);
  const stripeUnitUnits = striped ? random.pick([1, 2, 4, 8]) : 1;
  const stripeWidth = striped ? random.pick([2, 3, 4, 8]) : 1;
  const options: AllocatorOptions = {
    capacityBytes: unitCount * unitBytes + random.int(unitBytes),
    unitBytes,
    stripeUnitBytes: stripeUnitUnits * unitBytes,
    stripeWidth,
    slackBytes: random.int(Math.floor(unitCount / 20) + 1) * unitBytes,
    extentsPerAllocationMax: random.pick([1, 2, 4, 16, 64]),
    freeExtentCountCap: random.chance(0.4) ? random.range(16, 24) : 1 << 20,
  };
  const w = (): number => random.range(0, 10);
  return {
    options,
    steps: Math.round(random.range(100, 400) * scale),
    weights: {
      allocate: 20 + w(), free: 10 + w(), durable: 2 + w(), reserve: w(), release: w(),
      codec: random.range(0, 2), rebuild: random.range(0, 2), markUsed: random.range(0, 2),
    },
  };
}

type OpName = keyof Scenario['weights'];

/** Drives allocator and model through a scenario; returns violations (empty = pass). */
export class Workload {
  allocator: Allocator;
  readonly model: Model;
  readonly violations: string[] = [];
  /** Allocated extents, as handed out (some later split by partial frees). */
  live: Extent[] = [];
  reservations = new Map<Reservation, number>();
  generation = 1;
  durable = 0;
  readonly placements: string[] = [];
  private step = 0;
  private readonly stripeUnits: number;
  private readonly slackUnits: number;
  private readonly limit: number;

  constructor(readonly scenario: Scenario, readonly random: Random) {
    this.allocator = createAllocator(scenario.options);
    const s = this.allocator.stats();
    this.model = new Model(s.capacityBytes / s.unitBytes, s.unitBytes);
    this.stripeUnits = s.stripeBytes / s.unitBytes;
    this.slackUnits = s.slackBytes / s.unitBytes;
    this.limit = scenario.options.extentsPerAllocationMax ?? 64;
  }

  run(): string[] {
    for (this.step = 0; this.step < this.scenario.steps && this.violations.length === 0; this.step++) {
      const op = this.pickOp();
      try {
        this.apply(op);
      } catch (err) {
        this.fail(`${op} threw ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
      }
      if (this.violations.length === 0) this.compare();
    }
    return this.violations;
  }

  fail(message: string): void {
    this.violations.push(`step ${this.step}: ${message}`);
  }

  private pickOp(): OpName {
    const entries = Object.entries(this.scenario.weights) as Array<[OpName, number]>;
    const total = entries.reduce((sum, [, w]) => sum + w, 0);
    let x = this.random.int(total);
    for (const [name, w] of entries) {
      if (x < w) return name;
      x -= w;
    }
    return 'allocate';
  }

  private apply(op: OpName): void {
    switch (op) {
      case 'allocate': return this.doAllocate();
      case 'free': return this.doFree();
      case 'durable': return this.doDurable();
      case 'reserve': return this.doReserve();
      case 'release': return this.doRelease();
      case 'codec': return this.doCodec();
      case 'rebuild': return this.doRebuild();
      case 'markUsed': return this.doMarkUsed();
    }
  }

  private requestUnits(): number {
    const S = this.stripeUnits;
    const r = this.random;
    switch (r.int(4)) {
      case 0: return r.range(1, Math.max(1, S - 1));
      case 1: return S * r.range(1, 4);
      case 2: return S * r.range(1, 3) + r.range(0, S - 1);
      default: return r.range(1, Math.max(1, Math.floor(this.model.unitCount / 10)));
    }
  }

  private doAllocate(): void {
    const r = this.random;
    const u = this.model.unitBytes;
    const asked = this.requestUnits();
    const bytes = asked * u - (r.chance(0.3) ? r.int(u) : 0);
    // Sometimes an aligned request (the engine's data blocks): rounded up to the alignment.
    const align = u * 2 <= 1024 * 1024 && r.chance(0.15) ? r.pick([2, 4, 8, 16].filter((a) => a * u <= 1024 * 1024)) : 1;
    const units = Math.ceil(asked / align) * align;
    const reservations = [...this.reservations.keys()];
    const reservation = reservations.length > 0 && r.chance(0.4) ? r.pick(reservations) : undefined;
    const contiguous = r.chance(0.2);
    const privileged = r.chance(0.1);
    const hint = r.chance(0.1) ? r.int(this.model.unitCount) * u + r.int(u) : undefined;
    const expected = this.expectAllocate(units, reservation, contiguous, privileged, align);
    const exempt = privileged || (reservation !== undefined && this.reservations.get(reservation)! > 0);
    const fullStripesBefore = this.model.fullStripes(this.stripeUnits);
    let extents: Extent[];
    try {
      extents = this.allocator.allocate(bytes, { contiguous, privileged, reservation, hint, ...(align > 1 ? { alignBytes: align * u } : {}) });
    } catch (err) {
      if (!isErrorCode(err, 'ENOSPC')) throw err;
      if (expected) this.fail(`allocate ${units} units failed unexpectedly: ${err.message}`);
      return;
    }
    if (!expected) this.fail(`allocate ${units} units succeeded; model expected ENOSPC`);
    this.checkExtents(extents, units, contiguous, exempt);
    for (const e of extents) if (e.offset % (align * u) !== 0 || e.length % (align * u) !== 0) this.fail(`extent ${e.offset}+${e.length} not aligned to ${align} units`);
    if (!contiguous && align === 1) this.checkStripes(extents, units, fullStripesBefore);
    for (const e of extents) this.model.set(e, USED);
    this.live.push(...extents);
    if (reservation !== undefined) {
      const remaining = this.reservations.get(reservation)!;
      const drawn = Math.min(remaining, units);
      this.reservations.set(reservation, remaining - drawn);
      this.model.reservedUnits -= drawn;
    }
    this.placements.push(extents.map((e) => `${e.offset}+${e.length}`).join(','));
  }

  private expectAllocate(units: number, reservation: Reservation | undefined, contiguous: boolean, privileged: boolean, align = 1): boolean {
    const drawn = reservation === undefined ? 0 : Math.min(this.reservations.get(reservation)!, units);
    const budget = this.model.freeUnits() - this.model.reservedUnits - (privileged ? 0 : this.slackUnits);
    if (units - drawn > 0 && units - drawn > budget) return false;
    if (align > 1) {
      const parts = this.model.alignedParts(align);
      if (parts.some((len) => len >= units)) return true;
      if (contiguous) return false;
      return drawn > 0 || privileged ? parts.reduce((a, b) => a + b, 0) >= units : this.model.greedyAlignedCount(units, align) <= this.limit;
    }
    if (contiguous) return this.model.largestRun() >= units;
    if (drawn > 0 || privileged) return true;
    return this.model.greedyRunCount(units) <= this.limit;
  }

  private checkExtents(extents: Extent[], units: number, contiguous: boolean, exempt: boolean): void {
    const u = this.model.unitBytes;
    let total = 0;
    for (const e of extents) {
      if (e.offset % u !== 0 || e.length % u !== 0 || e.length <= 0) this.fail(`unaligned extent ${e.offset}+${e.length}`);
      else if (!this.model.allFree(e)) this.fail(`extent ${e.offset}+${e.length} overlaps used or deferred space`);
      total += e.length;
    }
    const sorted = [...extents].sort((a, b) => a.offset - b.offset);
    for (let i = 1; i < sorted.length; i++) {
      if (sorted[i - 1]!.offset + sorted[i - 1]!.length > sorted[i]!.offset) this.fail('extents of one allocation overlap');
    }
    if (total !== units * u) this.fail(`allocated ${total} bytes for ${units} units`);
    if (contiguous && extents.length !== 1) this.fail(`contiguous allocation got ${extents.length} extents`);
    if (!exempt && extents.length > this.limit) this.fail(`${extents.length} extents > limit ${this.limit}`);
  }

  /** Full-stripe requests get aligned whole stripes whenever enough are free (and fit the limit). */
  private checkStripes(extents: Extent[], units: number, fullStripesBefore: number): void {
    const S = this.stripeUnits;
    if (S === 1 || units < S) return;
    const k = Math.floor(units / S);
    if (fullStripesBefore < k + 1 || k + 1 > this.limit) return;
    let aligned = 0;
    for (const e of extents) {
      const [start, length] = this.model.units(e);
      const first = Math.ceil(start / S) * S;
      const end = Math.floor((start + length) / S) * S;
      if (end > first) aligned += (end - first) / S;
    }
    if (aligned < k) this.fail(`full-stripe request of ${units} units got ${aligned} of ${k} whole stripes`);
  }

  private doFree(): void {
    const r = this.random;
    if (r.chance(0.2)) this.generation++;
    if (this.live.length === 0) return;
    if (r.chance(0.05)) return this.doubleFree();
    const count = r.range(1, Math.min(4, this.live.length));
    const batch: Extent[] = [];
    for (let i = 0; i < count && this.live.length > 0; i++) {
      const index = r.int(this.live.length);
      const e = this.live[index]!;
      this.live.splice(index, 1);
      batch.push(this.splitForFree(e));
    }
    this.allocator.free(batch, this.generation);
    for (const e of batch) this.model.set(e, this.generation);
  }

  /** Frees either all of `e` or a unit-aligned part, keeping the rest live. */
  private splitForFree(e: Extent): Extent {
    const u = this.model.unitBytes;
    const units = e.length / u;
    if (units === 1 || this.random.chance(0.7)) return e;
    const cut = this.random.range(1, units - 1) * u;
    if (this.random.chance(0.5)) {
      this.live.push({ offset: e.offset + cut, length: e.length - cut });
      return { offset: e.offset, length: cut };
    }
    this.live.push({ offset: e.offset, length: cut });
    return { offset: e.offset + cut, length: e.length - cut };
  }

  private doubleFree(): void {
    const u = this.model.unitBytes;
    const unit = this.random.int(this.model.unitCount);
    if (this.model.state[unit] === USED) return;
    try {
      this.allocator.free([{ offset: unit * u, length: u }], this.generation);
      this.fail(`double free of unit ${unit} accepted`);
    } catch (err) {
      if (!isErrorCode(err, 'EINVAL')) throw err;
    }
  }

  private doDurable(): void {
    const target = this.random.range(this.durable, this.generation);
    this.allocator.markDurable(target);
    this.model.markDurable(target);
    this.durable = target;
    if (this.generation <= this.durable) this.generation = this.durable + 1;
  }

  private doReserve(): void {
    const u = this.model.unitBytes;
    const units = this.random.range(0, Math.max(1, Math.floor(this.model.unitCount / 8)));
    const budget = this.model.freeUnits() - this.model.reservedUnits - this.slackUnits;
    try {
      const reservation = this.allocator.reserve(units * u);
      if (units > budget) this.fail(`reserve ${units} units succeeded over budget ${budget}`);
      this.reservations.set(reservation, units);
      this.model.reservedUnits += units;
    } catch (err) {
      if (!isErrorCode(err, 'ENOSPC')) throw err;
      if (units <= budget) this.fail(`reserve ${units} units failed within budget ${budget}`);
    }
  }

  private doRelease(): void {
    const all = [...this.reservations.keys()];
    if (all.length === 0) return;
    const reservation = this.random.pick(all);
    const remaining = this.reservations.get(reservation)!;
    const returned = this.allocator.release(reservation);
    if (returned !== remaining * this.model.unitBytes) this.fail(`release returned ${returned}, expected ${remaining} units`);
    this.reservations.delete(reservation);
    this.model.reservedUnits -= remaining;
  }

  private doCodec(): void {
    const bytes = this.allocator.encode();
    const { extentsPerAllocationMax, slackBytes, freeExtentCountCap } = this.scenario.options;
    const decoded = decodeAllocator(bytes, { extentsPerAllocationMax, slackBytes, freeExtentCountCap });
    if (!sameBytes(decoded.encode(), bytes)) this.fail('encode(decode(bytes)) != bytes');
    if (this.random.chance(0.5)) {
      // Continue on the decoded allocator, as after a remount: reservations are gone.
      this.allocator = decoded;
      this.reservations.clear();
      this.model.reservedUnits = 0;
    }
  }

  private doRebuild(): void {
    const used: Extent[] = [];
    const u = this.model.unitBytes;
    for (let unit = 0; unit < this.model.unitCount; unit++) {
      if (this.model.state[unit] !== FREE) used.push({ offset: unit * u, length: u });
    }
    const rebuilt = rebuildAllocator(this.scenario.options, this.random.shuffle(used), this.durable);
    const expectedRuns = this.model.freeRuns().map(([s, l]) => `${s * u}+${l * u}`).join(',');
    const actualRuns = rebuilt.image().free.map((e) => `${e.offset}+${e.length}`).join(',');
    if (expectedRuns !== actualRuns) this.fail('rebuilt free map differs from the model');
    const findings = check(rebuilt);
    if (findings.length > 0) this.fail(`rebuilt allocator: ${findings[0]!.message}`);
  }

  private doMarkUsed(): void {
    const runs = this.model.freeRuns();
    if (runs.length === 0) return;
    const [start, length] = this.random.pick(runs);
    const offset = start + this.random.int(length);
    const units = this.random.range(1, start + length - offset);
    const u = this.model.unitBytes;
    const e = { offset: offset * u, length: units * u };
    const allowed = this.model.freeUnits() - units >= this.model.reservedUnits;
    try {
      this.allocator.markUsed([e]);
      if (!allowed) this.fail('markUsed broke reservations');
      this.model.set(e, USED);
      this.live.push(e);
    } catch (err) {
      if (!isErrorCode(err, 'ENOSPC') || allowed) throw err;
    }
  }

  /** Compares allocator and model after an operation. */
  compare(): void {
    const findings = check(this.allocator);
    if (findings.length > 0) return this.fail(`check: ${findings.map((f) => f.message).join('; ')}`);
    const s = this.allocator.stats();
    const u = this.model.unitBytes;
    const free = this.model.freeUnits();
    if (s.freeBytes + s.allocatedBytes + s.reservedBytes + s.deferredBytes !== s.capacityBytes) {
      this.fail('free + allocated + reserved + deferred != capacity');
    }
    if (s.freeBytes !== (free - this.model.reservedUnits) * u) this.fail(`free ${s.freeBytes} != model ${free - this.model.reservedUnits} units`);
    if (s.reservedBytes !== this.model.reservedUnits * u) this.fail('reserved bytes differ from model');
    if (s.deferredBytes !== this.model.deferredUnits() * u) this.fail('deferred bytes differ from model');
    if (s.largestFreeBytes !== this.model.largestRun() * u) this.fail('largest free extent differs from model');
    if (s.freeFullStripes !== this.model.fullStripes(this.stripeUnits)) this.fail('free full stripes differ from model');
    const runs = this.allocator.image().free;
    const modelRuns = this.model.freeRuns();
    if (runs.length !== modelRuns.length || runs.some((e, i) => e.offset !== modelRuns[i]![0] * u || e.length !== modelRuns[i]![1] * u)) {
      this.fail('free map differs from the model');
    }
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** One seeded run: a random scenario, driven and cross-checked. */
export function simulate(seed: number, scale = 1): { violations: string[]; placements: string[] } {
  const random = new Random(seed);
  const scenario = randomScenario(random, scale);
  const workload = new Workload(scenario, random.fork());
  const violations = workload.run().map((v) => `${v} (options ${JSON.stringify(scenario.options)})`);
  return { violations, placements: workload.placements };
}
