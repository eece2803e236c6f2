/**
 * The allocator's full invariant checker (bbolt `tx.Check()` style): returns every violation it
 * finds, up to `maxFindings`; an empty list means the allocator is sound. Tests run it after
 * every operation; fsck can run it after loading a map.
 *
 * Invariants checked:
 * - free map: its own structure (index order and balance data, both indexes agree, runs maximal,
 *   in range, counters equal recounts; or, in bitmap form, summaries equal popcounts);
 * - deferred frees: their structure, no overlap with free space, generations not yet durable;
 * - reservations: remaining units sum to the reserved total; free space covers them;
 * - accounting: free + deferred <= capacity (allocated is never negative);
 * - cursor and open stripe inside the device.
 */
import type { Allocator } from './allocator.js';
import { CHECK_FINDINGS_MAX_DEFAULT } from './format.js';

/** What part of the allocator a finding is about. */
export type FindingKind = 'map' | 'deferred' | 'reservation' | 'accounting' | 'cursor';

/** One invariant violation. */
export interface Finding {
  kind: FindingKind;
  message: string;
}

/** Options of `check`. */
export interface CheckOptions {
  /** Stop after this many findings (default 100). */
  maxFindings?: number;
}

/** Every invariant violation in `allocator` (empty when sound). */
export function check(allocator: Allocator, options: CheckOptions = {}): Finding[] {
  const max = options.maxFindings ?? CHECK_FINDINGS_MAX_DEFAULT;
  const findings: Finding[] = [];
  const add = (kind: FindingKind, messages: string[]): void => {
    for (const message of messages) if (findings.length < max) findings.push({ kind, message });
  };
  add('map', allocator.map.checkStructure());
  add('deferred', allocator.deferred.checkStructure());
  add('deferred', checkDeferred(allocator));
  add('reservation', checkReservations(allocator));
  add('accounting', checkAccounting(allocator));
  add('cursor', checkCursor(allocator));
  return findings;
}

function checkDeferred(allocator: Allocator): string[] {
  const problems: string[] = [];
  allocator.deferred.forEach((start, length, generation) => {
    if (allocator.map.overlaps(start, length)) problems.push(`deferred run at unit ${start} is also free`);
    if (generation <= allocator.durableGeneration) {
      problems.push(`deferred run at unit ${start} has durable generation ${generation}`);
    }
    if (start < 0 || start + length > allocator.geometry.unitCount) {
      problems.push(`deferred run at unit ${start} outside the device`);
    }
  });
  return problems;
}

function checkReservations(allocator: Allocator): string[] {
  const problems: string[] = [];
  const recount = allocator.reservations.recount();
  if (recount !== allocator.reservations.units) {
    problems.push(`reserved units ${allocator.reservations.units}, recount ${recount}`);
  }
  if (allocator.map.freeUnits < allocator.reservations.units) {
    problems.push(`free units ${allocator.map.freeUnits} below reserved ${allocator.reservations.units}`);
  }
  return problems;
}

function checkAccounting(allocator: Allocator): string[] {
  const problems: string[] = [];
  const s = allocator.stats();
  if (s.freeBytes + s.allocatedBytes + s.reservedBytes + s.deferredBytes !== s.capacityBytes) {
    problems.push('free + allocated + reserved + deferred != capacity');
  }
  if (s.allocatedBytes < 0) problems.push(`allocated bytes negative: ${s.allocatedBytes}`);
  if (allocator.map.freeUnits + allocator.deferred.units > allocator.geometry.unitCount) {
    problems.push('free + deferred exceed capacity');
  }
  return problems;
}

function checkCursor(allocator: Allocator): string[] {
  const { cursor, openStripe } = allocator.placer;
  const g = allocator.geometry;
  const problems: string[] = [];
  if (!Number.isSafeInteger(cursor) || cursor < 0 || cursor >= g.unitCount) {
    problems.push(`cursor ${cursor} outside the device`);
  }
  if (openStripe !== -1 && (openStripe < 0 || openStripe * g.stripeUnits >= g.unitCount)) {
    problems.push(`open stripe ${openStripe} outside the device`);
  }
  return problems;
}
