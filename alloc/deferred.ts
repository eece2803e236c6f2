/**
 * Deferred frees: extents freed in generation g stay unallocatable until the owner says g is
 * durable (`releaseUpTo(g)`), because the last durable checkpoint may still reference them.
 *
 * Runs are indexed by (start, generation) for overlap checks (double-free detection), and
 * grouped by generation for release. Units are allocation units.
 *
 * Invariants (checked by alloc/check.ts):
 * - deferred runs never overlap each other (nor a free run: the allocator checks that);
 * - `units` equals the sum of run lengths, and both indexes hold the same runs.
 */
import { assert } from '../common/assert.js';
import type { Run } from './free-map.js';
import { NONE, OrderedIndex } from './ordered-index.js';

/** Extents freed but not yet allocatable, by generation. */
export class DeferredFrees {
  private readonly byStart = new OrderedIndex();
  private readonly byGeneration = new Map<number, Run[]>();
  /** Total deferred units. */
  units = 0;

  /** Number of deferred runs. */
  get runCount(): number {
    return this.byStart.size;
  }

  add(start: number, length: number, generation: number): void {
    assert(length > 0 && !this.overlaps(start, length), 'deferred free overlaps a deferred run');
    this.byStart.insert(start, generation, length);
    const list = this.byGeneration.get(generation) ?? [];
    list.push({ start, length });
    this.byGeneration.set(generation, list);
    this.units += length;
  }

  /** Whether any unit of [start, start + length) is deferred. */
  overlaps(start: number, length: number): boolean {
    const before = this.byStart.floor(start, Number.MAX_SAFE_INTEGER);
    if (before !== NONE && this.byStart.keyAOf(before) + this.byStart.valueOf(before) > start) {
      return true;
    }
    const after = this.byStart.successor(start, Number.MAX_SAFE_INTEGER);
    return after !== NONE && this.byStart.keyAOf(after) < start + length;
  }

  /** Removes and returns every run freed in a generation <= `generation`. */
  releaseUpTo(generation: number): Run[] {
    const released: Run[] = [];
    const due = [...this.byGeneration.keys()].filter((g) => g <= generation).sort((a, b) => a - b);
    for (const g of due) {
      for (const run of this.byGeneration.get(g)!) {
        this.byStart.remove(run.start, g);
        this.units -= run.length;
        released.push(run);
      }
      this.byGeneration.delete(g);
    }
    return released;
  }

  /** Visits runs in offset order. */
  forEach(visit: (start: number, length: number, generation: number) => void): void {
    this.byStart.forEach((start, generation, length) => {
      visit(start, length, generation);
    });
  }

  /** Internal consistency problems (empty when sound). */
  checkStructure(): string[] {
    const problems = this.byStart.checkStructure().map((p) => `deferred index: ${p}`);
    let units = 0;
    let listed = 0;
    for (const [g, runs] of this.byGeneration) {
      for (const run of runs) {
        listed++;
        units += run.length;
        if (this.byStart.find(run.start, g) === NONE) problems.push(`deferred run ${run.start} unindexed`);
      }
    }
    if (listed !== this.byStart.size) problems.push(`deferred lists ${listed} != index ${this.byStart.size}`);
    if (units !== this.units) problems.push(`deferred units ${this.units}, recount ${units}`);
    let previousEnd = -1;
    this.forEach((start, length) => {
      if (start < previousEnd) problems.push(`deferred run at ${start} overlaps the previous`);
      previousEnd = start + length;
    });
    return problems;
  }
}
