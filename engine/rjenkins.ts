/**
 * Ceph's default object hash, `ceph_str_hash_rjenkins`: Bob Jenkins' 1996 "lookup2" hash with
 * an initial value of 0, over the bytes of the key-or-name (prefixed by `namespace + 0x1f`
 * when a namespace is set, as `pg_pool_t::hash_key` does). Written from the published
 * algorithm; known-answer vectors from a real cluster (`ceph osd map`) are in the tests, so
 * default hashes here place objects exactly where a Ceph pool with hash type rjenkins would.
 *
 * All arithmetic is u32 with wrap-around (`>>> 0` after every step).
 */

const GOLDEN_RATIO = 0x9e3779b9;

/** Reads a u32 little-endian from up to four bytes starting at `at` (missing bytes are 0). */
function word(bytes: Uint8Array, at: number): number {
  return ((bytes[at] ?? 0) | ((bytes[at + 1] ?? 0) << 8) | ((bytes[at + 2] ?? 0) << 16) |
    ((bytes[at + 3] ?? 0) << 24)) >>> 0;
}

/** The lookup2 mix of three u32 lanes, returned as a new triple. */
function mix(a0: number, b0: number, c0: number): [number, number, number] {
  let a = a0, b = b0, c = c0;
  a = (a - b - c) >>> 0; a = (a ^ (c >>> 13)) >>> 0;
  b = (b - c - a) >>> 0; b = (b ^ (a << 8)) >>> 0;
  c = (c - a - b) >>> 0; c = (c ^ (b >>> 13)) >>> 0;
  a = (a - b - c) >>> 0; a = (a ^ (c >>> 12)) >>> 0;
  b = (b - c - a) >>> 0; b = (b ^ (a << 16)) >>> 0;
  c = (c - a - b) >>> 0; c = (c ^ (b >>> 5)) >>> 0;
  a = (a - b - c) >>> 0; a = (a ^ (c >>> 3)) >>> 0;
  b = (b - c - a) >>> 0; b = (b ^ (a << 10)) >>> 0;
  c = (c - a - b) >>> 0; c = (c ^ (b >>> 15)) >>> 0;
  return [a, b, c];
}

/**
 * `ceph_str_hash_rjenkins(bytes)`: a u32. Twelve-byte blocks are added to three lanes as
 * little-endian words and mixed; the tail (0..11 bytes) is added the same way except that the
 * low byte of the third lane is reserved for the total length, so tail bytes 8..10 go to bits
 * 8..31 of lane c. One last mix; lane c is the hash.
 */
export function cephStrHashRjenkins(bytes: Uint8Array): number {
  let a = GOLDEN_RATIO;
  let b = GOLDEN_RATIO;
  let c = 0;
  let at = 0;
  let remaining = bytes.length;
  while (remaining >= 12) {
    a = (a + word(bytes, at)) >>> 0;
    b = (b + word(bytes, at + 4)) >>> 0;
    c = (c + word(bytes, at + 8)) >>> 0;
    [a, b, c] = mix(a, b, c);
    at += 12;
    remaining -= 12;
  }
  c = (c + bytes.length) >>> 0;
  const tail = bytes.subarray(at, at + remaining);
  a = (a + word(tail, 0)) >>> 0;
  b = (b + word(tail, 4)) >>> 0;
  // Bytes 8..10 of the tail shift up one byte: lane c's low byte holds the length.
  c = (c + ((word(tail, 8) << 8) >>> 0)) >>> 0;
  [a, b, c] = mix(a, b, c);
  return c;
}

/** Separator between namespace and key in Ceph's hash input (`pg_pool_t::hash_key`). */
export const NAMESPACE_HASH_SEPARATOR = 0x1f;

/**
 * The placement hash Ceph's OSD gives an object: rjenkins of the effective key (the locator
 * key when set, else the name), prefixed by `namespace + 0x1f` when the namespace is not empty.
 */
export function cephObjectHash(namespace: Uint8Array, effectiveKey: Uint8Array): number {
  if (namespace.length === 0) return cephStrHashRjenkins(effectiveKey);
  const input = new Uint8Array(namespace.length + 1 + effectiveKey.length);
  input.set(namespace, 0);
  input[namespace.length] = NAMESPACE_HASH_SEPARATOR;
  input.set(effectiveKey, namespace.length + 1);
  return cephStrHashRjenkins(input);
}
