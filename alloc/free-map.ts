/**
 * The free-map contract: the set of allocatable free units, as maximal runs.
 *
 * Two implementations: `ExtentMap` (alloc/extent-map.ts; two ordered indexes, O(log n) per
 * operation, memory proportional to the number of free runs) and `BitmapMap`
 * (alloc/bitmap-map.ts; one bit per unit plus a per-chunk summary, fixed memory, used when
 * fragmentation passes the memory cap). Placement policy (alloc/placement.ts) sees only this
 * interface, so both give the same placements wherever the bitmap answers exactly.
 *
 * All numbers are allocation units. A run is a maximal range of free units: two runs never
 * overlap or touch.
 */

/** A range of units. */
export interface Run {
  readonly start: number;
  readonly length: number;
}

/** The free units of a device as maximal runs, with the queries placement needs. */
export interface FreeMap {
  readonly kind: 'extents' | 'bitmap';
  /** Total free units. */
  readonly freeUnits: number;
  /** Number of maximal free runs. */
  readonly runCount: number;
  /** Whole aligned stripes inside free runs. */
  readonly fullStripeCount: number;
  /** Adds units that are not free; merges with touching runs. */
  insert(start: number, length: number): void;
  /** Removes units that all lie inside one free run. */
  take(start: number, length: number): void;
  /** The free run containing `unit`, or null. */
  runAt(unit: number): Run | null;
  /** Whether any unit of [start, start + length) is free. */
  overlaps(start: number, length: number): boolean;
  /** Lowest p >= from with [p, p + length) free, or null. */
  firstFit(from: number, length: number): number | null;
  /** The smallest run of at least `length` units (ties: lowest start), or null. */
  bestFit(length: number): Run | null;
  /** A longest run (ties: lowest start for extents), or null when nothing is free. */
  largest(): Run | null;
  /**
   * Visits runs of at least `minLength` units in (length, start) order; stops when `visit`
   * returns false.
   */
  forEachBySize(minLength: number, visit: (start: number, length: number) => boolean | void): void;
  /** Visits runs in offset order; stops when `visit` returns false. */
  forEach(visit: (start: number, length: number) => boolean | void): void;
  /** Approximate bytes of memory held. */
  memoryBytes(): number;
  /** Structural invariant violations (empty when sound). */
  checkStructure(): string[];
}
