/**
 * Integer helpers: exact division, rounding to alignment, safe-integer checks, and little-endian
 * u64 access. The whole on-disk format of ebofs is little-endian.
 */
import { assert } from './assert.js';
import { CorruptionError } from './errors.js';

export function divExact(a: number, b: number): number {
  assert(b > 0 && a % b === 0, `divExact(${a}, ${b}) is not exact`);
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
  assert(Number.isSafeInteger(value) && value >= 0, `${what} is not a safe non-negative integer: ${value}`);
}

/** Writes a non-negative safe integer as u64 little-endian. */
export function writeU64(buf: Uint8Array, offset: number, value: number): void {
  assertSafe(value, 'u64 value');
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  view.setUint32(offset, value >>> 0, true);
  view.setUint32(offset + 4, Math.floor(value / 2 ** 32), true);
}

/**
 * Reads a u64 little-endian written by writeU64. A value beyond 2^53 can only come from bad
 * bytes, so it is a CorruptionError naming `where`.
 */
export function readU64(buf: Uint8Array, offset: number, where = 'u64 field'): number {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const lo = view.getUint32(offset, true);
  const hi = view.getUint32(offset + 4, true);
  if (hi >= 2 ** 21) {
    throw new CorruptionError('ECORRUPT', `u64 out of safe range (hi=${hi})`, { location: where });
  }
  return hi * 2 ** 32 + lo;
}
