/**
 * Order-preserving byte encodings of object ids (`Ghobject`) and of (collection, object)
 * pairs: the keys of the onode tree. Comparing two encoded keys as plain unsigned bytes
 * (`Buffer.compare`, memcmp) gives exactly Ceph's `ghobject_t` order (`compareGhobjects`,
 * reference §4.3), so listing is a range scan and a collection is a key range.
 *
 * Object key (all integers big-endian so byte order is numeric order):
 *
 * | offset | size | field        | encoding                                                   |
 * |--------|------|--------------|------------------------------------------------------------|
 * | 0      | 1    | kind         | 0x00 = object, 0x01 = MAX sentinel (then the key ends)     |
 * | 1      | 1    | shard        | i8 with the sign bit flipped (-1 -> 0x7f, 0 -> 0x80)        |
 * | 2      | 8    | pool         | i64 with the sign bit flipped                              |
 * | 10     | 4    | bitwise hash | `reverseBits32(hash)`                                      |
 * | 14     | var  | namespace    | escaped bytes, then terminator 0x00 0x01                   |
 * | ..     | var  | effective key| key if set else name: escaped, terminated                  |
 * | ..     | 1    | name marker  | 0x00 name < key, 0x01 no key (name = effective key),       |
 * |        |      |              | 0x02 name > key                                            |
 * | ..     | var  | name         | only after 0x00 / 0x02: escaped, terminated                |
 * | ..     | 8    | snap         | u64                                                        |
 * | ..     | 8    | generation   | u64                                                        |
 *
 * Escaping: byte 0x00 is written as 0x00 0xff; every other byte as itself; each string ends
 * with 0x00 0x01. The terminator sorts below every escaped byte (0x00 0x01 < 0x00 0xff <
 * 0x01..0xff), so a proper prefix sorts first ("a" < "a\0" < "a\x01" < "ab") and nothing
 * after a string can change the order it decided.
 *
 * Onode key = escaped collection id (ASCII), terminator, then the object key. All objects of
 * one collection are the key range [prefix + 0x00, prefix + 0x02).
 *
 * Name marker: objects sharing namespace and effective key E sort by name. The one with no
 * locator key has name E (marker 0x01, name not repeated); a keyed object's name N differs
 * from E, and its marker says on which side of E it falls, then N orders within the side.
 *
 * Invariants (tested with fast-check against `compareGhobjects` in test/unit/engine):
 * - `Buffer.compare(encode(a), encode(b))` has the sign of `compareGhobjects(a, b)`.
 * - `decode(encode(a))` equals `a` (the key is emptied when equal to the name, as normalised).
 * - The key is emptied on decode exactly when the effective key equals the name.
 *
 * Versioning: this layout is part of the on-disk format of the onode tree. A change needs a
 * new format version; kind bytes 0x02..0xff are reserved.
 *
 * Why the marker: writing the name again after the effective key would double the key of
 * every unkeyed object (almost all of them); the marker keeps the order with one byte.
 */
import { CorruptionError } from '../common/errors.js';
import {
  COLLECTION_ID_BYTES_MAX, OBJECT_KEY_BYTES_MAX, OBJECT_NAME_BYTES_MAX, OBJECT_NAMESPACE_BYTES_MAX,
} from './limits.js';
import {
  CEPH_NOSNAP, type Ghobject, GHOBJECT_MAX, NO_GEN, makeGhobject, reverseBits32, effectiveKey, bytesToBinary,
} from './types.js';

const KIND_OBJECT = 0x00;
const KIND_MAX = 0x01;
const ESCAPE = 0x00;
const ESCAPED_ZERO = 0xff;
const TERMINATOR = 0x01;
const NAME_BELOW_KEY = 0x00;
const NAME_IS_KEY = 0x01;
const NAME_ABOVE_KEY = 0x02;
const I64_SIGN = 2n ** 63n;
const U64_MASK = 2n ** 64n - 1n;

/** Bytes `escaped(bytes)` takes, terminator included. */
function escapedLength(bytes: Uint8Array): number {
  let n = bytes.length + 2;
  for (const b of bytes) if (b === 0) n++;
  return n;
}

/** Writes `bytes` escaped and terminated at `at`; returns the offset after it. */
export function writeEscaped(target: Uint8Array, at: number, bytes: Uint8Array): number {
  let p = at;
  for (const b of bytes) {
    if (b === 0) {
      target[p++] = ESCAPE;
      target[p++] = ESCAPED_ZERO;
    } else {
      target[p++] = b;
    }
  }
  target[p++] = ESCAPE;
  target[p++] = TERMINATOR;
  return p;
}

/** Reads an escaped, terminated string at `at`; returns the bytes and the offset after it. */
export function readEscaped(source: Uint8Array, at: number, where: string): [Uint8Array, number] {
  const out: number[] = [];
  let p = at;
  for (;;) {
    if (p >= source.length) throw corrupt(where, 'unterminated string');
    const b = source[p++] as number;
    if (b !== ESCAPE) {
      out.push(b);
      continue;
    }
    const next = source[p++];
    if (next === TERMINATOR) return [Uint8Array.from(out), p];
    if (next === ESCAPED_ZERO) out.push(0);
    else throw corrupt(where, `bad escape 0x00 0x${(next ?? 0).toString(16)}`);
  }
}

function corrupt(where: string, what: string): CorruptionError {
  return new CorruptionError('ECORRUPT', `object key: ${what}`, { location: where });
}

/**
 * Longest possible object key: every name, key and namespace byte at its limit and 0x00
 * (escaped to two bytes). The onode tree must accept `COLLECTION_PREFIX_BYTES_MAX` plus this.
 */
export const OID_KEY_BYTES_MAX = 14 + (2 * OBJECT_NAMESPACE_BYTES_MAX + 2) + (2 * OBJECT_KEY_BYTES_MAX + 2) + 1 +
  (2 * OBJECT_NAME_BYTES_MAX + 2) + 16;

/** Longest collection prefix of an onode key (collection ids hold no 0x00 byte). */
export const COLLECTION_PREFIX_BYTES_MAX = COLLECTION_ID_BYTES_MAX + 2;

/** Length in bytes of `encodeOidKey(oid)`. */
export function oidKeyLength(oid: Ghobject): number {
  if (oid.max) return 1;
  const nameLength = oid.key.length === 0 ? 0 : escapedLength(oid.name);
  return 14 + escapedLength(oid.namespace) + escapedLength(effectiveKey(oid)) + 1 + nameLength + 16;
}

/** Writes the object key of `oid` into `target` at `at`; returns the offset after it. */
export function writeOidKey(target: Uint8Array, at: number, oid: Ghobject): number {
  if (oid.max) {
    target[at] = KIND_MAX;
    return at + 1;
  }
  target[at] = KIND_OBJECT;
  target[at + 1] = (oid.shard & 0xff) ^ 0x80;
  // Byte stores, and BigInt arithmetic only off the common paths: every op and every read
  // encodes a key (a DataView and a few BigInt temporaries per key showed in profiles).
  if (oid.pool >= 0n && oid.pool < 0x1_0000_0000n) writeU32BE(target, at + 2, 0x8000_0000, Number(oid.pool));
  else writeBigU64BE(target, at + 2, (oid.pool + I64_SIGN) & U64_MASK);
  const hash = reverseBits32(oid.hash);
  target[at + 10] = hash >>> 24;
  target[at + 11] = hash >>> 16;
  target[at + 12] = hash >>> 8;
  target[at + 13] = hash;
  let p = writeEscaped(target, at + 14, oid.namespace);
  p = writeEscaped(target, p, effectiveKey(oid));
  if (oid.key.length === 0) {
    target[p++] = NAME_IS_KEY;
  } else {
    target[p++] = Buffer.compare(oid.name, oid.key) < 0 ? NAME_BELOW_KEY : NAME_ABOVE_KEY;
    p = writeEscaped(target, p, oid.name);
  }
  writeBigU64BE(target, p, oid.snap);
  writeBigU64BE(target, p + 8, oid.generation);
  return p + 16;
}

/** `hi` then `lo`, each a u32 big-endian. */
function writeU32BE(target: Uint8Array, at: number, hi: number, lo: number): void {
  target[at] = hi >>> 24;
  target[at + 1] = hi >>> 16;
  target[at + 2] = hi >>> 8;
  target[at + 3] = hi;
  target[at + 4] = lo >>> 24;
  target[at + 5] = lo >>> 16;
  target[at + 6] = lo >>> 8;
  target[at + 7] = lo;
}

/** A u64 (bigint in [0, 2^64)) big-endian; the head snap and the normal generation are constants. */
function writeBigU64BE(target: Uint8Array, at: number, value: bigint): void {
  if (value === NO_GEN) writeU32BE(target, at, 0xffff_ffff, 0xffff_ffff);
  else if (value === CEPH_NOSNAP) writeU32BE(target, at, 0xffff_ffff, 0xffff_fffe);
  else writeU32BE(target, at, Number(value >> 32n), Number(value & 0xffff_ffffn));
}

/** The order-preserving key of `oid` (see the module head for the layout). */
export function encodeOidKey(oid: Ghobject): Uint8Array {
  const out = new Uint8Array(oidKeyLength(oid));
  const end = writeOidKey(out, 0, oid);
  if (end !== out.length) throw corrupt('encodeOidKey', 'length mismatch');
  return out;
}

/** The object key as a latin-1 binary string (for JS Maps; `<` on it is byte order). */
export function encodeOidKeyBinary(oid: Ghobject): string {
  return bytesToBinary(encodeOidKey(oid));
}

/**
 * Decodes an object key starting at `at`; returns the id and the offset after it. Bad bytes
 * are a `CorruptionError` naming `where` (decoders never assert on stored bytes).
 */
export function readOidKey(source: Uint8Array, at: number, where = 'object key'): [Ghobject, number] {
  const kind = source[at];
  if (kind === KIND_MAX) return [GHOBJECT_MAX, at + 1];
  if (kind !== KIND_OBJECT) throw corrupt(where, `bad kind byte ${String(kind)}`);
  if (source.length < at + 14) throw corrupt(where, 'truncated header');
  const view = new DataView(source.buffer, source.byteOffset, source.byteLength);
  const shard = (((source[at + 1] as number) ^ 0x80) << 24) >> 24;
  if (shard < -1) throw corrupt(where, `bad shard ${shard}`);
  const pool = view.getBigUint64(at + 2, false) - I64_SIGN;
  const hash = reverseBits32(view.getUint32(at + 10, false));
  const [namespace, p1] = readEscaped(source, at + 14, where);
  const [effKey, p2] = readEscaped(source, p1, where);
  const marker = source[p2];
  let name: Uint8Array = effKey;
  let key: Uint8Array = new Uint8Array(0);
  let p3 = p2 + 1;
  if (marker === NAME_BELOW_KEY || marker === NAME_ABOVE_KEY) {
    [name, p3] = readEscaped(source, p2 + 1, where);
    key = effKey;
    const side = Buffer.compare(name, key);
    if ((marker === NAME_BELOW_KEY) !== (side < 0) || side === 0) throw corrupt(where, 'name marker disagrees');
  } else if (marker !== NAME_IS_KEY) {
    throw corrupt(where, `bad name marker ${String(marker)}`);
  }
  if (source.length < p3 + 16) throw corrupt(where, 'truncated snap/generation');
  const snap = view.getBigUint64(p3, false);
  const generation = view.getBigUint64(p3 + 8, false);
  return [makeGhobject({ max: false, shard, pool, hash, namespace, key, name, snap, generation }),
    p3 + 16];
}

/** Decodes a whole object key (trailing bytes are corruption). */
export function decodeOidKey(source: Uint8Array, where = 'object key'): Ghobject {
  const [oid, end] = readOidKey(source, 0, where);
  if (end !== source.length) throw corrupt(where, `${source.length - end} trailing bytes`);
  return oid;
}

/** The escaped, terminated collection id that starts every onode key of the collection. */
export function encodeCollectionPrefix(cid: string): Uint8Array {
  const bytes = Buffer.from(cid, 'latin1');
  const out = new Uint8Array(escapedLength(bytes));
  writeEscaped(out, 0, bytes);
  return out;
}

/** Prefixes of recently used collections (read only; a store has a few hundred at most). */
const prefixCache = new Map<string, Uint8Array>();
const PREFIX_CACHE_MAX = 4096;

function cachedCollectionPrefix(cid: string): Uint8Array {
  let prefix = prefixCache.get(cid);
  if (prefix === undefined) {
    if (prefixCache.size >= PREFIX_CACHE_MAX) prefixCache.clear();
    prefix = encodeCollectionPrefix(cid);
    prefixCache.set(cid, prefix);
  }
  return prefix;
}

/** Onode-tree key of (collection, object): collection prefix, then the object key. */
export function encodeOnodeKey(cid: string, oid: Ghobject): Uint8Array {
  const prefix = cachedCollectionPrefix(cid);
  const out = new Uint8Array(prefix.length + oidKeyLength(oid));
  out.set(prefix, 0);
  writeOidKey(out, prefix.length, oid);
  return out;
}

/** Decodes an onode key into its collection id and object. */
export function decodeOnodeKey(source: Uint8Array, where = 'onode key'): { cid: string; oid: Ghobject } {
  const [cidBytes, p] = readEscaped(source, 0, where);
  const [oid, end] = readOidKey(source, p, where);
  if (end !== source.length) throw corrupt(where, `${source.length - end} trailing bytes`);
  return { cid: Buffer.from(cidBytes).toString('latin1'), oid };
}

/**
 * The onode-key range [start, end) holding every object of `cid` (MAX is never stored, but
 * the range includes its one-byte key, so `end` is the prefix then 0x02).
 */
export function collectionKeyRange(cid: string): { start: Uint8Array; end: Uint8Array } {
  const prefix = encodeCollectionPrefix(cid);
  const start = new Uint8Array(prefix.length + 1);
  start.set(prefix, 0);
  start[prefix.length] = KIND_OBJECT;
  const end = new Uint8Array(prefix.length + 1);
  end.set(prefix, 0);
  end[prefix.length] = KIND_MAX + 1;
  return { start, end };
}
