/**
 * The compact form of the free map: one bit per allocation unit (1 = free) plus a summary of
 * free units per chunk of BITMAP_CHUNK_UNITS units, so scans skip full and empty chunks.
 *
 * Used when the extent form would need more memory than the cap allows (heavy fragmentation):
 * memory is fixed at unitCount / 8 bytes plus 4 bytes per chunk, whatever the fragmentation.
 * The price is speed: next-fit is a forward scan (fast while free space is near), best-fit and
 * largest scan every run. Run count and whole free stripes are kept incrementally so the
 * allocator's accounting and the form switch stay O(1).
 *
 * Invariants (checked by `checkStructure`): bits past unitCount are 0; each chunk summary equals
 * the popcount of its words; `freeUnits`, `runCount` and `fullStripeCount` equal recounts.
 */
import { assert } from '../common/assert.js';
import { AssertionError } from '../common/errors.js';
import { BITMAP_CHUNK_UNITS } from './format.js';
import type { FreeMap, Run } from './free-map.js';

const WORDS_PER_CHUNK = BITMAP_CHUNK_UNITS / 32;

function popcount(x: number): number {
  let v = x >>> 0;
  v -= (v >>> 1) & 0x55555555;
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (Math.imul((v + (v >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24);
}

/** Mask of bits [lo, hi) in a 32-bit word, 0 <= lo < hi <= 32. */
function maskOf(lo: number, hi: number): number {
  const upper = hi === 32 ? 0xffffffff : (1 << hi) - 1;
  return (upper & (0xffffffff << lo)) >>> 0;
}

function lowestBit(x: number): number {
  return 31 - Math.clz32(x & -x);
}

/** The bitmap form of the free map (see the head comment). */
export class BitmapMap implements FreeMap {
  readonly kind = 'bitmap' as const;
  private readonly words: Uint32Array;
  private readonly chunkFree: Uint32Array;
  freeUnits = 0;
  runCount = 0;
  fullStripeCount = 0;

  constructor(readonly unitCount: number, readonly stripeUnits: number) {
    assert(unitCount > 0 && stripeUnits > 0, 'bitmap geometry');
    this.words = new Uint32Array(Math.ceil(unitCount / 32));
    this.chunkFree = new Uint32Array(Math.ceil(unitCount / BITMAP_CHUNK_UNITS));
  }

  insert(start: number, length: number): void {
    assert(length > 0 && start >= 0 && start + length <= this.unitCount, 'insert out of range');
    if (this.countFree(start, length) !== 0) throw new AssertionError(`insert [${start}, +${length}) overlaps free`);
    const end = start + length;
    this.runCount += 1 - (this.isFree(start - 1) ? 1 : 0) - (this.isFree(end) ? 1 : 0);
    this.setRange(start, length, true);
    this.freeUnits += length;
    this.fullStripeCount += this.fullStripesTouching(start, end);
  }

  take(start: number, length: number): void {
    assert(length > 0 && this.countFree(start, length) === length, 'take of units not free');
    const end = start + length;
    this.fullStripeCount -= this.fullStripesTouching(start, end);
    this.setRange(start, length, false);
    this.freeUnits -= length;
    this.runCount += (this.isFree(start - 1) ? 1 : 0) + (this.isFree(end) ? 1 : 0) - 1;
  }

  runAt(unit: number): Run | null {
    if (!this.isFree(unit)) return null;
    const start = this.prevUsed(unit) + 1;
    return { start, length: this.nextUsed(unit) - start };
  }

  overlaps(start: number, length: number): boolean {
    return this.countFree(start, length) > 0;
  }

  firstFit(from: number, length: number): number | null {
    let probe = from;
    for (let step = 0; ; step++) {
      assert(step <= this.unitCount, 'bitmap scan did not advance');
      const start = this.nextFree(probe);
      if (start < 0) return null;
      const end = this.nextUsed(start);
      if (end - start >= length) return start;
      probe = end;
    }
  }

  bestFit(length: number): Run | null {
    let best: Run | null = null;
    this.forEach((start, runLength) => {
      if (runLength >= length && (best === null || runLength < best.length)) {
        best = { start, length: runLength };
      }
      return best === null || best.length !== length;
    });
    return best;
  }

  largest(): Run | null {
    let best: Run | null = null;
    this.forEach((start, length) => {
      if (best === null || length > best.length) best = { start, length };
    });
    return best;
  }

  forEach(visit: (start: number, length: number) => boolean | void): void {
    let probe = 0;
    for (let step = 0; ; step++) {
      assert(step <= this.unitCount, 'bitmap scan did not advance');
      const start = this.nextFree(probe);
      if (start < 0) return;
      const end = this.nextUsed(start);
      if (visit(start, end - start) === false) return;
      probe = end;
    }
  }

  forEachBySize(minLength: number, visit: (start: number, length: number) => boolean | void): void {
    // The slow way (the bitmap has no size index): collect, sort, visit.
    const runs: Run[] = [];
    this.forEach((start, length) => {
      if (length >= minLength) runs.push({ start, length });
    });
    runs.sort((a, b) => a.length - b.length || a.start - b.start);
    for (const run of runs) if (visit(run.start, run.length) === false) return;
  }

  memoryBytes(): number {
    return this.words.byteLength + this.chunkFree.byteLength;
  }

  checkStructure(): string[] {
    const problems: string[] = [];
    for (let c = 0; c < this.chunkFree.length; c++) {
      let count = 0;
      const last = Math.min(this.words.length, (c + 1) * WORDS_PER_CHUNK);
      for (let w = c * WORDS_PER_CHUNK; w < last; w++) count += popcount(this.words[w]!);
      if (count !== this.chunkFree[c]) problems.push(`chunk ${c} summary ${this.chunkFree[c]}, recount ${count}`);
    }
    const tail = this.unitCount % 32;
    if (tail !== 0 && (this.words[this.words.length - 1]! & ~maskOf(0, tail)) !== 0) {
      problems.push('bits set past the end of the device');
    }
    let free = 0;
    let runs = 0;
    this.forEach((_start, length) => {
      free += length;
      runs++;
    });
    let stripes = 0;
    const S = this.stripeUnits;
    for (let s = 0; (s + 1) * S <= this.unitCount; s++) if (this.countFree(s * S, S) === S) stripes++;
    if (free !== this.freeUnits) problems.push(`free units ${this.freeUnits}, recount ${free}`);
    if (runs !== this.runCount) problems.push(`run count ${this.runCount}, recount ${runs}`);
    if (stripes !== this.fullStripeCount) problems.push(`full stripes ${this.fullStripeCount}, recount ${stripes}`);
    return problems;
  }

  private isFree(unit: number): boolean {
    if (unit < 0 || unit >= this.unitCount) return false;
    return ((this.words[Math.floor(unit / 32)]! >>> (unit % 32)) & 1) === 1;
  }

  /** Whole free stripes among the stripes that [start, end) touches. */
  private fullStripesTouching(start: number, end: number): number {
    const S = this.stripeUnits;
    const lo = Math.floor(start / S);
    const hi = Math.floor((end - 1) / S);
    const full = (s: number): number => ((s + 1) * S <= this.unitCount && this.countFree(s * S, S) === S ? 1 : 0);
    if (lo === hi) return full(lo);
    // Stripes strictly between lo and hi lie inside [start, end), which is all free or all used.
    const inner = this.countFree(start, 1) === 1 ? hi - lo - 1 : 0;
    return full(lo) + full(hi) + inner;
  }

  private setRange(start: number, length: number, free: boolean): void {
    let unit = start;
    const end = start + length;
    while (unit < end) {
      const w = Math.floor(unit / 32);
      const lo = unit % 32;
      const hi = Math.min(32, lo + (end - unit));
      const mask = maskOf(lo, hi);
      const before = this.words[w]!;
      const after = (free ? before | mask : before & ~mask) >>> 0;
      this.words[w] = after;
      const chunk = Math.floor(w / WORDS_PER_CHUNK);
      this.chunkFree[chunk] = this.chunkFree[chunk]! + popcount(after) - popcount(before);
      unit += hi - lo;
    }
  }

  private countFree(start: number, length: number): number {
    let count = 0;
    let unit = Math.max(0, start);
    const end = Math.min(this.unitCount, start + length);
    while (unit < end) {
      const w = Math.floor(unit / 32);
      const lo = unit % 32;
      const hi = Math.min(32, lo + (end - unit));
      count += popcount(this.words[w]! & maskOf(lo, hi));
      unit += hi - lo;
    }
    return count;
  }

  /** First free unit >= from, or -1. */
  private nextFree(from: number): number {
    if (from >= this.unitCount) return -1;
    let w = Math.floor(from / 32);
    let bits = this.words[w]! & maskOf(from % 32, 32);
    for (;;) {
      if (bits !== 0) return w * 32 + lowestBit(bits);
      w++;
      while (w % WORDS_PER_CHUNK === 0 && w < this.words.length && this.chunkFree[w / WORDS_PER_CHUNK] === 0) {
        w += WORDS_PER_CHUNK;
      }
      if (w >= this.words.length) return -1;
      bits = this.words[w]!;
    }
  }

  /** First used unit >= from, or unitCount. */
  private nextUsed(from: number): number {
    if (from >= this.unitCount) return this.unitCount;
    let w = Math.floor(from / 32);
    let bits = ~this.words[w]! & maskOf(from % 32, 32);
    for (;;) {
      if (bits !== 0) return Math.min(this.unitCount, w * 32 + lowestBit(bits));
      w++;
      while (w % WORDS_PER_CHUNK === 0 && w < this.words.length
        && this.chunkFree[w / WORDS_PER_CHUNK] === BITMAP_CHUNK_UNITS) {
        w += WORDS_PER_CHUNK;
      }
      if (w >= this.words.length) return this.unitCount;
      bits = ~this.words[w]!;
    }
  }

  /** Last used unit <= from, or -1. */
  private prevUsed(from: number): number {
    let w = Math.floor(from / 32);
    let bits = ~this.words[w]! & maskOf(0, (from % 32) + 1);
    for (;;) {
      if (bits !== 0) return w * 32 + 31 - Math.clz32(bits);
      w--;
      while (w >= 0 && (w + 1) % WORDS_PER_CHUNK === 0
        && this.chunkFree[(w + 1) / WORDS_PER_CHUNK - 1] === BITMAP_CHUNK_UNITS) {
        w -= WORDS_PER_CHUNK;
      }
      if (w < 0) return -1;
      bits = ~this.words[w]!;
    }
  }
}
