/**
 * The extent form of the free map: maximal free runs indexed by start (value = length, with the
 * subtree maximum for O(log n) next-fit) and by (length, start) (lower bound = best-fit).
 *
 * Invariants (checked by `checkStructure`):
 * - both indexes hold exactly the same runs; runs are non-empty, within the device, and
 *   neither overlap nor touch;
 * - `freeUnits` and `fullStripeCount` equal a recount over the runs.
 */
import { assert } from '../common/assert.js';
import { AssertionError } from '../common/errors.js';
import { stripesWithin } from './geometry.js';
import type { FreeMap, Run } from './free-map.js';
import { NONE, OrderedIndex } from './ordered-index.js';

/** The extent form of the free map (see the head comment). */
export class ExtentMap implements FreeMap {
  readonly kind = 'extents' as const;
  private readonly byStart = new OrderedIndex();
  private readonly byLength = new OrderedIndex();
  freeUnits = 0;
  fullStripeCount = 0;

  constructor(readonly unitCount: number, readonly stripeUnits: number) {
    assert(unitCount > 0 && stripeUnits > 0, 'extent map geometry');
  }

  /**
   * Fills an empty map from runs sorted by start that neither overlap nor touch (what decode and
   * rebuild produce), in O(n log n) for the length order instead of 2n treap inserts.
   */
  load(runs: readonly Run[]): void {
    assert(this.byStart.size === 0, 'load into a non-empty extent map');
    const count = runs.length;
    const starts = new Float64Array(count);
    const lengths = new Float64Array(count);
    let previousEnd = -1;
    for (let i = 0; i < count; i++) {
      const run = runs[i]!;
      assert(run.length > 0 && run.start > previousEnd && run.start + run.length <= this.unitCount, 'load: runs not sorted and maximal');
      previousEnd = run.start + run.length;
      starts[i] = run.start;
      lengths[i] = run.length;
      this.freeUnits += run.length;
      this.fullStripeCount += stripesWithin(run.start, run.length, this.stripeUnits);
    }
    this.byStart.loadSorted(starts, new Float64Array(count), lengths);
    const [byLength, byStart] = lengthColumns(starts, lengths, this.unitCount);
    this.byLength.loadSorted(byLength, byStart, new Float64Array(count));
  }

  get runCount(): number {
    return this.byStart.size;
  }

  insert(start: number, length: number): void {
    assert(length > 0 && start >= 0 && start + length <= this.unitCount, 'insert out of range');
    let runStart = start;
    let runEnd = start + length;
    const before = this.byStart.floor(start, 0);
    if (before !== NONE) {
      const end = this.byStart.keyAOf(before) + this.byStart.valueOf(before);
      if (end > start) throw new AssertionError(`insert [${start}, +${length}) overlaps a free run`);
      if (end === start) {
        runStart = this.byStart.keyAOf(before);
        this.removeRun(runStart, this.byStart.valueOf(before));
      }
    }
    const after = this.byStart.successor(start, 0);
    if (after !== NONE) {
      const afterStart = this.byStart.keyAOf(after);
      if (afterStart < runEnd) throw new AssertionError(`insert [${start}, +${length}) overlaps a free run`);
      if (afterStart === runEnd) {
        const afterLength = this.byStart.valueOf(after);
        this.removeRun(afterStart, afterLength);
        runEnd += afterLength;
      }
    }
    this.addRun(runStart, runEnd - runStart);
  }

  take(start: number, length: number): void {
    assert(length > 0, 'take of nothing');
    const run = this.runAt(start);
    assert(run !== null && start + length <= run.start + run.length, 'take of units not free');
    this.removeRun(run.start, run.length);
    if (start > run.start) this.addRun(run.start, start - run.start);
    const end = start + length;
    const runEnd = run.start + run.length;
    if (runEnd > end) this.addRun(end, runEnd - end);
  }

  runAt(unit: number): Run | null {
    const node = this.byStart.floor(unit, 0);
    if (node === NONE) return null;
    const start = this.byStart.keyAOf(node);
    const length = this.byStart.valueOf(node);
    return unit < start + length ? { start, length } : null;
  }

  overlaps(start: number, length: number): boolean {
    if (this.runAt(start) !== null) return true;
    const next = this.byStart.successor(start, 0);
    return next !== NONE && this.byStart.keyAOf(next) < start + length;
  }

  firstFit(from: number, length: number): number | null {
    const here = this.runAt(from);
    if (here !== null && here.start + here.length - from >= length) return from;
    const node = this.byStart.firstWithValueAtLeast(from + 1, length);
    return node === NONE ? null : this.byStart.keyAOf(node);
  }

  bestFit(length: number): Run | null {
    const node = this.byLength.lowerBound(length, 0);
    if (node === NONE) return null;
    return { start: this.byLength.keyBOf(node), length: this.byLength.keyAOf(node) };
  }

  largest(): Run | null {
    const node = this.byLength.last();
    if (node === NONE) return null;
    // The first run with the largest length: lower bound of (maxLength, 0).
    const first = this.byLength.lowerBound(this.byLength.keyAOf(node), 0);
    return { start: this.byLength.keyBOf(first), length: this.byLength.keyAOf(first) };
  }

  forEach(visit: (start: number, length: number) => boolean | void): void {
    this.byStart.forEach((start, _zero, length) => visit(start, length));
  }

  forEachBySize(minLength: number, visit: (start: number, length: number) => boolean | void): void {
    let node = this.byLength.lowerBound(minLength, 0);
    while (node !== NONE) {
      const length = this.byLength.keyAOf(node);
      const start = this.byLength.keyBOf(node);
      if (visit(start, length) === false) return;
      node = this.byLength.successor(length, start);
    }
  }

  memoryBytes(): number {
    return this.byStart.memoryBytes() + this.byLength.memoryBytes();
  }

  checkStructure(): string[] {
    const problems = [
      ...this.byStart.checkStructure().map((p) => `start index: ${p}`),
      ...this.byLength.checkStructure().map((p) => `length index: ${p}`),
    ];
    if (this.byStart.size !== this.byLength.size) {
      problems.push(`index sizes differ: ${this.byStart.size} vs ${this.byLength.size}`);
    }
    let free = 0;
    let stripes = 0;
    let previousEnd = -1;
    this.forEach((start, length) => {
      if (length <= 0 || start < 0 || start + length > this.unitCount) {
        problems.push(`run [${start}, +${length}) out of range`);
      }
      if (start <= previousEnd) problems.push(`run at ${start} overlaps or touches the previous`);
      if (this.byLength.find(length, start) === NONE) problems.push(`run at ${start} not by length`);
      previousEnd = start + length;
      free += length;
      stripes += stripesWithin(start, length, this.stripeUnits);
      return problems.length < 32;
    });
    if (free !== this.freeUnits) problems.push(`free units ${this.freeUnits}, recount ${free}`);
    if (stripes !== this.fullStripeCount) {
      problems.push(`full stripes ${this.fullStripeCount}, recount ${stripes}`);
    }
    return problems;
  }

  private addRun(start: number, length: number): void {
    this.byStart.insert(start, 0, length);
    this.byLength.insert(length, start, 0);
    this.freeUnits += length;
    this.fullStripeCount += stripesWithin(start, length, this.stripeUnits);
  }

  private removeRun(start: number, length: number): void {
    this.byStart.remove(start, 0);
    this.byLength.remove(length, start);
    this.freeUnits -= length;
    this.fullStripeCount -= stripesWithin(start, length, this.stripeUnits);
  }
}

const PACK_SHIFT = 2 ** 32;

/**
 * The (length, start) index columns, sorted. When start < 2^32 and length < 2^21, the packed
 * key length * 2^32 + start is an exact safe integer, and one numeric typed-array sort beats a
 * comparator sort of a million objects several times over; otherwise the comparator sort.
 */
function lengthColumns(starts: Float64Array, lengths: Float64Array, unitCount: number): [Float64Array, Float64Array] {
  const count = starts.length;
  const byLength = new Float64Array(count);
  const byStart = new Float64Array(count);
  const maxLength = lengths.reduce((max, l) => Math.max(max, l), 0);
  if (unitCount <= PACK_SHIFT && maxLength < 2 ** 21) {
    const keys = new Float64Array(count);
    for (let i = 0; i < count; i++) keys[i] = lengths[i]! * PACK_SHIFT + starts[i]!;
    keys.sort();
    for (let i = 0; i < count; i++) {
      const length = Math.floor(keys[i]! / PACK_SHIFT);
      byLength[i] = length;
      byStart[i] = keys[i]! - length * PACK_SHIFT;
    }
    return [byLength, byStart];
  }
  const order = Array.from({ length: count }, (_, i) => i)
    .sort((x, y) => lengths[x]! - lengths[y]! || starts[x]! - starts[y]!);
  for (let i = 0; i < count; i++) {
    byLength[i] = lengths[order[i]!]!;
    byStart[i] = starts[order[i]!]!;
  }
  return [byLength, byStart];
}
