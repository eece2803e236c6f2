/**
 * Allocator options and the validated geometry derived from them.
 *
 * Everything inside alloc/ works in allocation units ("units"): unit i covers bytes
 * [i * unitBytes, (i + 1) * unitBytes). The public API speaks bytes; this file converts.
 * A full stripe is `stripeUnits` consecutive units starting at a multiple of `stripeUnits`;
 * without striping a stripe is one unit, so "whole stripes" is trivially true.
 */
import { EbofsError } from '../common/errors.js';
import { alignDown, isPowerOfTwo } from '../common/ints.js';
import {
  ALLOCATION_UNIT_BYTES_DEFAULT, ALLOCATION_UNIT_BYTES_MAX, ALLOCATION_UNIT_BYTES_MIN,
  CAPACITY_BYTES_MAX, EXTENTS_PER_ALLOCATION_DEFAULT, EXTENTS_PER_ALLOCATION_LIMIT,
  FREE_EXTENT_COUNT_CAP_DEFAULT, SLACK_BYTES_DEFAULT_MAX, SLACK_SHARE_DEFAULT, STRIPE_BYTES_MAX,
  STRIPE_WIDTH_MAX,
} from './format.js';

/** How to build an allocator. Only `capacityBytes` is required. */
export interface AllocatorOptions {
  /** Device size in bytes; rounded down to the allocation unit. */
  capacityBytes: number;
  /** Allocation unit: a power of two from 4 KiB to 1 MiB (default 4 KiB). */
  unitBytes?: number;
  /** Stripe unit in bytes, a multiple of the allocation unit (default: one unit). */
  stripeUnitBytes?: number;
  /** Data disks per stripe (default 1: no striping). */
  stripeWidth?: number;
  /** Free space held back for privileged callers (deletes, checkpoints). */
  slackBytes?: number;
  /** Most extents one ordinary allocation may return (default 64). */
  extentsPerAllocationMax?: number;
  /** Free-extent count past which the map switches to its compact bitmap form. */
  freeExtentCountCap?: number;
}

/** Validated, unit-based geometry. */
export interface Geometry {
  readonly unitBytes: number;
  readonly unitCount: number;
  readonly capacityBytes: number;
  readonly stripeUnitBytes: number;
  readonly stripeWidth: number;
  /** Units per full stripe (1 without striping). */
  readonly stripeUnits: number;
  readonly striped: boolean;
  readonly slackUnits: number;
  readonly extentsPerAllocationMax: number;
  readonly freeExtentCountCap: number;
}

function invalid(message: string): EbofsError {
  return new EbofsError('EINVAL', `allocator options: ${message}`);
}

function checkInteger(value: number, what: string, lo: number, hi: number): void {
  if (!Number.isSafeInteger(value) || value < lo || value > hi) {
    throw invalid(`${what} must be an integer in [${lo}, ${hi}], got ${value}`);
  }
}

/** Validates options (EINVAL on a bad one) and derives the geometry. */
export function makeGeometry(options: AllocatorOptions): Geometry {
  const unitBytes = options.unitBytes ?? ALLOCATION_UNIT_BYTES_DEFAULT;
  checkInteger(unitBytes, 'unitBytes', ALLOCATION_UNIT_BYTES_MIN, ALLOCATION_UNIT_BYTES_MAX);
  if (!isPowerOfTwo(unitBytes)) throw invalid(`unitBytes ${unitBytes} is not a power of two`);
  checkInteger(options.capacityBytes, 'capacityBytes', 0, CAPACITY_BYTES_MAX);
  const capacityBytes = alignDown(options.capacityBytes, unitBytes);
  if (capacityBytes === 0) throw invalid('capacity is smaller than one allocation unit');
  const stripeUnitBytes = options.stripeUnitBytes ?? unitBytes;
  const stripeWidth = options.stripeWidth ?? 1;
  checkInteger(stripeUnitBytes, 'stripeUnitBytes', unitBytes, STRIPE_BYTES_MAX);
  checkInteger(stripeWidth, 'stripeWidth', 1, STRIPE_WIDTH_MAX);
  if (stripeUnitBytes % unitBytes !== 0) throw invalid('stripe unit is not a multiple of the unit');
  if (stripeUnitBytes * stripeWidth > STRIPE_BYTES_MAX) throw invalid('full stripe too large');
  const stripeUnits = (stripeUnitBytes * stripeWidth) / unitBytes;
  const unitCount = capacityBytes / unitBytes;
  const slackDefault = Math.min(capacityBytes * SLACK_SHARE_DEFAULT, SLACK_BYTES_DEFAULT_MAX);
  const slackBytes = options.slackBytes ?? alignDown(slackDefault, unitBytes);
  checkInteger(slackBytes, 'slackBytes', 0, capacityBytes);
  const extentsMax = options.extentsPerAllocationMax ?? EXTENTS_PER_ALLOCATION_DEFAULT;
  checkInteger(extentsMax, 'extentsPerAllocationMax', 1, EXTENTS_PER_ALLOCATION_LIMIT);
  const cap = options.freeExtentCountCap ?? FREE_EXTENT_COUNT_CAP_DEFAULT;
  checkInteger(cap, 'freeExtentCountCap', 16, CAPACITY_BYTES_MAX);
  return {
    unitBytes, unitCount, capacityBytes, stripeUnitBytes, stripeWidth, stripeUnits,
    striped: stripeUnits > 1,
    slackUnits: Math.ceil(slackBytes / unitBytes),
    extentsPerAllocationMax: extentsMax,
    freeExtentCountCap: cap,
  };
}

/** The options that reproduce `geometry` (used when decoding a map). */
export function geometryOptions(geometry: Geometry): AllocatorOptions {
  return {
    capacityBytes: geometry.capacityBytes,
    unitBytes: geometry.unitBytes,
    stripeUnitBytes: geometry.stripeUnitBytes,
    stripeWidth: geometry.stripeWidth,
    slackBytes: geometry.slackUnits * geometry.unitBytes,
    extentsPerAllocationMax: geometry.extentsPerAllocationMax,
    freeExtentCountCap: geometry.freeExtentCountCap,
  };
}

/** Whole aligned stripes inside units [start, start + length). */
export function stripesWithin(start: number, length: number, stripeUnits: number): number {
  const first = Math.ceil(start / stripeUnits) * stripeUnits;
  const end = Math.floor((start + length) / stripeUnits) * stripeUnits;
  return end > first ? (end - first) / stripeUnits : 0;
}
