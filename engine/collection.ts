/**
 * Collection ids and the hash-bit rules that decide which objects a collection holds
 * (reference §1 and §4.5).
 *
 * A collection id is a string in one of Ceph's `coll_t` forms:
 * - `"meta"`: the OSD-wide metadata collection (objects in pool -1, any hash);
 * - `"<pool>.<seed-hex>[s<shard>]_head"`: a placement group, e.g. `"1.7_head"`, `"3.1fs2_head"`;
 * - `"<pool>.<seed-hex>[s<shard>]_TEMP"`: the legacy PG temp collection.
 * Only the canonical spelling is accepted (no leading zeros, lower-case hex), so two different
 * strings never name the same collection.
 *
 * A PG collection with `bits` b holds the objects whose low b hash bits equal the seed's. In
 * the bit-reversed hash space used for ordering that is one contiguous interval, so a
 * collection is a key range and split/merge are changes of `bits`.
 */
import { EbofsError } from '../common/errors.js';
import { COLLECTION_BITS_MAX, COLLECTION_ID_BYTES_MAX } from './limits.js';
import { reverseBits32, type Ghobject } from './types.js';

/** A collection id string (`"meta"`, `"1.7_head"`, ...). */
export type CollectionId = string;

/** The meta collection's id. */
export const META_COLLECTION: CollectionId = 'meta';

/** A parsed collection id. */
export type ParsedCollectionId =
  | { readonly kind: 'meta' }
  | {
    readonly kind: 'pg';
    /** Pool id (>= 0). */
    readonly pool: bigint;
    /** PG seed (`ps`), a u32. */
    readonly seed: number;
    /** Shard, -1 (no shard) or 0..127. */
    readonly shard: number;
    /** The legacy `_TEMP` form. */
    readonly temp: boolean;
  };

const PG_FORM = /^(0|[1-9][0-9]*)\.(0|[1-9a-f][0-9a-f]*)(?:s(0|[1-9][0-9]*))?_(head|TEMP)$/;

/** Parses and validates a collection id; throws EINVAL for anything else. */
export function parseCollectionId(cid: unknown): ParsedCollectionId {
  if (typeof cid !== 'string') throw new EbofsError('EINVAL', 'collection id must be a string');
  if (cid.length > COLLECTION_ID_BYTES_MAX) {
    throw new EbofsError('EINVAL', `collection id longer than ${COLLECTION_ID_BYTES_MAX} bytes`);
  }
  if (cid === META_COLLECTION) return { kind: 'meta' };
  const m = PG_FORM.exec(cid);
  if (m === null) throw new EbofsError('EINVAL', `not a collection id: ${JSON.stringify(cid)}`);
  const pool = BigInt(m[1] as string);
  const seedHex = m[2] as string;
  const shard = m[3] === undefined ? -1 : Number(m[3]);
  if (pool >= 2n ** 63n || seedHex.length > 8 || shard > 127) {
    throw new EbofsError('EINVAL', `collection id out of range: ${cid}`);
  }
  return { kind: 'pg', pool, seed: Number.parseInt(seedHex, 16), shard, temp: m[4] === 'TEMP' };
}

/** Formats a parsed id back to its canonical string. */
export function formatCollectionId(parsed: ParsedCollectionId): CollectionId {
  if (parsed.kind === 'meta') return META_COLLECTION;
  const shard = parsed.shard >= 0 ? `s${parsed.shard}` : '';
  return `${parsed.pool}.${(parsed.seed >>> 0).toString(16)}${shard}_${parsed.temp ? 'TEMP' : 'head'}`;
}

/** The PG collection id for (pool, seed[, shard]). */
export function pgCollectionId(pool: number | bigint, seed: number, shard = -1): CollectionId {
  return formatCollectionId({ kind: 'pg', pool: BigInt(pool), seed: seed >>> 0, shard, temp: false });
}

/** Throws EINVAL unless `bits` is an integer in [0, 32]. */
export function checkCollectionBits(bits: unknown): number {
  if (typeof bits !== 'number' || !Number.isInteger(bits) || bits < 0 || bits > COLLECTION_BITS_MAX) {
    throw new EbofsError('EINVAL', `collection bits must be an integer in [0, ${COLLECTION_BITS_MAX}]`);
  }
  return bits;
}

/** Mask of the low `bits` bits (`~(~0 << bits)`), as a u32. */
export function bitsMask(bits: number): number {
  return bits >= 32 ? 0xffff_ffff : ((1 << bits) - 1) >>> 0;
}

/** Ceph's `hobject_t::match(bits, value)`: the low `bits` bits of `hash` equal those of `value`. */
export function hashMatches(hash: number, bits: number, value: number): boolean {
  return ((hash ^ value) & bitsMask(bits)) >>> 0 === 0;
}

/**
 * Whether a collection with `bits` may hold `oid`: any object for `meta`; for a PG, the hash
 * must match the seed in the low `bits` bits (BlueStore aborts on an object outside its PG;
 * we refuse it with EINVAL). Pool and shard are not checked, as in Ceph.
 */
export function collectionAdmits(parsed: ParsedCollectionId, bits: number, oid: Ghobject): boolean {
  if (parsed.kind === 'meta') return true;
  return hashMatches(oid.hash, bits, parsed.seed);
}

/**
 * The interval [start, end) of bit-reversed hashes a PG collection covers:
 * `[reverse(seed & mask), reverse(seed & mask) + 2^(32 - bits))`; `end` may be 2^32.
 */
export function collectionHashRange(seed: number, bits: number): { start: number; end: number } {
  const start = reverseBits32((seed & bitsMask(bits)) >>> 0);
  return { start, end: start + 2 ** (32 - bits) };
}

/** Whether `splitCollection(parent, bits, rem, child)` moves `hash` into the child. */
export function splitMoves(hash: number, bits: number, rem: number): boolean {
  return hashMatches(hash, bits, rem);
}

/** A half-open range of object keys (`encodeOidKey` bytes). */
export interface OidKeyRange {
  readonly start: Uint8Array;
  readonly end: Uint8Array;
}

function keyPrefix(shard: number, pool: bigint, bitwiseHash: number): Uint8Array {
  const out = new Uint8Array(14);
  const view = new DataView(out.buffer);
  out[0] = 0x00; // object kind
  out[1] = (shard & 0xff) ^ 0x80;
  view.setBigUint64(2, (pool + 2n ** 63n) & (2n ** 64n - 1n), false);
  view.setUint32(10, bitwiseHash >>> 0, false);
  return out;
}

/**
 * The object-key ranges (temp pool first, then the pool itself, i.e. ascending) that hold
 * exactly the objects a PG collection owns in BlueStore's global key space (reference §4.5):
 * its shard, pool p or temp pool -2-p, hash matching the seed in the low `bits` bits. When
 * the interval reaches 2^32 it runs to the first key of the next pool, so hash 0xffffffff is
 * included. Undefined for `meta` (any pool -1 object, no hash rule).
 */
export function pgObjectKeyRanges(parsed: ParsedCollectionId, bits: number): OidKeyRange[] | undefined {
  if (parsed.kind === 'meta') return undefined;
  const { start, end } = collectionHashRange(parsed.seed, bits);
  return [-2n - parsed.pool, parsed.pool].map((pool) => ({
    start: keyPrefix(parsed.shard, pool, start),
    end: end < 2 ** 32 ? keyPrefix(parsed.shard, pool, end) : keyPrefix(parsed.shard, pool + 1n, 0),
  }));
}
