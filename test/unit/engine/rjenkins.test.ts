/**
 * Goal: default object hashes equal Ceph's (`ceph_str_hash_rjenkins` through
 * `pg_pool_t::hash_key`). Method: known-answer vectors reported by a Ceph v19 cluster
 * (`ceph osd map <pool> <object> [<nspace>]`, the raw PG seed is the hash).
 */
import test from 'ava';
import { cephObjectHash, cephStrHashRjenkins } from '../../../engine/rjenkins.js';
import { normalizeObjectId } from '../../../engine/types.js';

const b = (s: string) => Buffer.from(s, 'utf8');

const VECTORS: Array<[string, string, number]> = [
  ['', 'foo', 0x7fc1f406], ['ns1', 'foo', 0xf4569544], ['', 'bar', 0xefe6384b], ['ns1', 'bar', 0x73a75142],
  ['users.uid', 'testuser', 0xa13aa4c1], ['gc', 'gc.0', 0x031bb659], ['', 'gc.0', 0x990e66d8],
  ['control', 'notify.0', 0x4eeacd0a], ['rgw', 'foo', 0x0ecb73a9], ['', 'obj', 0xaabc5e21],
  ['ns1', 'obj', 0x37eda02a], ['', '_shadow_obj.1', 0xe5f42c1a], ['', 'e', 0xef61efce], ['', 'c', 0x4fa4bedb],
  ['', 'a', 0x29eec818],
];

test('rjenkins matches Ceph cluster vectors', (t) => {
  for (const [ns, name, hash] of VECTORS) t.is(cephObjectHash(b(ns), b(name)), hash, `${ns}/${name}`);
  t.is(cephStrHashRjenkins(b('foo')), 0x7fc1f406);
});

test('default ObjectId hash uses the locator key and namespace', (t) => {
  t.is(normalizeObjectId({ pool: 2, name: 'foo' }).hash, 0x7fc1f406);
  t.is(normalizeObjectId({ pool: 2, name: 'foo', namespace: 'ns1' }).hash, 0xf4569544);
  t.is(normalizeObjectId({ pool: 2, name: '_multipart_obj.2~abc.1', key: 'obj' }).hash, 0xaabc5e21);
  t.is(normalizeObjectId({ pool: 2, name: 'x', key: 'obj', namespace: 'ns1' }).hash, 0x37eda02a);
  t.is(normalizeObjectId({ pool: 2, name: 'foo', hash: 7 }).hash, 7);
});

test('lengths around the 12-byte block boundary are stable and distinct', (t) => {
  const seen = new Set<number>();
  for (let n = 0; n <= 40; n++) seen.add(cephStrHashRjenkins(new Uint8Array(n).fill(0x41)));
  t.is(seen.size, 41);
});
