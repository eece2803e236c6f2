/**
 * Public API of alloc/: the stripe-aware extent allocator (pure logic, no I/O).
 *
 * ```ts
 * const a = createAllocator({ capacityBytes: 1 << 30, stripeUnitBytes: 64 << 10, stripeWidth: 4 });
 * const r = a.reserve(8 << 20);                      // recovery can no longer hit ENOSPC
 * const extents = a.allocate(1 << 20, { reservation: r });
 * a.free(extents, 7);                                // freed in checkpoint generation 7 ...
 * a.markDurable(7);                                  // ... allocatable once 7 is durable
 * const bytes = a.encode();                          // persist at checkpoint
 * const b = decodeAllocator(bytes);                  // load at mount
 * ```
 *
 * Offsets and lengths are byte numbers (safe integers) aligned to the allocation unit. Errors:
 * EbofsError ENOSPC (no space, or too fragmented for the request's shape), EINVAL (bad argument,
 * double free), E2BIG (a limit from alloc/format.ts), EFORMAT (newer map format);
 * CorruptionError ECHECKSUM/ECORRUPT from decoding damaged bytes. See docs/alloc.md.
 */

/**
 * The allocator. Build one with `createAllocator`, `decodeAllocator` or `rebuildAllocator`.
 * Main methods: `allocate(bytes, options)`, `free(extents, generation)`,
 * `markDurable(generation)`, `markUsed(extents)`, `reserve(bytes)`, `release(reservation)`,
 * `encode()`, `stats()`.
 */
export type { Allocator } from './allocator.js';

/** A byte range `{ offset, length }` on the device. */
export type { Extent } from './allocator.js';

/** Options of `allocate`: `contiguous`, `hint`, `reservation`, `privileged`. */
export type { AllocateOptions } from './allocator.js';

/** Options of `createAllocator` and `rebuildAllocator` (capacity, unit, stripe geometry, limits). */
export type { AllocatorOptions } from './geometry.js';

/** A space reservation returned by `reserve`; pass it to `allocate` and then to `release`. */
export type { Reservation } from './reservations.js';

/** The snapshot returned by `stats()`, and its counters. */
export type { AllocatorStats, AllocatorCounters } from './stats.js';

/** Policy options that may be overridden when decoding a map. */
export type { DecodeOptions } from './load.js';

/** Findings of `check` and its options. */
export type { Finding, FindingKind, CheckOptions } from './check.js';

/** Builds an allocator whose whole device is free. Throws EINVAL for bad options. */
export { createAllocator } from './allocator.js';

/** Rebuilds an allocator from `encode()` output (mount). */
export { decodeAllocator } from './load.js';

/** Rebuilds an allocator as the complement of a list of used extents (fsck). */
export { rebuildAllocator } from './load.js';

/** Returns every invariant violation of an allocator (empty list = sound). */
export { check } from './check.js';

/** Default allocation unit (4 KiB) and the per-request byte limit. */
export { ALLOCATION_UNIT_BYTES_DEFAULT, ALLOCATION_BYTES_MAX } from './format.js';
