/**
 * Placement policy: where a request of n units goes. Pure decisions over a FreeMap; the
 * allocator has already checked the space accounting before calling.
 *
 * Two modes. While at least NEXT_FIT_FREE_SHARE_MIN of the device is free, placement is
 * next-fit from a cursor (log-like, sequential writes); below it, best-fit (keeps large extents
 * whole on a full device; see docs/alloc.md for the measured difference). Order of preference:
 * - Hint: the first fit at or after the hinted unit.
 * - Full-stripe requests (n >= one stripe, striping on): one stripe-aligned extent holding the
 *   whole request, the tail right after the stripes (found next-fit or aligned best-fit by
 *   mode); else floor(n / stripe) whole aligned stripes run by run, the tail as a small request.
 *   Unaligned space only when no whole free stripe is left (counted as a stripe fallback).
 * - Small requests with striping: the open stripe (a stripe skipped for alignment, or holding
 *   a tail); then the best-fitting hole that holds no whole stripe (so whole stripes stay
 *   whole); then, when whole stripes are plentiful and in next-fit mode, right at the cursor
 *   across stripe boundaries; then a new whole stripe (next-fit or best-fit by mode).
 * - Without striping: next-fit from the cursor when the fit lies within a window ahead of it
 *   (next-fit mode only); best-fit otherwise.
 * - Last resort (not contiguous): the largest runs first, up to the extent limit. If the
 *   policy's own path would need more runs than the limit, everything is undone and the largest
 *   runs first are tried (the fewest runs possible), so a request fails only when even that
 *   needs more than the limit.
 *
 * The cursor is the end of the last placement that was not a hinted or hole fill, so
 * consecutive writes continue where the previous ones ended, like a log. On failure every unit taken is given back and the cursor restored.
 */
import { assert } from '../common/assert.js';
import { alignUp } from '../common/ints.js';
import {
  ALIGNED_SCAN_STEPS_MAX, FRAGMENTED_STRIPE_SHARE_MIN, NEXT_FIT_FREE_SHARE_MIN, NEXT_FIT_WINDOW_SHARE,
} from './format.js';
import type { FreeMap, Run } from './free-map.js';
import { stripesWithin, type Geometry } from './geometry.js';

/** One placement request, in units. */
export interface PlaceRequest {
  units: number;
  contiguous: boolean;
  /** Hinted unit, or null. */
  hint: number | null;
  /** Most runs the result may have. */
  extentLimit: number;
  /**
   * Every run must start at a multiple of this many units and be a multiple of it long (1 or
   * absent: no constraint). `units` is a multiple of it. Aligned requests ignore stripes.
   */
  alignUnits?: number;
}

/** The runs chosen (already taken from the map) and how the stripe policy fared. */
export interface Placement {
  runs: Run[];
  /** True for a full-stripe request whose stripe part got aligned whole stripes. */
  stripeAligned: boolean;
  /** True for a full-stripe request that had to use unaligned space. */
  stripeFallback: boolean;
}

/** The placement policy and its state (cursor, open stripe); see the head comment. */
export class Placer {
  /** Next-fit cursor (a unit index). */
  cursor = 0;
  /** Index of the stripe small requests are packed into, or -1. */
  openStripe = -1;
  private taken: Run[] = [];
  private limit = 0;
  private readonly windowUnits: number;

  constructor(private map: FreeMap, private readonly geometry: Geometry) {
    this.windowUnits = Math.max(1, Math.floor(geometry.unitCount * NEXT_FIT_WINDOW_SHARE));
  }

  /** Points the placer at a new free map (after a change of representation). */
  setMap(map: FreeMap): void {
    this.map = map;
  }

  /** Places a request, or returns null (nothing taken) when it cannot be met. */
  place(request: PlaceRequest): Placement | null {
    assert(request.units > 0 && request.extentLimit >= 1, 'bad placement request');
    const saved = { cursor: this.cursor, openStripe: this.openStripe };
    this.taken = [];
    this.limit = request.extentLimit;
    const A = request.alignUnits ?? 1;
    if (A > 1) {
      assert(request.units % A === 0, 'aligned request not a multiple of its alignment');
      if (this.placeAligned(request, A)) return { runs: this.taken, stripeAligned: false, stripeFallback: false };
      this.undo(saved);
      return null;
    }
    const S = this.geometry.stripeUnits;
    let result: Placement | null;
    if (this.geometry.striped && request.units >= S) result = this.placeStriped(request);
    else if (this.geometry.striped) result = this.wrap(this.placeSmallStriped(request));
    else result = this.wrap(this.placePlain(request));
    if (result === null) {
      this.undo(saved);
      // The policy's path used too many runs; the largest runs first need the fewest.
      if (!request.contiguous && this.gatherLargest(request.units)) {
        const fullStripe = this.geometry.striped && request.units >= S;
        result = { runs: this.taken, stripeAligned: false, stripeFallback: fullStripe };
      } else {
        this.undo(saved);
      }
    }
    if (result === null) return null;
    assert(result.runs.reduce((sum, r) => sum + r.length, 0) === request.units, 'placed size');
    return result;
  }

  private undo(saved: { cursor: number; openStripe: number }): void {
    for (const run of this.taken) this.map.insert(run.start, run.length);
    this.taken = [];
    this.cursor = saved.cursor;
    this.openStripe = saved.openStripe;
  }

  private wrap(ok: boolean): Placement | null {
    return ok ? { runs: this.taken, stripeAligned: false, stripeFallback: false } : null;
  }

  private take(start: number, length: number): boolean {
    if (this.taken.length >= this.limit) return false;
    this.map.take(start, length);
    this.taken.push({ start, length });
    return true;
  }

  private advance(end: number): void {
    this.cursor = end >= this.geometry.unitCount ? 0 : end;
  }

  private withinWindow(position: number, from: number): boolean {
    const n = this.geometry.unitCount;
    return (position - from + n) % n <= this.windowUnits;
  }

  /** Next-fit while the device is roomy; best-fit once it is full (NEXT_FIT_FREE_SHARE_MIN). */
  private nextFitMode(): boolean {
    return this.map.freeUnits >= this.geometry.unitCount * NEXT_FIT_FREE_SHARE_MIN;
  }

  /** An aligned start for n units: after the hint, next-fit, or best-fit, by mode. */
  private findStripes(hint: number | null, n: number): number | null {
    if (hint !== null) return this.findAligned(hint, n);
    return this.nextFitMode() ? this.findAligned(this.cursor, n) : this.bestAligned(n);
  }

  private placePlain(request: PlaceRequest): boolean {
    const n = request.units;
    if (request.hint !== null) {
      const at = this.map.firstFit(request.hint, n);
      if (at !== null) return this.take(at, n);
    }
    if (this.nextFitMode()) {
      const at = this.map.firstFit(this.cursor, n);
      if (at !== null && this.withinWindow(at, this.cursor)) {
        this.advance(at + n);
        return this.take(at, n);
      }
    }
    const best = this.map.bestFit(n);
    if (best !== null) {
      this.advance(best.start + n);
      return this.take(best.start, n);
    }
    return !request.contiguous && this.gatherLargest(n);
  }

  private placeStriped(request: PlaceRequest): Placement | null {
    const S = this.geometry.stripeUnits;
    const n = request.units;
    const stripeCount = Math.floor(n / S);
    const tail = n - stripeCount * S;
    // Best: one extent, stripe-aligned, the tail right after the stripes (its partial stripe
    // becomes the open stripe that later small requests fill).
    const whole = this.findStripes(request.hint, n);
    if (whole !== null) {
      if (!this.take(whole, n)) return null;
      // The stripe skipped to reach alignment, else the tail's, is where small requests go next.
      const skipped = request.hint === null && this.cursor < whole && whole - this.cursor < S
        && this.cursor % S !== 0 && this.map.runAt(this.cursor) !== null;
      if (skipped) this.openStripe = Math.floor(this.cursor / S);
      else if (tail > 0) this.openStripe = (whole + stripeCount * S) / S;
      this.advance(whole + n);
      return { runs: this.taken, stripeAligned: true, stripeFallback: false };
    }
    if (request.contiguous) {
      const from = request.hint ?? this.cursor;
      const any = this.map.firstFit(from, n) ?? this.map.bestFit(n)?.start ?? null;
      if (any === null || !this.take(any, n)) return null;
      this.advance(any + n);
      return { runs: this.taken, stripeAligned: false, stripeFallback: true };
    }
    const placed = this.takeStripes(request.hint, stripeCount, tail > 0 ? 1 : 0);
    const rest = (stripeCount - placed) * S + tail;
    let ok = true;
    if (rest > 0 && placed === stripeCount) ok = this.placeSmallStriped({ ...request, units: rest, hint: null });
    else if (rest > 0) ok = this.gatherLargest(rest);
    if (!ok) return null;
    const aligned = placed === stripeCount;
    return { runs: this.taken, stripeAligned: aligned, stripeFallback: !aligned };
  }

  /** Takes up to `count` whole aligned stripes, run by run; returns how many it took. */
  private takeStripes(hint: number | null, count: number, keepRuns: number): number {
    const S = this.geometry.stripeUnits;
    let placed = 0;
    let probe = hint;
    while (placed < count && this.taken.length + keepRuns < this.limit) {
      const at = this.findStripes(probe, S);
      if (at === null) break;
      const run = this.map.runAt(at);
      assert(run !== null, 'aligned fit outside a free run');
      const fits = Math.floor((run.start + run.length - at) / S);
      const stripes = Math.min(count - placed, fits);
      assert(stripes >= 1, 'aligned fit without a whole stripe');
      this.take(at, stripes * S);
      placed += stripes;
      this.advance(at + stripes * S);
      if (probe !== null) probe = at + stripes * S;
    }
    return placed;
  }

  private placeSmallStriped(request: PlaceRequest): boolean {
    const n = request.units;
    if (request.hint !== null) {
      const at = this.map.firstFit(request.hint, n);
      if (at !== null) return this.take(at, n);
    }
    if (this.fitOpenStripe(n)) return true;
    if (this.taken.length >= this.limit) return false;
    const S = this.geometry.stripeUnits;
    const scarce = !this.nextFitMode()
      || this.map.fullStripeCount * S < this.map.freeUnits * FRAGMENTED_STRIPE_SHARE_MIN;
    const done = this.fillHole(n) || (!scarce && this.nextFitSmall(n)) || this.openNewStripe(n);
    if (done) return true;
    const best = this.map.bestFit(n);
    if (best !== null) return this.take(best.start, n);
    return !request.contiguous && this.gatherLargest(n);
  }

  /** Log-like packing: right at the cursor, across stripe boundaries, if within the window. */
  private nextFitSmall(n: number): boolean {
    const at = this.map.firstFit(this.cursor, n);
    if (at === null || !this.withinWindow(at, this.cursor)) return false;
    this.openStripe = Math.floor((at + n - 1) / this.geometry.stripeUnits);
    this.advance(at + n);
    return this.take(at, n);
  }

  private fitOpenStripe(n: number): boolean {
    if (this.openStripe < 0) return false;
    const S = this.geometry.stripeUnits;
    const base = this.openStripe * S;
    const at = this.map.firstFit(base, n);
    if (at === null || at + n > base + S) {
      this.openStripe = -1;
      return false;
    }
    if (!this.take(at, n)) return false;
    this.advance(at + n);
    return true;
  }

  private openNewStripe(n: number): boolean {
    const S = this.geometry.stripeUnits;
    const at = this.findStripes(null, S);
    if (at === null) return false;
    this.openStripe = at / S;
    this.advance(at + n);
    return this.take(at, n);
  }

  private fillHole(n: number): boolean {
    const hole = this.map.bestFit(n);
    const S = this.geometry.stripeUnits;
    if (hole === null || stripesWithin(hole.start, hole.length, S) > 0) return false;
    this.openStripe = Math.floor(hole.start / S);
    return this.take(hole.start, n);
  }

  /** Takes the largest runs until n units are placed; false on the extent limit. */
  private gatherLargest(n: number): boolean {
    let remaining = n;
    while (remaining > 0) {
      const run = this.map.largest();
      assert(run !== null, 'accounting promised space the map does not have');
      const length = Math.min(run.length, remaining);
      if (!this.take(run.start, length)) return false;
      remaining -= length;
    }
    return true;
  }

  /**
   * An aligned request (alignUnits A > 1: data blocks larger than the unit): one A-aligned
   * extent — after the hint, else next-fit from the cursor while the device is roomy, else in
   * the smallest run that holds it aligned — or, unless contiguous, the A-aligned parts of free
   * runs, largest first, up to the extent limit.
   */
  private placeAligned(request: PlaceRequest, A: number): boolean {
    const n = request.units;
    const from = request.hint ?? (this.nextFitMode() ? this.cursor : null);
    const at = (from === null ? null : this.firstAligned(from, n, A)) ?? this.bestAlignedTo(n, A) ??
      (request.contiguous ? this.scanAligned(n, A) : null);
    if (at !== null) {
      if (request.hint === null) this.advance(at + n);
      return this.take(at, n);
    }
    return !request.contiguous && this.gatherAligned(n, A);
  }

  /** Lowest A-aligned p found from `from` (then from 0) with [p, p + n) free; bounded search. */
  private firstAligned(from: number, n: number, A: number): number | null {
    for (const start of from === 0 ? [0] : [from, 0]) {
      let probe = start;
      for (let step = 0; step < ALIGNED_SCAN_STEPS_MAX && probe < this.geometry.unitCount; step++) {
        const at = this.map.firstFit(probe, n);
        if (at === null) break;
        const run = this.map.runAt(at);
        assert(run !== null, 'fit outside a free run');
        const aligned = alignUp(at, A);
        if (aligned + n <= run.start + run.length) return aligned;
        probe = run.start + run.length;
      }
      const sure = this.map.firstFit(start, n + A - 1);
      if (sure !== null) return alignUp(sure, A);
    }
    return null;
  }

  /** The A-aligned start of n units in the smallest run found to hold them aligned. */
  private bestAlignedTo(n: number, A: number): number | null {
    let found: number | null = null;
    let steps = 0;
    this.map.forEachBySize(n, (start, length) => {
      const aligned = alignUp(start, A);
      if (aligned + n <= start + length) found = aligned;
      return found === null && ++steps < ALIGNED_SCAN_STEPS_MAX;
    });
    if (found !== null) return found;
    const sure = this.map.bestFit(n + A - 1);
    return sure === null ? null : alignUp(sure.start, A);
  }

  /** Exhaustive: the first A-aligned start of n free units (the bounded searches may miss one). */
  private scanAligned(n: number, A: number): number | null {
    let found: number | null = null;
    this.map.forEach((start, length) => {
      const aligned = alignUp(start, A);
      if (aligned + n <= start + length) found = aligned;
      return found === null;
    });
    return found;
  }

  /** Takes the A-aligned parts of free runs, largest first, until n units; false if short. */
  private gatherAligned(n: number, A: number): boolean {
    const parts: Run[] = [];
    this.map.forEach((start, length) => {
      const lo = alignUp(start, A);
      const hi = Math.floor((start + length) / A) * A;
      if (hi > lo) parts.push({ start: lo, length: hi - lo });
    });
    parts.sort((a, b) => b.length - a.length || a.start - b.start);
    let remaining = n;
    for (const part of parts) {
      if (remaining === 0) break;
      const length = Math.min(part.length, remaining);
      if (!this.take(part.start, length)) return false;
      remaining -= length;
    }
    return remaining === 0;
  }

  /**
   * Lowest stripe-aligned p (searching from `from`, then wrapping to 0) with [p, p + n) free.
   * Examines a bounded number of candidates, then asks for a run long enough to be sure.
   */
  findAligned(from: number, n: number): number | null {
    const S = this.geometry.stripeUnits;
    if (this.map.fullStripeCount < Math.floor(n / S)) return null;
    // A single whole stripe surely exists somewhere (the count says so): find it exhaustively,
    // so a full-stripe request never misses one. Bounded by the number of free runs.
    return this.firstAligned(from, n, S) ?? (n === S ? this.scanForStripe() : null);
  }


  /**
   * The stripe-aligned start of n units in the smallest run that can hold them aligned:
   * runs are examined in size order (a bounded number), then the smallest run long enough to
   * be sure is used.
   */
  private bestAligned(n: number): number | null {
    const S = this.geometry.stripeUnits;
    if (this.map.fullStripeCount < Math.floor(n / S)) return null;
    return this.bestAlignedTo(n, S) ?? (n === S ? this.scanForStripe() : null);
  }


  private scanForStripe(): number | null {
    const S = this.geometry.stripeUnits;
    let found: number | null = null;
    this.map.forEach((start, length) => {
      const aligned = alignUp(start, S);
      if (aligned + S <= start + length) found = aligned;
      return found === null;
    });
    assert(found !== null, 'full stripe count says a stripe is free, none found');
    return found;
  }
}
