/**
 * Goal: collection ids parse only in Ceph's canonical forms, and the hash-bit rules (membership,
 * bit-reversed ranges, split) agree with each other. Method: examples plus fast-check.
 */
import test from 'ava';
import fc from 'fast-check';
import { suiteSeed } from '../../conformance/harness.js';
import {
  parseCollectionId, formatCollectionId, pgCollectionId, hashMatches, collectionHashRange, splitMoves, bitsMask,
  pgObjectKeyRanges,
} from '../../../engine/collection.js';
import { reverseBits32, normalizeObjectId } from '../../../engine/types.js';
import { encodeOidKey } from '../../../engine/oid-key.js';
import { EbofsError } from '../../../common/errors.js';

const SEED = suiteSeed();

test('parse and format canonical ids', (t) => {
  for (const cid of ['meta', '1.7_head', '3.1fs2_head', '0.0_head', '12.ffffffff_TEMP', '5.a0s0_head']) {
    t.is(formatCollectionId(parseCollectionId(cid)), cid);
  }
  t.deepEqual(parseCollectionId('3.1fs2_head'), { kind: 'pg', pool: 3n, seed: 0x1f, shard: 2, temp: false });
  t.is(pgCollectionId(1, 7), '1.7_head');
  for (const bad of ['', 'x', '01.7_head', '1.07_head', '1.7F_head', '1.7_HEAD', '1.7s_head', '1.123456789_head',
    '1.7s128_head', '-1.7_head', 'meta2', '1.7s01_head']) {
    const e = t.throws(() => parseCollectionId(bad), undefined, bad);
    t.true(e instanceof EbofsError && e.code === 'EINVAL');
  }
});

test('membership by bits equals the bit-reversed interval', (t) => {
  t.log(`seed ${SEED}`);
  fc.assert(fc.property(fc.nat({ max: 0xffff_ffff }), fc.nat({ max: 0xffff_ffff }), fc.integer({ min: 0, max: 32 }),
    (hash, seed, bits) => {
      const { start, end } = collectionHashRange(seed, bits);
      const r = reverseBits32(hash);
      return hashMatches(hash, bits, seed) === (r >= start && r < end);
    }), { seed: SEED, numRuns: 5000 });
  t.pass();
});

test('split partitions the parent: child takes the upper half of the interval', (t) => {
  const seed = 0x5;
  const bits = 3;
  const rem = seed | (1 << bits);
  const parent = collectionHashRange(seed, bits);
  const child = collectionHashRange(rem, bits + 1);
  const kept = collectionHashRange(seed, bits + 1);
  t.is(kept.start, parent.start);
  t.is(child.start, kept.end);
  t.is(child.end, parent.end);
  fc.assert(fc.property(fc.nat({ max: 0xffff_ffff }), (h) => {
    if (!hashMatches(h, bits, seed)) return true;
    return splitMoves(h, bits + 1, rem) !== hashMatches(h, bits + 1, seed);
  }), { seed: SEED + 1, numRuns: 2000 });
  t.is(collectionHashRange(0, 0).end, 2 ** 32);
});

test('PG key ranges hold exactly the objects the PG owns', (t) => {
  t.log(`seed ${SEED}`);
  let owned = 0;
  fc.assert(fc.property(
    fc.constantFrom(0n, 1n, 2n), fc.constantFrom(-1, 0, 1), fc.nat({ max: 0xffff_ffff }), fc.integer({ min: 0, max: 32 }),
    fc.record({
      temp: fc.boolean(), otherPool: fc.constantFrom(-1n, 0n, 1n, 2n, 3n, -3n, -4n), samePool: fc.boolean(),
      sameShard: fc.boolean(), otherShard: fc.constantFrom(-1, 0, 1, 2), matchHash: fc.boolean(),
      high: fc.nat({ max: 0xffff_ffff }), name: fc.uint8Array({ maxLength: 3 }),
    }),
    (pool, shard, seedRaw, bits, o) => {
      const seed = (seedRaw & bitsMask(bits)) >>> 0;
      const hash = o.matchHash ? ((o.high & ~bitsMask(bits)) | seed) >>> 0 : o.high;
      const oid = normalizeObjectId({
        pool: o.samePool ? (o.temp ? -2n - pool : pool) : o.otherPool, shard: o.sameShard ? shard : o.otherShard,
        hash, name: o.name,
      });
      const parsed = parseCollectionId(pgCollectionId(pool, seed, shard));
      const key = encodeOidKey(oid);
      const inRange = (pgObjectKeyRanges(parsed, bits) ?? []).some((r) =>
        Buffer.compare(r.start, key) <= 0 && Buffer.compare(key, r.end) < 0);
      const isOwned = oid.shard === shard && (oid.pool === pool || oid.pool === -2n - pool) && hashMatches(oid.hash, bits, seed);
      if (isOwned) owned++;
      return inRange === isOwned;
    }), { seed: SEED + 2, numRuns: 5000 });
  t.true(owned > 500, `owned cases: ${owned}`);
  t.is(pgObjectKeyRanges(parseCollectionId('meta'), 0), undefined);
});
