/**
 * Comparators by name. A tree descriptor stores its comparator's name, so a tree reopened
 * later (or in a worker thread) sorts the same way; opening a tree whose comparator is not
 * registered fails with ENOTSUP naming it.
 *
 * A comparator compares two byte ranges in place (no copies, no allocation): it receives the
 * buffers, offsets and lengths, and returns a negative number, zero or a positive number. It
 * must be a total order and must depend only on the bytes (it runs in every worker thread, so a
 * custom comparator must be registered in each thread under the same name).
 *
 * Built in:
 * - `bytes`: unsigned lexicographic; a proper prefix sorts first (memcmp, then length).
 * - `u64`: 8-byte little-endian unsigned integers (keys must be exactly 8 bytes).
 */
import { EbofsError } from '../common/errors.js';

export type CompareFn = (
  a: Uint8Array, aOffset: number, aLength: number,
  b: Uint8Array, bOffset: number, bLength: number,
) => number;

export interface Comparator {
  readonly name: string;
  readonly compare: CompareFn;
  /** When set, keys must be exactly this many bytes (u64: 8). */
  readonly keySizeBytes?: number;
}

export const COMPARATOR_NAME_MAX_BYTES = 64;

/** Unsigned lexicographic comparison of two byte ranges. */
export function compareBytes(
  a: Uint8Array, aOffset: number, aLength: number,
  b: Uint8Array, bOffset: number, bLength: number,
): number {
  const n = aLength < bLength ? aLength : bLength;
  for (let i = 0; i < n; i++) {
    const d = a[aOffset + i]! - b[bOffset + i]!;
    if (d !== 0) return d;
  }
  return aLength - bLength;
}

/** Compares two 8-byte little-endian unsigned integers (most significant byte last). */
export function compareU64(
  a: Uint8Array, aOffset: number, _aLength: number,
  b: Uint8Array, bOffset: number, _bLength: number,
): number {
  for (let i = 7; i >= 0; i--) {
    const d = a[aOffset + i]! - b[bOffset + i]!;
    if (d !== 0) return d;
  }
  return 0;
}

const registry = new Map<string, Comparator>([
  ['bytes', { name: 'bytes', compare: compareBytes }],
  ['u64', { name: 'u64', compare: compareU64, keySizeBytes: 8 }],
]);

/**
 * Registers a comparator under `name`. Re-registering the same name with a different function
 * is EINVAL (a tree's order must never change under it).
 */
export function registerComparator(comparator: Comparator): void {
  const name = comparator.name;
  if (name.length === 0 || Buffer.byteLength(name) > COMPARATOR_NAME_MAX_BYTES ||
      !/^[\x21-\x7e]+$/.test(name)) {
    throw new EbofsError('EINVAL', `bad comparator name ${JSON.stringify(name)}`);
  }
  const existing = registry.get(name);
  if (existing !== undefined && existing.compare !== comparator.compare) {
    throw new EbofsError('EINVAL', `comparator ${name} is already registered`);
  }
  registry.set(name, comparator);
}

/** The comparator registered as `name`; ENOTSUP when there is none. */
export function getComparator(name: string): Comparator {
  const found = registry.get(name);
  if (found === undefined) {
    throw new EbofsError('ENOTSUP', `comparator ${JSON.stringify(name)} is not registered ` +
      `(register it with registerComparator before opening the tree)`);
  }
  return found;
}

/** Encodes a non-negative safe integer as an 8-byte little-endian `u64` key. */
export function u64Key(value: number): Uint8Array {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new EbofsError('EINVAL', `u64 key ${value} is not a safe non-negative integer`);
  }
  const out = new Uint8Array(8);
  const lo = value >>> 0;
  const hi = Math.floor(value / 0x1_0000_0000);
  for (let i = 0; i < 4; i++) {
    out[i] = (lo >>> (8 * i)) & 0xff;
    out[4 + i] = (hi >>> (8 * i)) & 0xff;
  }
  return out;
}
