/**
 * Conformance cases: buffer ownership (callers may reuse their buffers, results are copies),
 * reuse of a queued Transaction, empty vectors, the meta collection, large omaps with early
 * iterator exit, and collection bookkeeping after moves.
 */
import type { ExecutionContext } from 'ava';
import { Transaction } from '../../engine/transaction.js';
import { CID, type Harness, obj, text } from './harness.js';

type Case = (t: ExecutionContext, h: Harness) => Promise<void>;

export const miscCases: Record<string, Case> = {
  async 'caller buffers may be reused after queueing; results are copies'(t, h) {
    const o = obj('own');
    const data = Buffer.from('original');
    const tx = new Transaction().createCollection(CID, 0).write(CID, o, 0, data).setattr(CID, o, 'a', data)
      .omapSetKeys(CID, o, [[data, data]]);
    data.fill(0x21);
    await h.apply(tx);
    t.is(text(await h.store.read(CID, o)), 'original');
    const r = await h.store.read(CID, o);
    r.fill(0);
    const attr = await h.store.getattr(CID, o, 'a');
    attr.fill(0);
    t.is(text(await h.store.read(CID, o)), 'original');
    t.is(text(await h.store.getattr(CID, o, 'a')), 'original');
    t.is(text((await h.store.omapGetValues(CID, o, ['original'])).get('original') ?? Buffer.alloc(0)), 'original');
  },

  async 'a transaction can be queued twice; empty transactions and vectors are fine'(t, h) {
    const o = obj('twice');
    await h.apply(new Transaction().createCollection(CID, 0));
    const tx = new Transaction().write(CID, o, 0, 'ab').omapSetKeys(CID, o, { k: 'v' });
    await h.apply(tx);
    await h.apply(tx);
    t.is(text(await h.store.read(CID, o)), 'ab');
    await h.apply(new Transaction());
    await h.apply([]);
    await h.apply([new Transaction(), new Transaction()]);
    t.deepEqual(await h.store.listCollections(), [CID]);
  },

  async 'the meta collection holds any hash in pool -1'(t, h) {
    const oids = [obj('osdmap.1', 0x1234, { pool: -1 }), obj('superblock', 0xffff_ffff, { pool: -1 }), obj('', 7, { pool: -1 })];
    const tx = new Transaction().createCollection('meta', 0);
    for (const o of oids) tx.write('meta', o, 0, 'm');
    await h.apply(tx);
    t.is((await h.store.listObjects('meta')).objects.length, 3);
    t.false(await h.store.collectionEmpty('meta'));
  },

  async 'large omap: thousands of keys, values by key, early iterator exit'(t, h) {
    const o = obj('bigomap');
    const tx = new Transaction().createCollection(CID, 0).touch(CID, o);
    for (let chunk = 0; chunk < 5; chunk++) {
      tx.omapSetKeys(CID, o, Array.from({ length: 1000 }, (_, i) => [`key.${String(chunk * 1000 + i).padStart(6, '0')}`, `${i}`] as const));
    }
    await h.apply(tx);
    t.is((await h.store.omapGetKeys(CID, o)).length, 5000);
    const got = await h.store.omapGetValues(CID, o, ['key.004999', 'key.000000', 'key.x']);
    t.deepEqual(got.keys().map(text), ['key.000000', 'key.004999']);
    let n = 0;
    for await (const [k] of h.store.omapIterate(CID, o, { start: 'key.002500' })) {
      if (n === 0) t.is(text(k), 'key.002500');
      if (++n === 10) break;
    }
    t.is(n, 10);
    await h.apply(new Transaction().omapRmKeyRange(CID, o, 'key.001000', 'key.004000'));
    t.is((await h.store.omapGetKeys(CID, o)).length, 2000);
    await h.remount(t);
  },

  async 'collection bookkeeping: empty after moves, list after merge and recreate'(t, h) {
    const a = '1.0_head';
    const b = '1.1_head';
    await h.apply(new Transaction().createCollection(a, 1).createCollection(b, 1).touch(a, obj('x', 2)).touch(b, obj('y', 3)));
    t.false(await h.store.collectionEmpty(a));
    await h.apply(new Transaction().mergeCollection(b, a, 0));
    t.deepEqual(await h.store.listCollections(), [a]);
    t.is((await h.store.listObjects(a)).objects.length, 2);
    await h.apply(new Transaction().createCollection(b, 1).splitCollection(a, 1, 1, b));
    t.deepEqual((await h.store.listObjects(b)).objects.map((o) => text(o.name)), ['y']);
    await h.apply(new Transaction().remove(b, obj('y', 3)).removeCollection(b).createCollection(b, 1));
    t.true(await h.store.collectionEmpty(b));
    await h.remount(t);
  },
};
