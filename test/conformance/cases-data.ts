/**
 * Conformance cases: object data (Ceph store_test SimpleObjectTest, ZeroLengthWrite,
 * ZeroLengthZero, ZeroVsObjectSize, AppendZeroTrailingSharedBlock, ManyBigWrite-like sparse
 * writes) and collection basics (SimpleColTest).
 */
import type { ExecutionContext } from 'ava';
import { Transaction } from '../../engine/transaction.js';
import { CID, type Harness, obj, rejects, rejectsTx, text } from './harness.js';

type Case = (t: ExecutionContext, h: Harness) => Promise<void>;

export const dataCases: Record<string, Case> = {
  async 'collections: create, exists, bits, remove, EEXIST and ENOENT reject'(t, h) {
    t.false(await h.store.collectionExists(CID));
    await h.apply(new Transaction().createCollection(CID, 0).createCollection('meta', 0));
    t.true(await h.store.collectionExists(CID));
    t.deepEqual(await h.store.listCollections(), [CID, 'meta'].sort());
    t.is(await h.store.collectionBits(CID), 0);
    t.true(await h.store.collectionEmpty(CID));
    await rejectsTx(t, h, new Transaction().touch(CID, obj('x')).createCollection(CID, 0), 'EEXIST', 1);
    await rejectsTx(t, h, new Transaction().removeCollection('2.0_head'), 'ENOENT', 0);
    await h.remount(t);
    await h.apply(new Transaction().removeCollection(CID));
    t.false(await h.store.collectionExists(CID));
    await rejects(t, h.store.collectionBits(CID), 'ENOENT');
    await rejects(t, h.store.listObjects(CID), 'ENOENT');
  },

  async 'simple object: touch, write, read whole/clamped/past EOF, remove'(t, h) {
    const o = obj('simple');
    await h.apply(new Transaction().createCollection(CID, 0));
    t.false(await h.store.exists(CID, o));
    await rejects(t, h.store.read(CID, o), 'ENOENT');
    await rejects(t, h.store.stat(CID, o), 'ENOENT');
    await h.apply(new Transaction().touch(CID, o));
    t.deepEqual(await h.store.stat(CID, o), { size: 0, blockSize: 4096, blocks: 0 });
    t.is((await h.store.read(CID, o)).length, 0);
    await h.apply(new Transaction().write(CID, o, 0, 'abcde'));
    t.is(text(await h.store.read(CID, o)), 'abcde', '(0,0) reads the whole object');
    t.is(text(await h.store.read(CID, o, 0, 1 << 20)), 'abcde', 'clamped to size');
    t.is(text(await h.store.read(CID, o, 2, 2)), 'cd');
    t.is((await h.store.read(CID, o, 5, 10)).length, 0, 'at EOF: empty');
    t.is((await h.store.read(CID, o, 100, 10)).length, 0, 'past EOF: empty');
    t.is((await h.store.read(CID, o, 3, 0)).length, 0, 'len 0 with off > 0: empty');
    await h.apply(new Transaction().write(CID, o, 10, 'XY'));
    t.is(text(await h.store.read(CID, o)), 'abcde\0\0\0\0\0XY', 'the gap reads as zeros');
    t.deepEqual(await h.store.stat(CID, o), { size: 12, blockSize: 4096, blocks: 1 });
    await h.remount(t);
    await h.apply(new Transaction().remove(CID, o));
    t.false(await h.store.exists(CID, o));
    await h.apply(new Transaction().remove(CID, o)); // tolerated
  },

  async 'zero-length write and zero create the object and keep the size'(t, h) {
    const a = obj('a');
    const b = obj('b');
    await h.apply(new Transaction().createCollection(CID, 0).write(CID, a, 100, new Uint8Array(0)).zero(CID, b, 50, 0));
    t.is((await h.store.stat(CID, a)).size, 0);
    t.is((await h.store.stat(CID, b)).size, 0);
    await h.apply(new Transaction().write(CID, a, 0, 'abc').write(CID, a, 10, '').zero(CID, a, 20, 0));
    t.is((await h.store.stat(CID, a)).size, 3);
  },

  async 'zero vs object size (ZeroVsObjectSize)'(t, h) {
    const o = obj('z');
    await h.apply(new Transaction().createCollection(CID, 0).write(CID, o, 0, 'abcde'));
    await h.apply(new Transaction().zero(CID, o, 1, 2));
    t.is((await h.store.stat(CID, o)).size, 5);
    t.is(text(await h.store.read(CID, o)), 'a\0\0de');
    await h.apply(new Transaction().zero(CID, o, 3, 200));
    t.is((await h.store.stat(CID, o)).size, 203);
    await h.apply(new Transaction().zero(CID, o, 100000, 200));
    t.is((await h.store.stat(CID, o)).size, 100200);
    const all = await h.store.read(CID, o);
    t.is(all.length, 100200);
    t.is(all[0], 0x61);
    t.true(all.subarray(1).every((x) => x === 0));
  },

  async 'truncate shrinks for real and grows with zeros (AppendZeroTrailingSharedBlock)'(t, h) {
    const o = obj('t');
    const c = obj('t-clone', 0, { snap: 4 });
    const data = Buffer.alloc(5000, 0x41);
    await h.apply(new Transaction().createCollection(CID, 0).write(CID, o, 0, Buffer.concat([data, Buffer.alloc(3000, 0x47)])));
    await h.apply(new Transaction().truncate(CID, o, 5000).clone(CID, o, c));
    await h.apply(new Transaction().write(CID, o, 20000, 'end').write(CID, c, 9000, 'x'));
    const got = await h.store.read(CID, o);
    t.is(got.length, 20003);
    t.true(got.subarray(0, 5000).equals(data));
    t.true(got.subarray(5000, 20000).every((x) => x === 0), 'no stale garbage past the old size');
    const gotClone = await h.store.read(CID, c);
    t.is(gotClone.length, 9001);
    t.true(gotClone.subarray(5000, 9000).every((x) => x === 0));
    await h.apply(new Transaction().truncate(CID, o, 2).truncate(CID, o, 10));
    t.is(text(await h.store.read(CID, o)), 'AA\0\0\0\0\0\0\0\0');
    await h.apply(new Transaction().truncate(CID, obj('missing'), 10)); // tolerated
    t.false(await h.store.exists(CID, obj('missing')));
    await h.remount(t);
  },

  async 'sparse writes at large offsets are cheap and read back with holes'(t, h) {
    const o = obj('big');
    const chunk = h.random.bytes(64 * 1024);
    const tx = new Transaction().createCollection(CID, 0);
    for (const off of [0, 256 << 20, 1 << 30]) tx.write(CID, o, off, chunk);
    await h.apply(tx);
    t.is((await h.store.stat(CID, o)).size, (1 << 30) + chunk.length);
    t.true((await h.store.read(CID, o, 256 << 20, chunk.length)).equals(chunk));
    t.true((await h.store.read(CID, o, 1 << 20, 1 << 20)).every((x) => x === 0));
    const extents = await h.store.fiemap(CID, o);
    const mapped = extents.reduce((n, e) => n + e.length, 0);
    t.true(mapped >= 3 * chunk.length && mapped < (16 << 20), `fiemap maps ${mapped} bytes`);
    await h.apply(new Transaction().zero(CID, o, 0, 512 << 20));
    t.true((await h.store.read(CID, o, 256 << 20, chunk.length)).every((x) => x === 0));
    const statfs = await h.store.statfs();
    t.true(statfs.total > 0 && statfs.available <= statfs.total);
    await h.remount(t);
  },

  async 'overlapping writes: last writer wins, byte-exact'(t, h) {
    const o = obj('ov');
    const model = Buffer.alloc(40000);
    let size = 0;
    await h.apply(new Transaction().createCollection(CID, 0).touch(CID, o));
    for (let i = 0; i < 40; i++) {
      const off = h.random.int(30000);
      const len = h.random.int(9000);
      const bytes = h.random.bytes(len);
      const tx = new Transaction();
      if (h.random.chance(0.2)) {
        tx.zero(CID, o, off, len);
        model.fill(0, off, off + len);
      } else {
        tx.write(CID, o, off, bytes);
        bytes.copy(model, off);
      }
      if (len > 0) size = Math.max(size, off + len);
      if (h.random.chance(0.15)) {
        const n = h.random.int(size + 100);
        tx.truncate(CID, o, n);
        if (n < size) model.fill(0, n);
        size = n;
      }
      await h.apply(tx);
    }
    t.is((await h.store.stat(CID, o)).size, size);
    t.true((await h.store.read(CID, o)).equals(model.subarray(0, size)));
  },

  async 'reads on a missing collection or object are ENOENT'(t, h) {
    await rejects(t, h.store.read('5.0_head', obj('a')), 'ENOENT');
    await rejects(t, h.store.getattrs('5.0_head', obj('a')), 'ENOENT');
    t.false(await h.store.exists('5.0_head', obj('a')));
    await h.apply(new Transaction().createCollection(CID, 0));
    await rejects(t, h.store.omapGetHeader(CID, obj('a')), 'ENOENT');
    await rejects(t, h.store.fiemap(CID, obj('a')), 'ENOENT');
  },
};
