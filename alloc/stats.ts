/**
 * Allocator statistics: one snapshot of the space accounting and of how well the stripe and
 * fragmentation policies are doing.
 *
 * Accounting identity (checked by alloc/check.ts and the tests):
 *   freeBytes + allocatedBytes + reservedBytes + deferredBytes = capacityBytes
 * where `freeBytes` is free space not promised to a reservation (it includes the slack).
 */
import type { FreeMap } from './free-map.js';
import type { Geometry } from './geometry.js';

/** Counters kept by the allocator since it was built. */
export interface AllocatorCounters {
  /** Successful allocate() calls. */
  allocations: number;
  /** Successful allocations of at least one full stripe (striping on). */
  fullStripeRequests: number;
  /** Full-stripe requests that had to use unaligned space (no whole stripe left). */
  stripeFallbacks: number;
  /** Allocations that failed with ENOSPC. */
  enospc: number;
  /** Changes of free-map representation (extents <-> bitmap). */
  formChanges: number;
}

/** A snapshot of the allocator's state. */
export interface AllocatorStats {
  capacityBytes: number;
  unitBytes: number;
  /** Full stripe size in bytes (the unit when striping is off). */
  stripeBytes: number;
  /** Free and not reserved (includes the slack). */
  freeBytes: number;
  /** Promised to live reservations. */
  reservedBytes: number;
  /** Freed but waiting for their generation to become durable. */
  deferredBytes: number;
  /** In use. */
  allocatedBytes: number;
  /** Held back for privileged callers. */
  slackBytes: number;
  /** What an ordinary, unreserved allocation can get (free minus slack, at least 0). */
  allocatableBytes: number;
  /** Longest free extent (reserved space included: reservations pin no particular units). */
  largestFreeBytes: number;
  /** Number of maximal free extents. */
  freeExtentCount: number;
  /** Whole, aligned, free stripes. */
  freeFullStripes: number;
  /**
   * 0 when all free space is one extent, towards 1 as it splits into many small ones:
   * 1 - sum(length^2) / (sum(length))^2 over free extents.
   */
  fragmentation: number;
  /** Which free-map representation is in use. */
  mapForm: 'extents' | 'bitmap';
  /** Approximate memory held by the free map. */
  mapMemoryBytes: number;
  /** Last generation passed to markDurable. */
  durableGeneration: number;
  /** Live reservations. */
  reservationCount: number;
  counters: AllocatorCounters;
}

/** Inputs the allocator passes in (all unit counts). */
export interface StatsInput {
  geometry: Geometry;
  map: FreeMap;
  reservedUnits: number;
  deferredUnits: number;
  durableGeneration: number;
  reservationCount: number;
  counters: AllocatorCounters;
}

/** 1 - sum(len^2) / free^2 over the free runs (O(number of runs)). */
export function fragmentationScore(map: FreeMap): number {
  if (map.freeUnits === 0) return 0;
  let squares = 0;
  map.forEach((_start, length) => {
    const share = length / map.freeUnits;
    squares += share * share;
  });
  return Math.min(1, Math.max(0, 1 - squares));
}

/** Builds a stats snapshot from the allocator's parts. */
export function computeStats(input: StatsInput): AllocatorStats {
  const { geometry: g, map } = input;
  const u = g.unitBytes;
  const freeUnits = map.freeUnits - input.reservedUnits;
  const allocatedUnits = g.unitCount - map.freeUnits - input.deferredUnits;
  return {
    capacityBytes: g.capacityBytes,
    unitBytes: u,
    stripeBytes: g.stripeUnits * u,
    freeBytes: freeUnits * u,
    reservedBytes: input.reservedUnits * u,
    deferredBytes: input.deferredUnits * u,
    allocatedBytes: allocatedUnits * u,
    slackBytes: g.slackUnits * u,
    allocatableBytes: Math.max(0, freeUnits - g.slackUnits) * u,
    largestFreeBytes: (map.largest()?.length ?? 0) * u,
    freeExtentCount: map.runCount,
    freeFullStripes: map.fullStripeCount,
    fragmentation: fragmentationScore(map),
    mapForm: map.kind,
    mapMemoryBytes: map.memoryBytes(),
    durableGeneration: input.durableGeneration,
    reservationCount: input.reservationCount,
    counters: { ...input.counters },
  };
}
