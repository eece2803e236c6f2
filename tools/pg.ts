/**
 * tools/pg.ts: the placement-group shape the `run` workload gives the store, as a Ceph OSD
 * would: which PG an object hashes into, each PG collection's `bits`, the PG meta object and
 * the pg-log key format.
 *
 * - An object's PG is `ceph_stable_mod(hash, pgCount, mask)` of its placement hash (the
 *   default rjenkins hash of its name), so object ids keep their natural hash and every PG
 *   collection admits exactly its own objects.
 * - With a pg count that is not a power of two, the PGs below the split point also own the
 *   hashes of their unborn "children" and have one bit less (Ceph's `get_split_bits`).
 * - The PG meta object has an empty name and hash = the PG seed (Ceph's `make_pgmeta_oid`).
 * - pg-log keys are zero-padded versions (`0000000001.00000000000000000042`: epoch, version),
 *   so byte order is version order and a trim is one `omapRmKeyRange`.
 */
import { type CollectionId, type ObjectId, pgCollectionId } from '../engine/index.js';

/** Most PGs the workload creates (keeps the per-PG meta objects and logs small). */
export const PG_COUNT_MAX = 4096;

/** Smallest `mask` = 2^k - 1 with 2^k >= pgCount. */
export function pgMask(pgCount: number): number {
  let mask = 0;
  while (mask + 1 < pgCount) mask = mask * 2 + 1;
  return mask;
}

/** Ceph's `ceph_stable_mod(x, b, bmask)`. */
export function stableMod(hash: number, pgCount: number, mask: number): number {
  const low = (hash & mask) >>> 0;
  return low < pgCount ? low : (hash & (mask >>> 1)) >>> 0;
}

/** The collection `bits` of PG `seed` among `pgCount` PGs (Ceph `pg_t::get_split_bits`). */
export function pgBits(seed: number, pgCount: number): number {
  const mask = pgMask(pgCount);
  const bits = Math.log2(mask + 1);
  if (bits === 0) return 0;
  const half = (mask + 1) / 2;
  return seed < half && seed + half >= pgCount ? bits - 1 : bits;
}

/** One PG of the workload. */
export interface PgLayout {
  readonly seed: number;
  readonly cid: CollectionId;
  readonly bits: number;
  readonly metaOid: ObjectId;
}

/** The PGs of `pool`, seeds 0 .. pgCount-1. */
export function pgLayouts(pool: number, pgCount: number): PgLayout[] {
  const out: PgLayout[] = [];
  for (let seed = 0; seed < pgCount; seed++) {
    out.push({ seed, cid: pgCollectionId(pool, seed), bits: pgBits(seed, pgCount), metaOid: pgMetaOid(pool, seed) });
  }
  return out;
}

/** Ceph's pgmeta object: empty name, hash = seed. */
export function pgMetaOid(pool: number, seed: number): ObjectId {
  return { pool, name: '', hash: seed };
}

/** The pg-log omap key of `version` (epoch, then version, zero-padded). */
export function pgLogKey(epoch: number, version: number): string {
  return `${String(epoch).padStart(10, '0')}.${String(version).padStart(20, '0')}`;
}

/** Parses a pg-log key back to its version; undefined for other keys (`_info`). */
export function pgLogVersion(key: string): number | undefined {
  const m = /^\d{10}\.(\d{20})$/.exec(key);
  return m === null ? undefined : Number(m[1]);
}
