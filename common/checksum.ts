/**
 * The one home of checksums in ebofs, through xxhash-wasm.
 *
 * Which hash where, and why:
 * - xxh32 (`checksum32`) for fixed small things whose checksum is stored many times: btree
 *   pages, per-block data checksums in extent maps (4 bytes per 4 KiB block keeps extent maps
 *   compact; BlueStore's default crc32c is 32-bit too), record and superblock headers. A
 *   32-bit check misses a random corruption with probability 2^-32, enough for a block.
 * - xxh64 (`checksum64`) for journal payloads: one checksum covers up to megabytes, replay
 *   must never accept garbage as a record after a torn write, and xxh64 is the faster of the
 *   two per byte on large inputs.
 *
 * The module initialises the wasm instance with top-level await, so importers (including
 * worker threads) can call the functions synchronously.
 */
import xxhash from 'xxhash-wasm';

const api = await xxhash();

/** xxh32 of `data` (a number in [0, 2^32)). */
export function checksum32(data: Uint8Array, seed = 0): number {
  return api.h32Raw(data, seed) >>> 0;
}

/** xxh64 of `data`, as a bigint in [0, 2^64). */
export function checksum64(data: Uint8Array, seed = 0n): bigint {
  return api.h64Raw(data, seed);
}

/** Incremental xxh64 over several pieces (same result as checksum64 of their concatenation). */
export function checksum64Parts(parts: readonly Uint8Array[], seed = 0n): bigint {
  const h = api.create64(seed);
  for (const part of parts) h.update(part);
  return h.digest();
}

