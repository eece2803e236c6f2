/**
 * Goal: the byte encoding of object ids sorts exactly like Ceph's ghobject_t comparator, and
 * decodes back to the same id. Method: fast-check generates adversarial ids (all byte values,
 * embedded zeros, prefixes of each other, shared hashes and namespaces, signed pools and
 * shards, extreme snaps and generations) and compares `Buffer.compare` of encodings with
 * `compareGhobjects` (written field by field from reference §4.3). Seeds are printed.
 */
import test from 'ava';
import fc from 'fast-check';
import { suiteSeed } from '../../conformance/harness.js';
import {
  compareGhobjects, normalizeObjectId, reverseBits32, GHOBJECT_MAX, GHOBJECT_MIN, CEPH_NOSNAP, NO_GEN,
  type Ghobject,
} from '../../../engine/types.js';
import {
  encodeOidKey, decodeOidKey, encodeOnodeKey, decodeOnodeKey, collectionKeyRange, OID_KEY_BYTES_MAX,
} from '../../../engine/oid-key.js';
import { OBJECT_KEY_BYTES_MAX, OBJECT_NAME_BYTES_MAX, OBJECT_NAMESPACE_BYTES_MAX } from '../../../engine/limits.js';
import { CorruptionError } from '../../../common/errors.js';

const SEED = suiteSeed();

const sign = (n: number): number => Math.sign(n);

/** Short byte strings over a tiny alphabet, so prefixes and equalities are frequent. */
const smallBytes = fc.uint8Array({ maxLength: 4 }).map((a) => a.map((b) => [0, 1, 0x61, 0xff][b % 4] as number));
const anyBytes = fc.oneof(smallBytes, fc.uint8Array({ maxLength: 12 }));
const u64 = fc.oneof(
  fc.constantFrom(0n, 1n, CEPH_NOSNAP, NO_GEN, 2n ** 63n, 2n ** 63n - 1n),
  fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
);

const ghobjectArb: fc.Arbitrary<Ghobject> = fc.record({
  pool: fc.oneof(fc.constantFrom(-(2n ** 63n), -1n, -2n, -3n, 0n, 1n, 2n, 2n ** 63n - 1n), fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n })),
  name: anyBytes,
  key: fc.oneof(fc.constant(new Uint8Array(0)), anyBytes),
  namespace: fc.oneof(fc.constant(new Uint8Array(0)), smallBytes),
  hash: fc.oneof(fc.constantFrom(0, 1, 0x8000_0000, 0xffff_ffff, 7), fc.nat({ max: 0xffff_ffff })),
  snap: u64,
  generation: u64,
  shard: fc.integer({ min: -1, max: 127 }),
}).map((r) => normalizeObjectId(r));

const withMax = fc.oneof({ weight: 20, arbitrary: ghobjectArb }, { weight: 1, arbitrary: fc.constant(GHOBJECT_MAX) });

test('encoded key order equals the ghobject_t comparator', (t) => {
  t.log(`seed ${SEED}`);
  fc.assert(fc.property(withMax, withMax, (a, b) => {
    return sign(Buffer.compare(encodeOidKey(a), encodeOidKey(b))) === sign(compareGhobjects(a, b));
  }), { seed: SEED, numRuns: 10_000 });
  t.pass();
});

test('sorting by encoded key equals sorting by comparator (collision-heavy sets)', (t) => {
  t.log(`seed ${SEED}`);
  fc.assert(fc.property(fc.array(ghobjectArb, { maxLength: 60 }), (oids) => {
    const byCmp = [...oids].sort(compareGhobjects).map((o) => Buffer.from(encodeOidKey(o)).toString('hex'));
    const byKey = oids.map((o) => Buffer.from(encodeOidKey(o)).toString('hex')).sort();
    return byCmp.join() === byKey.join();
  }), { seed: SEED + 1, numRuns: 300 });
  t.pass();
});

test('decode(encode(x)) == x, including onode keys', (t) => {
  t.log(`seed ${SEED}`);
  fc.assert(fc.property(withMax, (a) => {
    const back = decodeOidKey(encodeOidKey(a));
    if (compareGhobjects(a, back) !== 0 || Buffer.compare(a.key, back.key) !== 0 || a.hash !== back.hash) return false;
    const onode = decodeOnodeKey(encodeOnodeKey('1.7s2_head', a));
    return onode.cid === '1.7s2_head' && compareGhobjects(onode.oid, a) === 0;
  }), { seed: SEED + 2, numRuns: 5000 });
  t.pass();
});

test('every single byte value as a name sorts as unsigned bytes', (t) => {
  const oids = Array.from({ length: 256 }, (_, i) => normalizeObjectId({ pool: 1, name: Uint8Array.of(i), hash: 5 }));
  const keys = oids.map((o) => encodeOidKey(o));
  for (let i = 1; i < 256; i++) t.true(Buffer.compare(keys[i - 1] as Uint8Array, keys[i] as Uint8Array) < 0);
  const prefixes = ['', '\0', '\0\0', '\x01', 'a', 'a\0', 'a\0\0', 'a\x01', 'ab'].map((n) =>
    normalizeObjectId({ pool: 1, name: Buffer.from(n, 'latin1'), hash: 5 }));
  const sorted = [...prefixes].sort((x, y) => Buffer.compare(encodeOidKey(x), encodeOidKey(y)));
  t.deepEqual(sorted, prefixes);
});

test('key vs name ordering: effective key first, then name', (t) => {
  const a = normalizeObjectId({ pool: 1, name: 'x', hash: 1 }); // effective key "x"
  const b = normalizeObjectId({ pool: 1, name: 'a', key: 'x', hash: 1 }); // effective key "x", name "a"
  const c = normalizeObjectId({ pool: 1, name: 'z', key: 'b', hash: 1 }); // effective key "b"
  t.true(compareGhobjects(c, b) < 0 && compareGhobjects(b, a) < 0);
  t.true(Buffer.compare(encodeOidKey(c), encodeOidKey(b)) < 0);
  t.true(Buffer.compare(encodeOidKey(b), encodeOidKey(a)) < 0);
  t.is(normalizeObjectId({ pool: 1, name: 'x', key: 'x' }).key.length, 0, 'key equal to name is emptied');
});

test('Ceph Sort sanity facts and reversed-bit hash order', (t) => {
  const o = (pool: number, name: string, hash = 0) => normalizeObjectId({ pool, name, hash });
  t.true(compareGhobjects(o(1, 'a'), o(1, 'b')) < 0);
  t.true(compareGhobjects(o(1, 'z'), o(2, 'a')) < 0);
  t.true(compareGhobjects(o(3, 'a'), o(2, 'z')) > 0);
  t.true(compareGhobjects(o(-3, 'z'), o(1, 'a')) < 0);
  t.true(compareGhobjects(o(1, 'a', 1), o(1, 'a', 2)) > 0, 'hash 1 reversed is 0x80000000');
  t.is(reverseBits32(1), 0x8000_0000);
  t.is(reverseBits32(0xf0), 0x0f00_0000);
  t.true(compareGhobjects(GHOBJECT_MIN, o(-(2 ** 53) + 1, '')) < 0);
  t.true(compareGhobjects(o(1, 'a', 0xffff_ffff), GHOBJECT_MAX) < 0);
  const shardA = normalizeObjectId({ pool: 1, name: 'a', shard: -1 });
  const shardB = normalizeObjectId({ pool: 0, name: 'a', shard: 0 });
  t.true(Buffer.compare(encodeOidKey(shardA), encodeOidKey(shardB)) < 0, 'NO_SHARD before shard 0');
});

test('collection key range holds exactly that collection', (t) => {
  const a = encodeOnodeKey('1.0_head', normalizeObjectId({ pool: 1, name: 'q' }));
  const r = collectionKeyRange('1.0_head');
  t.true(Buffer.compare(r.start, a) <= 0 && Buffer.compare(a, r.end) < 0);
  const other = encodeOnodeKey('1.0_head2', normalizeObjectId({ pool: 1, name: 'q' }));
  t.false(Buffer.compare(r.start, other) <= 0 && Buffer.compare(other, r.end) < 0);
  const max = encodeOnodeKey('1.0_head', GHOBJECT_MAX);
  t.true(Buffer.compare(max, r.end) < 0);
});

test('bad bytes decode as CorruptionError', (t) => {
  const key = encodeOidKey(normalizeObjectId({ pool: 1, name: 'abc' }));
  for (const bad of [key.subarray(0, key.length - 1), Uint8Array.of(7), Uint8Array.from([...key, 0])]) {
    t.true(t.throws(() => decodeOidKey(bad)) instanceof CorruptionError);
  }
  const badEscape = Uint8Array.from(key);
  badEscape[14 + 0] = 0; // namespace terminator 00 01 -> 00 then the next byte
  badEscape[15] = 0x05;
  t.true(t.throws(() => decodeOidKey(badEscape)) instanceof CorruptionError);
  const keyed = encodeOidKey(normalizeObjectId({ pool: 1, name: 'b', key: 'k' }));
  const at = 14 + 2 + 3; // after the empty namespace and "k"
  t.is(keyed[at], 0x00, 'name "b" < key "k"');
  const flipped = Uint8Array.from(keyed);
  flipped[at] = 0x02;
  t.true(t.throws(() => decodeOidKey(flipped)) instanceof CorruptionError, 'marker must agree with the bytes');
});

test('an unkeyed object stores its name once', (t) => {
  t.is(encodeOidKey(normalizeObjectId({ pool: 1, name: 'abc' })).length, 14 + 2 + 5 + 1 + 16);
  t.is(encodeOidKey(normalizeObjectId({ pool: 1, name: 'abc', key: 'z' })).length, 14 + 2 + 3 + 1 + 5 + 16);
  const worst = normalizeObjectId({
    pool: 1, name: new Uint8Array(OBJECT_NAME_BYTES_MAX), key: new Uint8Array(OBJECT_KEY_BYTES_MAX).fill(0).map((_, i) => (i === 0 ? 1 : 0)),
    namespace: new Uint8Array(OBJECT_NAMESPACE_BYTES_MAX),
  });
  t.true(encodeOidKey(worst).length <= OID_KEY_BYTES_MAX);
  t.true(encodeOidKey(worst).length >= OID_KEY_BYTES_MAX - 2);
});
