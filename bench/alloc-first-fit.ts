/**
 * The peer for bench/alloc.ts: a naive first-fit extent allocator, the textbook baseline.
 *
 * Free extents live in two parallel arrays sorted by offset. Allocation scans from the start
 * for the first extent long enough (O(n)); when none is, it takes extents in offset order until
 * the request is met, up to the same extent limit ebofs uses. Free binary-searches the slot,
 * coalesces with neighbours and splices (O(n) moves). No stripes, no cursor, no deferral.
 * All numbers are bytes, aligned to the unit.
 */
import { assert } from '../common/assert.js';
import type { Extent } from '../alloc/index.js';

export class FirstFitAllocator {
  private offsets: number[] = [];
  private lengths: number[] = [];

  constructor(readonly unitBytes: number, freeRuns: Iterable<Extent>, readonly extentLimit = 64) {
    for (const e of freeRuns) {
      this.offsets.push(e.offset);
      this.lengths.push(e.length);
    }
  }

  get freeExtentCount(): number {
    return this.offsets.length;
  }

  /** Allocates `bytes` (rounded up to the unit), or returns null when it cannot. */
  allocate(bytes: number): Extent[] | null {
    const want = Math.ceil(bytes / this.unitBytes) * this.unitBytes;
    for (let i = 0; i < this.offsets.length; i++) {
      if (this.lengths[i]! >= want) return [this.takeFrom(i, want)];
    }
    let total = 0;
    let count = 0;
    for (; count < this.offsets.length && total < want && count < this.extentLimit; count++) {
      total += this.lengths[count]!;
    }
    if (total < want) return null;
    const out: Extent[] = [];
    let remaining = want;
    while (remaining > 0) {
      const piece = this.takeFrom(0, Math.min(remaining, this.lengths[0]!));
      out.push(piece);
      remaining -= piece.length;
    }
    return out;
  }

  /** Frees extents immediately (coalescing with neighbours). */
  free(extents: readonly Extent[]): void {
    for (const e of extents) this.freeOne(e.offset, e.length);
  }

  largestFree(): number {
    let max = 0;
    for (const length of this.lengths) if (length > max) max = length;
    return max;
  }

  private takeFrom(index: number, length: number): Extent {
    const offset = this.offsets[index]!;
    if (this.lengths[index] === length) {
      this.offsets.splice(index, 1);
      this.lengths.splice(index, 1);
    } else {
      this.offsets[index] = offset + length;
      this.lengths[index] = this.lengths[index]! - length;
    }
    return { offset, length };
  }

  private freeOne(offset: number, length: number): void {
    let lo = 0;
    let hi = this.offsets.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.offsets[mid]! < offset) lo = mid + 1;
      else hi = mid;
    }
    const before = lo - 1;
    const joinsBefore = before >= 0 && this.offsets[before]! + this.lengths[before]! === offset;
    const joinsAfter = lo < this.offsets.length && offset + length === this.offsets[lo]!;
    assert(before < 0 || this.offsets[before]! + this.lengths[before]! <= offset, 'first-fit double free');
    if (joinsBefore && joinsAfter) {
      this.lengths[before] = this.lengths[before]! + length + this.lengths[lo]!;
      this.offsets.splice(lo, 1);
      this.lengths.splice(lo, 1);
    } else if (joinsBefore) {
      this.lengths[before] = this.lengths[before]! + length;
    } else if (joinsAfter) {
      this.offsets[lo] = offset;
      this.lengths[lo] = this.lengths[lo]! + length;
    } else {
      this.offsets.splice(lo, 0, offset);
      this.lengths.splice(lo, 0, length);
    }
  }
}
