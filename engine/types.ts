/**
 * Object identity: Ceph's `ghobject_t` as ebofs sees it.
 *
 * Callers name objects with an `ObjectId` (only `pool` and `name` required; strings are UTF-8,
 * `Uint8Array`s are taken as raw bytes). Every API entry normalises it to a `Ghobject`: all
 * fields present, strings as bytes, the locator key emptied when it equals the name (as
 * Ceph's `hobject_t` constructor does), the hash filled in with Ceph's default placement hash
 * (`cephObjectHash`, rjenkins of namespace + 0x1f + key-or-name).
 *
 * `compareGhobjects` is the direct, field-by-field transcription of Ceph's ordering (reference
 * §4.3); `oid-key.ts` encodes the same order as plain bytes and is tested against it.
 */
import { EbofsError } from '../common/errors.js';
import { cephObjectHash } from './rjenkins.js';
import { OBJECT_KEY_BYTES_MAX, OBJECT_NAME_BYTES_MAX, OBJECT_NAMESPACE_BYTES_MAX } from './limits.js';

/** Bytes given by a caller: a string (encoded as UTF-8) or raw bytes (copied). */
export type ByteInput = string | Uint8Array;

/** `CEPH_NOSNAP` (2^64-2): the head object, sorting after every real snapshot id. */
export const CEPH_NOSNAP = 0xffff_ffff_ffff_fffen;
/** `CEPH_SNAPDIR` (2^64-1). */
export const CEPH_SNAPDIR = 0xffff_ffff_ffff_ffffn;
/** `NO_GEN` (2^64-1): the normal (not stashed) generation of an object. */
export const NO_GEN = 0xffff_ffff_ffff_ffffn;
/** `NO_SHARD` (-1): not an erasure-coded shard; sorts before shard 0. */
export const NO_SHARD = -1;
/** Pool of the objects of the `meta` collection (`POOL_META`). */
export const POOL_META = -1n;
/** `INT64_MIN`: the pool of the minimum object. */
export const POOL_MIN = -(2n ** 63n);
const U64_MAX = 2n ** 64n - 1n;
const I64_MAX = 2n ** 63n - 1n;

/** What a caller passes to name an object. Only `pool` and `name` are required. */
export interface ObjectId {
  /** Pool id (i64). Temp objects of pool p live in pool `-2 - p`; meta objects in pool -1. */
  readonly pool: number | bigint;
  /** Object name: arbitrary bytes, may be empty. */
  readonly name: ByteInput;
  /** Namespace: arbitrary bytes; default empty. */
  readonly namespace?: ByteInput;
  /** Locator key: default empty (= the name). A key equal to the name is stored as empty. */
  readonly key?: ByteInput;
  /** Snapshot id (u64); default `CEPH_NOSNAP` (head). */
  readonly snap?: number | bigint;
  /** Placement hash (u32); default `cephObjectHash(namespace, key || name)`. */
  readonly hash?: number;
  /** Generation (u64); default `NO_GEN`. */
  readonly generation?: number | bigint;
  /** Erasure-code shard (i8, -1..127); default `NO_SHARD`. */
  readonly shard?: number;
}

/** An object named by a caller (normalised on entry) or an already normalised id. */
export type ObjectRef = ObjectId | Ghobject;

/** A normalised, immutable object id. `max` marks the sentinel that sorts after everything. */
export interface Ghobject {
  readonly max: boolean;
  readonly shard: number;
  readonly pool: bigint;
  readonly hash: number;
  readonly namespace: Uint8Array;
  readonly key: Uint8Array;
  readonly name: Uint8Array;
  readonly snap: bigint;
  readonly generation: bigint;
}

/**
 * Ids produced by this module (frozen, checked); `normalizeObjectId` passes instances through.
 * A class brand rather than a WeakSet of plain objects: every op and every read makes one, and
 * a WeakSet insert (plus the GC's ephemeron work) cost about ten times the object itself.
 * Copies ({ ...oid }, structured clones) are plain objects and get normalised again. The
 * fields are Ghobject's (declaration merging), copied by the constructor.
 */
interface NormalizedGhobject extends Ghobject {}
class NormalizedGhobject {
  constructor(f: Ghobject) {
    const { max, shard, pool, hash, namespace, key, name, snap, generation } = f;
    Object.assign(this, { max, shard, pool, hash, namespace, key, name, snap, generation });
    Object.freeze(this);
  }
}

/**
 * Freezes and brands an id whose fields are already valid (used by decoders after their own
 * checks). The byte fields must not be modified afterwards.
 */
export function makeGhobject(fields: Ghobject): Ghobject {
  return new NormalizedGhobject(fields);
}

const EMPTY = new Uint8Array(0);

/** The minimum object (`ghobject_t()`): listing from it starts at the beginning. */
export const GHOBJECT_MIN: Ghobject = makeGhobject({
  max: false, shard: NO_SHARD, pool: POOL_MIN, hash: 0, namespace: EMPTY, key: EMPTY,
  name: EMPTY, snap: 0n, generation: NO_GEN,
});

/** The maximum sentinel (`ghobject_t::get_max()`): `next` of a finished listing. */
export const GHOBJECT_MAX: Ghobject = makeGhobject({ ...GHOBJECT_MIN, max: true });

/** Encodes caller bytes: strings as UTF-8, byte arrays copied (callers may reuse theirs). */
export function toBytes(input: ByteInput): Uint8Array {
  if (typeof input === 'string') return new Uint8Array(Buffer.from(input, 'utf8'));
  if (!(input instanceof Uint8Array)) throw new EbofsError('EINVAL', 'expected a string or Uint8Array');
  return new Uint8Array(input);
}

function bytesField(input: ByteInput | undefined, what: string, max: number): Uint8Array {
  const bytes = input === undefined ? EMPTY : toBytes(input);
  if (bytes.length > max) throw new EbofsError('E2BIG', `${what} is ${bytes.length} bytes (max ${max})`);
  return bytes;
}

function intField(value: number | bigint | undefined, dflt: bigint, lo: bigint, hi: bigint,
  what: string): bigint {
  if (value === undefined) return dflt;
  if (typeof value === 'number' && !Number.isSafeInteger(value)) {
    throw new EbofsError('EINVAL', `${what} must be an integer, got ${value}`);
  }
  const v = BigInt(value);
  if (v < lo || v > hi) throw new EbofsError('EINVAL', `${what} out of range: ${v}`);
  return v;
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}

/** The effective key Ceph orders and hashes by: the locator key if set, else the name. */
export function effectiveKey(oid: Ghobject): Uint8Array {
  return oid.key.length > 0 ? oid.key : oid.name;
}

/**
 * Validates and normalises a caller's id. Throws EINVAL (bad field) or E2BIG (name, key or
 * namespace over its limit). Normalised ids pass through unchanged.
 */
export function normalizeObjectId(id: ObjectId | Ghobject): Ghobject {
  if (typeof id !== 'object' || id === null) throw new EbofsError('EINVAL', 'object id must be an object');
  if (id instanceof NormalizedGhobject) return id;
  if ('max' in id && id.max === true) return GHOBJECT_MAX;
  if (id.pool === undefined) throw new EbofsError('EINVAL', 'object id needs a pool');
  const name = bytesField(id.name, 'object name', OBJECT_NAME_BYTES_MAX);
  const namespace = bytesField(id.namespace, 'object namespace', OBJECT_NAMESPACE_BYTES_MAX);
  let key = bytesField(id.key, 'object key', OBJECT_KEY_BYTES_MAX);
  if (bytesEqual(key, name)) key = EMPTY;
  const pool = intField(id.pool, 0n, POOL_MIN, I64_MAX, 'pool');
  const snap = intField(id.snap, CEPH_NOSNAP, 0n, U64_MAX, 'snap');
  const generation = intField(id.generation, NO_GEN, 0n, U64_MAX, 'generation');
  const shard = Number(intField(id.shard, BigInt(NO_SHARD), -1n, 127n, 'shard'));
  let hash: number;
  if (id.hash === undefined) {
    hash = cephObjectHash(namespace, key.length > 0 ? key : name);
  } else {
    if (!Number.isInteger(id.hash) || id.hash < 0 || id.hash > 0xffff_ffff) {
      throw new EbofsError('EINVAL', `hash must be a u32, got ${id.hash}`);
    }
    hash = id.hash;
  }
  return makeGhobject({ max: false, shard, pool, hash, namespace, key, name, snap, generation });
}


/** Standard 32-bit bit reversal (Ceph's `reverse_bits`), as an unsigned number. */
export function reverseBits32(value: number): number {
  let v = value >>> 0;
  v = ((v >>> 1) & 0x5555_5555) | ((v & 0x5555_5555) << 1);
  v = ((v >>> 2) & 0x3333_3333) | ((v & 0x3333_3333) << 2);
  v = ((v >>> 4) & 0x0f0f_0f0f) | ((v & 0x0f0f_0f0f) << 4);
  v = ((v >>> 8) & 0x00ff_00ff) | ((v & 0x00ff_00ff) << 8);
  v = (v >>> 16) | (v << 16);
  return v >>> 0;
}

function cmp<T extends number | bigint>(a: T, b: T): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Ceph's `ghobject_t` order (reference §4.3), field by field: max, shard (signed), pool
 * (signed), reversed-bit hash (unsigned), namespace, effective key, name (all unsigned
 * bytewise, prefix first), snap, generation (unsigned). Returns <0, 0 or >0.
 */
export function compareGhobjects(a: Ghobject, b: Ghobject): number {
  if (a.max !== b.max) return a.max ? 1 : -1;
  if (a.max) return 0;
  return cmp(a.shard, b.shard) || cmp(a.pool, b.pool) ||
    cmp(reverseBits32(a.hash), reverseBits32(b.hash)) ||
    Buffer.compare(a.namespace, b.namespace) ||
    Buffer.compare(effectiveKey(a), effectiveKey(b)) ||
    Buffer.compare(a.name, b.name) || cmp(a.snap, b.snap) || cmp(a.generation, b.generation);
}

/** True when `oid` is the maximum sentinel. */
export function isMaxGhobject(oid: Ghobject): boolean {
  return oid.max;
}

/** Whether `pool` is a temp pool (`-2 - p` for some pool p >= 0). */
export function isTempPool(pool: bigint): boolean {
  return pool <= -2n && pool !== POOL_MIN;
}

/** `get_temp_pool`: maps a pool to its temp pool and back (`-2 - pool`). */
export function tempPool(pool: bigint): bigint {
  return -2n - pool;
}

/** Escapes `%`, `:`, `/`, `#` and non-printable bytes as `%xx` (Ceph's text form). */
function escapeText(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) {
    const printable = b >= 0x20 && b < 0x7f && b !== 0x25 && b !== 0x3a && b !== 0x2f && b !== 0x23;
    out += printable ? String.fromCharCode(b) : `%${b.toString(16).padStart(2, '0')}`;
  }
  return out;
}

function snapText(snap: bigint): string {
  if (snap === CEPH_NOSNAP) return 'head';
  if (snap === CEPH_SNAPDIR) return 'snapdir';
  return snap.toString(16);
}

/**
 * Ceph's text form for logs and dumps: `shard#pool:HHHHHHHH:ns:key:name:snap#gen` with the
 * bitwise key (reversed hash) in hex. `GHMAX` for the sentinel. Unique per object.
 */
export function formatGhobject(oid: Ghobject): string {
  if (oid.max) return 'GHMAX';
  const shard = oid.shard === NO_SHARD ? '' : oid.shard.toString(16);
  const gen = oid.generation === NO_GEN ? '' : oid.generation.toString(16);
  const bitwise = reverseBits32(oid.hash).toString(16).toUpperCase().padStart(8, '0');
  return `${shard}#${oid.pool}:${bitwise}:${escapeText(oid.namespace)}:${escapeText(oid.key)}:` +
    `${escapeText(oid.name)}:${snapText(oid.snap)}#${gen}`;
}

/** Latin-1 "binary string" of bytes: one code unit per byte, so `<` is unsigned byte order. */
export function bytesToBinary(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

/** Inverse of `bytesToBinary`. */
export function binaryToBytes(text: string): Buffer {
  return Buffer.from(text, 'latin1');
}

/**
 * A read-only map keyed by byte strings (xattr names, omap keys), iterating in unsigned byte
 * order. `get`/`has` accept a string (UTF-8) or bytes. Returned by `getattrs` and
 * `omapGetValues`.
 */
export class BytesMap implements Iterable<[Buffer, Buffer]> {
  private readonly entries_: ReadonlyArray<readonly [string, Buffer]>;
  private readonly index: ReadonlyMap<string, Buffer>;

  /** `entries` are (binary-string key, value) pairs; they are sorted here. */
  constructor(entries: Iterable<readonly [string, Buffer]>) {
    const sorted = [...entries].sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
    this.entries_ = sorted;
    this.index = new Map(sorted);
  }

  /** Number of entries. */
  get size(): number {
    return this.entries_.length;
  }

  /** The value under `key`, or undefined. */
  get(key: ByteInput): Buffer | undefined {
    return this.index.get(bytesToBinary(toBytes(key)));
  }

  /** Whether `key` is present. */
  has(key: ByteInput): boolean {
    return this.index.has(bytesToBinary(toBytes(key)));
  }

  /** Keys in byte order. */
  keys(): Buffer[] {
    return this.entries_.map(([k]) => binaryToBytes(k));
  }

  /** Entries in byte order, keys decoded as UTF-8 (for text keys; lossy for binary ones). */
  toStringMap(): Map<string, Buffer> {
    return new Map(this.entries_.map(([k, v]) => [binaryToBytes(k).toString('utf8'), v]));
  }

  /** Entries as (key, value) pairs in byte order. */
  *[Symbol.iterator](): Iterator<[Buffer, Buffer]> {
    for (const [k, v] of this.entries_) yield [binaryToBytes(k), v];
  }
}

/**
 * A label for error messages and corruption locations: a string, or an object whose
 * `toString()` builds one. Per-op labels are built only when an error needs them (`${where}`
 * and `String(where)` give the text).
 */
export type Where = string | { toString(): string };

/** `${prefix}${cid}/${formatGhobject(oid)}`, formatted on first use. */
export class ObjectLabel {
  private text: string | undefined;
  constructor(private readonly cid: string, private readonly oid: Ghobject, private readonly prefix = '') {}
  /** The same label behind `prefix`. */
  withPrefix(prefix: string): ObjectLabel {
    return new ObjectLabel(this.cid, this.oid, prefix + this.prefix);
  }
  toString(): string {
    return this.text ??= `${this.prefix}${this.cid}/${formatGhobject(this.oid)}`;
  }
}
