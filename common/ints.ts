/**
 * Integer helpers: exact division, rounding to alignment, safe-integer checks, and little-endian
 * u64 access. The whole on-disk format of ebofs is little-endian.
 */
import { assert } from './assert.js';
import { CorruptionError } from './errors.js';

export function divExact(a: number, b: number): number {
  if (!(b > 0 && a % b === 0)) assert(false, `divExact(${a}, ${b}) is not exact`);
  return a / b;
}

export function divCeil(a: number, b: number): number {
  assert(b > 0, 'divCeil by zero');
  return Math.ceil(a / b);
}

export function alignUp(value: number, alignment: number): number {
  return Math.ceil(value / alignment) * alignment;
}

export function alignDown(value: number, alignment: number): number {
  return Math.floor(value / alignment) * alignment;
}

export function isPowerOfTwo(value: number): boolean {
  return Number.isSafeInteger(value) && value > 0 && Number.isInteger(Math.log2(value));
}

export function assertSafe(value: number, what: string): void {
  // The message is built only on failure: this runs for every u64 written.
  if (!(Number.isSafeInteger(value) && value >= 0)) assert(false, `${what} is not a safe non-negative integer: ${value}`);
}

/**
 * Writes a non-negative safe integer as u64 little-endian. Byte stores, not a DataView: this
 * runs for every key and record the engine encodes, and a view per call is an allocation.
 */
export function writeU64(buf: Uint8Array, offset: number, value: number): void {
  assertSafe(value, 'u64 value');
  checkSpan(buf, offset);
  const lo = value >>> 0;
  const hi = Math.floor(value / 2 ** 32);
  buf[offset] = lo;
  buf[offset + 1] = lo >>> 8;
  buf[offset + 2] = lo >>> 16;
  buf[offset + 3] = lo >>> 24;
  buf[offset + 4] = hi;
  buf[offset + 5] = hi >>> 8;
  buf[offset + 6] = hi >>> 16;
  buf[offset + 7] = hi >>> 24;
}

/**
 * Reads a u64 little-endian written by writeU64. A value beyond 2^53 can only come from bad
 * bytes, so it is a CorruptionError naming `where`.
 */
export function readU64(buf: Uint8Array, offset: number, where = 'u64 field'): number {
  checkSpan(buf, offset);
  const lo = (buf[offset]! | (buf[offset + 1]! << 8) | (buf[offset + 2]! << 16) | (buf[offset + 3]! << 24)) >>> 0;
  const hi = (buf[offset + 4]! | (buf[offset + 5]! << 8) | (buf[offset + 6]! << 16) | (buf[offset + 7]! << 24)) >>> 0;
  if (hi >= 2 ** 21) {
    throw new CorruptionError('ECORRUPT', `u64 out of safe range (hi=${hi})`, { location: where });
  }
  return hi * 2 ** 32 + lo;
}

/** The 8 bytes at `offset` lie inside `buf` (a DataView would throw RangeError too). */
function checkSpan(buf: Uint8Array, offset: number): void {
  if (!(Number.isInteger(offset) && offset >= 0 && offset + 8 <= buf.length)) {
    throw new RangeError(`u64 at offset ${offset} is outside a ${buf.length}-byte buffer`);
  }
}
