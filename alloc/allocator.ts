/**
 * The allocator: free-space accounting, reservations, deferred frees and the public operations,
 * over a free map (alloc/free-map.ts) and a placement policy (alloc/placement.ts).
 *
 * Space accounting, in allocation units (N = capacity):
 *   N = mapFree + deferred + allocated,   mapFree = free + reserved
 * - an ordinary allocation needs its unreserved part <= mapFree - reserved - slack;
 * - a privileged one (deletes, checkpoints) may use the slack: <= mapFree - reserved;
 * - the part drawn from a reservation needs nothing, because mapFree >= reserved always holds.
 * So an allocation drawn from a reservation cannot fail with ENOSPC, provided it does not ask
 * for contiguity (a reservation promises bytes, not one unbroken run); it is exempt from the
 * per-allocation extent limit for the same reason.
 *
 * Not guaranteed: placement quality (stripe alignment, sequentiality) is best effort; the
 * allocator does not remember individual allocations, so `free` can detect a double free only
 * against free and deferred space, not a free of space that was never allocated.
 */
import { assert, verify } from '../common/assert.js';
import { AssertionError, EbofsError } from '../common/errors.js';
import { check } from './check.js';
import { isPowerOfTwo } from '../common/ints.js';
import { encodeMap, type DeferredRecord, type ExtentRecord, type MapImage } from './codec.js';
import { DeferredFrees } from './deferred.js';
import { ExtentMap } from './extent-map.js';
import { ALLOCATION_BYTES_MAX } from './format.js';
import type { FreeMap, Run } from './free-map.js';
import { makeGeometry, type AllocatorOptions, type Geometry } from './geometry.js';
import { convertForm } from './map-form.js';
import { Placer } from './placement.js';
import { Reservations, type Reservation } from './reservations.js';
import { computeStats, type AllocatorCounters, type AllocatorStats } from './stats.js';

const STRICT = typeof process !== 'undefined' && process.env['EBOFS_VERIFY'] === 'strict';

/** A byte range on the device: `length` bytes from `offset`. */
export type Extent = ExtentRecord;

/** How to allocate. */
export interface AllocateOptions {
  /** Return exactly one extent, or fail with ENOSPC. */
  contiguous?: boolean;
  /** Prefer space at or after this byte offset. */
  hint?: number;
  /** Draw from this reservation first; never ENOSPC for the drawn part. */
  reservation?: Reservation;
  /** May use the slack held back for deletes and checkpoints. */
  privileged?: boolean;
  /**
   * Every extent returned starts at a multiple of `alignBytes` and is a multiple of it long
   * (the request is rounded up to it). A power of two, a multiple of the unit; default: the
   * unit. The engine's data blocks when they are larger than the device block. Stripes are
   * not considered for aligned requests.
   */
  alignBytes?: number;
}

/**
 * The stripe-aware extent allocator of one device (see the head comment for the accounting).
 * Not safe for concurrent mutation: the engine's single writer owns it.
 */
export class Allocator {
  /** @internal */ map: FreeMap;
  /** @internal */ readonly placer: Placer;
  /** @internal */ readonly deferred = new DeferredFrees();
  /** @internal */ readonly reservations: Reservations;
  /** @internal */ durableGeneration = 0;
  /** @internal */ readonly counters: AllocatorCounters = {
    allocations: 0, fullStripeRequests: 0, stripeFallbacks: 0, enospc: 0, formChanges: 0,
  };

  /** @internal Use `createAllocator`, `decodeAllocator` or `rebuildAllocator`. */
  constructor(readonly geometry: Geometry, freeRuns: readonly Run[]) {
    const map = new ExtentMap(geometry.unitCount, geometry.stripeUnits);
    if (sortedAndMaximal(freeRuns)) map.load(freeRuns);
    else for (const run of freeRuns) map.insert(run.start, run.length);
    this.map = map;
    this.placer = new Placer(this.map, geometry);
    this.reservations = new Reservations(geometry.unitBytes);
    this.adjustForm();
  }

  /** Allocates `bytes` (rounded up to the unit); throws ENOSPC, EINVAL or E2BIG. */
  allocate(bytes: number, options: AllocateOptions = {}): Extent[] {
    const alignUnits = this.alignUnits(options.alignBytes);
    const units = Math.ceil(this.requestUnits(bytes) / alignUnits) * alignUnits;
    const record = options.reservation === undefined ? null : this.reservations.resolve(options.reservation);
    const drawn = record === null ? 0 : Math.min(record.remainingUnits, units);
    const budget = this.map.freeUnits - this.reservations.units
      - (options.privileged === true ? 0 : this.geometry.slackUnits);
    if (units - drawn > 0 && units - drawn > budget) {
      this.counters.enospc++;
      throw new EbofsError('ENOSPC', `cannot allocate ${bytes} bytes: ${Math.max(0, budget) * this.geometry.unitBytes} available`);
    }
    const exempt = drawn > 0 || options.privileged === true;
    const placement = this.placer.place({
      units,
      contiguous: options.contiguous === true,
      hint: options.hint === undefined ? null : this.hintUnit(options.hint),
      extentLimit: exempt ? units : this.geometry.extentsPerAllocationMax,
      alignUnits,
    });
    if (placement === null) {
      this.counters.enospc++;
      const shape = options.contiguous === true ? 'one contiguous extent' : `${this.geometry.extentsPerAllocationMax} extents`;
      throw new EbofsError('ENOSPC', `cannot place ${bytes} bytes in ${shape}: free space fragmented`);
    }
    if (record !== null) this.reservations.draw(record, drawn);
    this.countPlacement(units, placement.stripeFallback);
    this.adjustForm();
    verify(() => this.verifyAccounting());
    this.verifyStrict();
    return placement.runs.map((run) => this.toExtent(run));
  }

  /** Frees extents in `generation`; they become allocatable after markDurable(generation). */
  free(extents: readonly Extent[], generation: number): void {
    if (!Number.isSafeInteger(generation) || generation <= this.durableGeneration) {
      throw new EbofsError('EINVAL', `free in generation ${generation}, durable is ${this.durableGeneration}`);
    }
    const runs = this.usedRuns(extents);
    for (const run of runs) this.deferred.add(run.start, run.length, generation);
    this.verifyStrict();
  }

  /**
   * Undoes an allocation that nothing ever referenced (an aborted transaction): the extents are
   * free at once, with no deferral, and `refund` bytes go back to the reservation they were
   * drawn from (if it is still live).
   */
  unallocate(extents: readonly Extent[], refund?: { reservation: Reservation; bytes: number }): void {
    const runs = this.usedRuns(extents);
    for (const run of runs) this.map.insert(run.start, run.length);
    if (refund !== undefined && refund.bytes > 0 && refund.reservation.live) {
      this.reservations.refund(this.reservations.resolve(refund.reservation), Math.floor(refund.bytes / this.geometry.unitBytes));
    }
    this.adjustForm();
    this.verifyStrict();
  }

  /** The runs of `extents`, which must all be in use (EINVAL: a double free). */
  private usedRuns(extents: readonly Extent[]): ReturnType<Allocator['validateBatch']> {
    const runs = this.validateBatch(extents);
    for (const run of runs) {
      if (this.map.overlaps(run.start, run.length) || this.deferred.overlaps(run.start, run.length)) {
        throw new EbofsError('EINVAL', `double free of ${this.describe(run)}`);
      }
    }
    return runs;
  }

  /** Extents freed in `generation` or earlier, not yet allocatable: what markDurable(generation) releases. */
  pendingFrees(generation: number): Extent[] {
    const out: Extent[] = [];
    this.deferred.forEach((start, length, g) => { if (g <= generation) out.push(this.toExtent({ start, length })); });
    return out;
  }

  /** Declares `generation` durable: frees deferred in it or earlier become allocatable. */
  markDurable(generation: number): void {
    if (!Number.isSafeInteger(generation) || generation < this.durableGeneration) {
      throw new EbofsError('EINVAL', `durable generation ${generation} < ${this.durableGeneration}`);
    }
    this.durableGeneration = generation;
    for (const run of this.deferred.releaseUpTo(generation)) this.map.insert(run.start, run.length);
    this.adjustForm();
    this.verifyStrict();
  }

  /** Marks free extents as used (startup: journal replay, superblocks). EINVAL if not free. */
  markUsed(extents: readonly Extent[]): void {
    const runs = this.validateBatch(extents);
    let units = 0;
    for (const run of runs) {
      const free = this.map.runAt(run.start);
      if (free === null || run.start + run.length > free.start + free.length) {
        throw new EbofsError('EINVAL', `markUsed of ${this.describe(run)}: not free`);
      }
      units += run.length;
    }
    if (this.map.freeUnits - units < this.reservations.units) {
      throw new EbofsError('ENOSPC', 'markUsed would break live reservations');
    }
    for (const run of runs) this.map.take(run.start, run.length);
    this.adjustForm();
    this.verifyStrict();
  }

  /** Reserves `bytes` (rounded up to the unit) for later allocations; ENOSPC if unavailable. */
  reserve(bytes: number): Reservation {
    if (!Number.isSafeInteger(bytes) || bytes < 0) throw new EbofsError('EINVAL', `reserve(${bytes})`);
    const units = Math.ceil(bytes / this.geometry.unitBytes);
    const budget = this.map.freeUnits - this.reservations.units - this.geometry.slackUnits;
    if (units > budget) {
      throw new EbofsError('ENOSPC', `cannot reserve ${bytes} bytes: ${Math.max(0, budget) * this.geometry.unitBytes} available`);
    }
    return this.reservations.create(units);
  }

  /** Ends a reservation; returns the bytes it gave back (its unused rest). */
  release(reservation: Reservation): number {
    const record = this.reservations.resolve(reservation);
    return this.reservations.release(record) * this.geometry.unitBytes;
  }

  /** A snapshot of accounting and policy statistics. */
  stats(): AllocatorStats {
    return computeStats({
      geometry: this.geometry, map: this.map, reservedUnits: this.reservations.units,
      deferredUnits: this.deferred.units, durableGeneration: this.durableGeneration,
      reservationCount: this.reservations.count, counters: this.counters,
    });
  }

  /** Serializes free and deferred space (format: alloc/format.ts). */
  encode(): Uint8Array {
    return encodeMap(this.image());
  }

  /** @internal The state as a map image, in bytes. */
  image(): MapImage {
    const u = this.geometry.unitBytes;
    const free: ExtentRecord[] = [];
    this.map.forEach((start, length) => {
      free.push({ offset: start * u, length: length * u });
    });
    const deferred: DeferredRecord[] = [];
    this.deferred.forEach((start, length, generation) => {
      deferred.push({ offset: start * u, length: length * u, generation });
    });
    const g = this.geometry;
    return {
      unitBytes: u, stripeUnitBytes: g.stripeUnitBytes, stripeWidth: g.stripeWidth,
      capacityBytes: g.capacityBytes, durableGeneration: this.durableGeneration,
      cursorBytes: this.placer.cursor * u, free, deferred,
    };
  }

  private requestUnits(bytes: number): number {
    if (!Number.isSafeInteger(bytes) || bytes <= 0) throw new EbofsError('EINVAL', `allocate(${bytes})`);
    if (bytes > ALLOCATION_BYTES_MAX) {
      throw new EbofsError('E2BIG', `allocation of ${bytes} bytes exceeds ${ALLOCATION_BYTES_MAX}`);
    }
    return Math.ceil(bytes / this.geometry.unitBytes);
  }

  private alignUnits(alignBytes: number | undefined): number {
    if (alignBytes === undefined) return 1;
    const u = this.geometry.unitBytes;
    if (!Number.isSafeInteger(alignBytes) || alignBytes < u || alignBytes % u !== 0 || !isPowerOfTwo(alignBytes / u)) {
      throw new EbofsError('EINVAL', `alignment ${alignBytes} is not a power-of-two multiple of the ${u}-byte unit`);
    }
    return alignBytes / u;
  }

  private hintUnit(hint: number): number {
    if (!Number.isSafeInteger(hint) || hint < 0 || hint >= this.geometry.capacityBytes) {
      throw new EbofsError('EINVAL', `hint ${hint} outside the device`);
    }
    return Math.floor(hint / this.geometry.unitBytes);
  }

  private countPlacement(units: number, stripeFallback: boolean): void {
    this.counters.allocations++;
    if (this.geometry.striped && units >= this.geometry.stripeUnits) {
      this.counters.fullStripeRequests++;
      if (stripeFallback) this.counters.stripeFallbacks++;
    }
  }

  /** Validates caller extents (aligned, in range, not overlapping each other) into runs. */
  private validateBatch(extents: readonly Extent[]): Run[] {
    const u = this.geometry.unitBytes;
    const runs = extents.map((e) => {
      const ok = Number.isSafeInteger(e.offset) && Number.isSafeInteger(e.length) && e.length > 0
        && e.offset >= 0 && e.offset % u === 0 && e.length % u === 0
        && e.offset + e.length <= this.geometry.capacityBytes;
      if (!ok) throw new EbofsError('EINVAL', `extent [${e.offset}, +${e.length}) unaligned or outside the device`);
      return { start: e.offset / u, length: e.length / u };
    });
    const sorted = [...runs].sort((a, b) => a.start - b.start);
    for (let i = 1; i < sorted.length; i++) {
      const before = sorted[i - 1]!;
      if (before.start + before.length > sorted[i]!.start) {
        throw new EbofsError('EINVAL', `extents in one call overlap at ${this.describe(sorted[i]!)}`);
      }
    }
    return runs;
  }

  private toExtent(run: Run): Extent {
    return { offset: run.start * this.geometry.unitBytes, length: run.length * this.geometry.unitBytes };
  }

  private describe(run: Run): string {
    const e = this.toExtent(run);
    return `[${e.offset}, +${e.length})`;
  }

  /** Switches between extent and bitmap forms when the memory cap says so. */
  private adjustForm(): void {
    const next = convertForm(this.map, this.geometry);
    if (next === this.map) return;
    this.map = next;
    this.placer.setMap(next);
    this.counters.formChanges++;
  }

  /** Under EBOFS_VERIFY=strict, the full checker after every mutation (slow: O(free runs)). */
  private verifyStrict(): void {
    if (!STRICT) return;
    const findings = check(this, { maxFindings: 5 });
    if (findings.length > 0) {
      throw new AssertionError(`allocator unsound: ${findings.map((f) => f.message).join('; ')}`);
    }
  }

  private verifyAccounting(): void {
    const free = this.map.freeUnits;
    assert(free >= this.reservations.units, 'free space below reservations');
    assert(free + this.deferred.units <= this.geometry.unitCount, 'free + deferred above capacity');
  }
}

function sortedAndMaximal(runs: readonly Run[]): boolean {
  for (let i = 1; i < runs.length; i++) {
    if (runs[i - 1]!.start + runs[i - 1]!.length >= runs[i]!.start) return false;
  }
  return true;
}

/** Builds an allocator whose whole device is free. */
export function createAllocator(options: AllocatorOptions): Allocator {
  const geometry = makeGeometry(options);
  return new Allocator(geometry, [{ start: 0, length: geometry.unitCount }]);
}
