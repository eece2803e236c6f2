/**
 * Conformance cases: transaction semantics (ops see earlier ops, atomic rejection of single
 * transactions and vectors, tolerated errors, per-collection order, readable on return),
 * clone and cloneRange (SimpleCloneTest, OmapCloneTest, CloneRangeTest), alloc hints,
 * fencing, limits and the closed store.
 */
import type { ExecutionContext } from 'ava';
import { Transaction, TransactionError } from '../../engine/transaction.js';
import type { ObjectStore } from '../../engine/types-store.js';
import { CID, type Harness, obj, rejects, rejectsTx, text } from './harness.js';

type Case = (t: ExecutionContext, h: Harness) => Promise<void>;

export const txnCases: Record<string, Case> = {
  async 'ops see earlier ops; a fatal op rejects the whole transaction and vector'(t, h) {
    const a = obj('a');
    await h.apply(new Transaction().createCollection(CID, 0).write(CID, a, 0, 'base'));
    const big = new Transaction();
    for (let i = 0; i < 50; i++) big.write(CID, obj(`n${i}`), i, `x${i}`).setattr(CID, obj(`n${i}`), 'k', 'v');
    big.remove(CID, a).omapSetKeys(CID, obj('n3'), { k: 'v' }).setattr(CID, a, 'after', 'remove');
    await rejectsTx(t, h, big, 'ENOENT', 102);
    t.false(await h.store.exists(CID, obj('n0')));
    t.is(text(await h.store.read(CID, a)), 'base');
    const good = new Transaction().write(CID, a, 0, 'GOOD');
    const bad = new Transaction().createCollection(CID, 0);
    const err = await rejects(t, h.store.queueTransactions([good, bad]), 'EEXIST');
    t.true(err instanceof TransactionError && err.transactionIndex === 1 && err.opIndex === 0);
    t.is(text(await h.store.read(CID, a)), 'base', 'the vector is atomic');
    await h.apply([good, new Transaction().append(good).write(CID, a, 4, '!')]);
    t.is(text(await h.store.read(CID, a)), 'GOOD!', 'the store is usable after a rejection');
  },

  async 'object ops on a missing collection always reject, even tolerant ones'(t, h) {
    await rejectsTx(t, h, new Transaction().remove('7.0_head', obj('a')), 'ENOENT', 0);
    await rejectsTx(t, h, new Transaction().touch('7.0_head', obj('a')), 'ENOENT', 0);
  },

  async 'remove collection counts removals earlier in the transaction'(t, h) {
    await h.apply(new Transaction().createCollection(CID, 0).touch(CID, obj('a')));
    await rejectsTx(t, h, new Transaction().removeCollection(CID), 'ENOTEMPTY', 0);
    await h.apply(new Transaction().remove(CID, obj('a')).removeCollection(CID));
    t.false(await h.store.collectionExists(CID));
  },

  async 'readable when queueTransaction returns; onApplied first; commits in order'(t, h) {
    await h.apply(new Transaction().createCollection(CID, 0));
    const events: string[] = [];
    const o = obj('p');
    const promises: Array<Promise<void>> = [];
    for (let i = 0; i < 20; i++) {
      const p = h.store.queueTransaction(new Transaction().write(CID, o, 0, `v${i.toString().padStart(2, '0')}`),
        { onApplied: () => events.push(`applied ${i}`) });
      t.is(events[events.length - 1], `applied ${i}`, 'onApplied ran before return');
      t.is(text(await h.store.read(CID, o)), `v${i.toString().padStart(2, '0')}`, 'readable on return');
      promises.push(p.then(() => { events.push(`committed ${i}`); }));
    }
    await Promise.all(promises);
    const commits = events.filter((e) => e.startsWith('committed'));
    t.deepEqual(commits, Array.from({ length: 20 }, (_, i) => `committed ${i}`));
  },

  async 'clone copies data, xattrs and omap; independent afterwards; replaces the target'(t, h) {
    const src = obj('src', 42);
    const dst = obj('src', 42, { snap: 3 });
    await h.apply(new Transaction().createCollection(CID, 0).write(CID, src, 0, 'source data').setattr(CID, src, 'a', '1')
      .omapSetHeader(CID, src, 'H').omapSetKeys(CID, src, { k1: 'v1', k2: 'v2' })
      .write(CID, dst, 0, 'old target content that is longer').setattr(CID, dst, 'stale', 'x').omapSetKeys(CID, dst, { old: 'o' }));
    await h.apply(new Transaction().clone(CID, src, dst));
    t.is(text(await h.store.read(CID, dst)), 'source data');
    t.deepEqual((await h.store.getattrs(CID, dst)).keys().map(text), ['a']);
    t.is(text(await h.store.omapGetHeader(CID, dst)), 'H');
    t.deepEqual((await h.store.omapGetKeys(CID, dst)).map(text), ['k1', 'k2']);
    await h.apply(new Transaction().write(CID, src, 0, 'SOURCE').omapSetKeys(CID, dst, { k3: 'v3' }).setattr(CID, src, 'b', '2')
      .truncate(CID, dst, 3));
    t.is(text(await h.store.read(CID, dst)), 'sou');
    t.is(text(await h.store.read(CID, src)), 'SOURCE data');
    t.deepEqual((await h.store.omapGetKeys(CID, src)).map(text), ['k1', 'k2']);
    t.deepEqual((await h.store.getattrs(CID, dst)).keys().map(text), ['a']);
    await rejectsTx(t, h, new Transaction().clone(CID, obj('missing', 42), obj('m2', 42)), 'ENOENT', 0);
    await h.remount(t);
  },

  async 'cloneRange copies data only, creates and grows the target, refuses ranges past the source'(t, h) {
    const src = obj('s');
    const dst = obj('d');
    await h.apply(new Transaction().createCollection(CID, 0).write(CID, src, 0, 'abcdefgh').truncate(CID, src, 1 << 20)
      .setattr(CID, src, 'a', 'b'));
    await h.apply(new Transaction().cloneRange(CID, src, dst, 0, 1 << 20, 0));
    t.is((await h.store.stat(CID, dst)).size, 1 << 20);
    t.is(text((await h.store.read(CID, dst, 0, 8))), 'abcdefgh');
    t.is((await h.store.getattrs(CID, dst)).size, 0, 'xattrs are not copied');
    await h.apply(new Transaction().cloneRange(CID, src, dst, 2, 3, 100).cloneRange(CID, src, dst, 0, 4, (2 << 20) - 2));
    t.is(text(await h.store.read(CID, dst, 100, 3)), 'cde');
    t.is((await h.store.stat(CID, dst)).size, (2 << 20) + 2);
    await rejectsTx(t, h, new Transaction().cloneRange(CID, src, dst, (1 << 20) - 2, 4, 0), 'EINVAL', 0);
    await rejectsTx(t, h, new Transaction().cloneRange(CID, obj('missing'), dst, 0, 1, 0), 'ENOENT', 0);
  },

  async 'alloc hint on a missing object is tolerated and does not create it'(t, h) {
    await h.apply(new Transaction().createCollection(CID, 0).setAllocHint(CID, obj('h'), 4 << 20, 4096, 1)
      .touch(CID, obj('g')).setAllocHint(CID, obj('g'), 0, 0, 0));
    t.false(await h.store.exists(CID, obj('h')));
    t.true(await h.store.exists(CID, obj('g')));
  },

  async 'fencing: transactions stamped below the floor are refused'(t, h) {
    t.is(await h.store.getFloor(), 0);
    await h.apply(new Transaction().createCollection(CID, 0).setFloor(5));
    t.is(await h.store.getFloor(), 5);
    await rejectsTx(t, h, new Transaction().setEpoch(4).touch(CID, obj('a')), 'ESTALE_EPOCH');
    await h.apply(new Transaction().setEpoch(5).touch(CID, obj('a')).setFloor(3));
    t.is(await h.store.getFloor(), 5, 'the floor never goes down');
    await rejectsTx(t, h, [new Transaction().setFloor(9), new Transaction().setEpoch(8).touch(CID, obj('b'))], 'ESTALE_EPOCH');
    t.is(await h.store.getFloor(), 5, 'a rejected vector leaves the floor');
    await h.remount(t);
    t.is(await h.store.getFloor(), 5);
  },

  async 'per-object xattr limits reject with E2BIG'(t, h) {
    const o = obj('lim');
    const tx = new Transaction().createCollection(CID, 0).touch(CID, o);
    const value = Buffer.alloc(60_000);
    for (let i = 0; i < 200; i++) tx.setattr(CID, o, `a${i}`, value);
    await rejectsTx(t, h, tx, 'E2BIG');
    t.false(await h.store.collectionExists(CID));
  },

  async 'a closed store refuses calls with ECLOSED'(t, h) {
    await h.apply(new Transaction().createCollection(CID, 0));
    await h.store.close();
    await rejects(t, h.store.listCollections(), 'ECLOSED');
    await rejects(t, h.store.queueTransaction(new Transaction().touch(CID, obj('a'))), 'ECLOSED');
  },
};

/** Clone-diff cases (run only when the store implements the optional `cloneDiff`). */
export const cloneDiffCases: Record<string, Case> = {
  async 'cloneDiff: a fresh clone differs nowhere; writes and size changes show up'(t, h) {
    const cloneDiff = h.store.cloneDiff?.bind(h.store);
    if (cloneDiff === undefined) {
      t.pass('cloneDiff not implemented');
      return;
    }
    const head = obj('rbd', 9);
    const snap = obj('rbd', 9, { snap: 1 });
    // Offsets are far enough apart for any sharing granularity up to 64 KiB (an engine data
    // block, engine/geometry.ts): the result may be coarser than the bytes written.
    await h.apply(new Transaction().createCollection(CID, 0).write(CID, head, 0, h.random.bytes(512 * 1024)).clone(CID, head, snap));
    t.deepEqual(await cloneDiff(CID, head, snap), []);
    await h.apply(new Transaction().write(CID, head, 10_000, 'x').write(CID, head, 400_000, 'y'));
    const diff = await cloneDiff(CID, head, snap);
    const covers = (off: number): boolean => diff.some((e) => e.offset <= off && off < e.offset + e.length);
    t.true(covers(10_000) && covers(400_000));
    t.false(covers(200_000) || covers(300_000), 'untouched ranges stay shared');
    await h.apply(new Transaction().truncate(CID, snap, 600_000));
    t.true((await cloneDiff(CID, head, snap)).some((e) => e.offset <= 524_288 && 524_288 < e.offset + e.length));
  },
};

/** Space cases (run only when the factory provides `createSmall`). */
export const spaceCases: Record<string, (t: ExecutionContext, h: Harness, small?: () => Promise<ObjectStore>) => Promise<void>> = {
  async 'a full store refuses growth with ENOSPC, applies nothing, and still removes and truncates'(t, h, small) {
    if (small === undefined) {
      t.pass('no small store factory');
      return;
    }
    await h.store.close();
    h.store = await small();
    await h.apply(new Transaction().createCollection(CID, 0));
    const chunk = h.random.bytes(1 << 20);
    let full = false;
    let written = 0;
    for (let i = 0; i < 200 && !full; i++) {
      const tx = new Transaction().touch(CID, obj(`fill${i}`)).setattr(CID, obj(`fill${i}`), 'n', `${i}`)
        .write(CID, obj(`fill${i}`), 0, chunk);
      try {
        await h.apply(tx);
        written++;
      } catch (err) {
        t.true(err instanceof TransactionError && err.code === 'ENOSPC', String(err));
        t.false(await h.store.exists(CID, obj(`fill${i}`)), 'nothing of the refused transaction applied');
        t.is((await h.store.listObjects(CID)).objects.length, written);
        full = true;
      }
    }
    t.true(full && written > 0, `ENOSPC after ${written} MiB`);
    const stat = await h.store.statfs();
    t.true(stat.available <= stat.total);
    await h.apply(new Transaction().truncate(CID, obj('fill0'), 10).remove(CID, obj('fill1')));
    t.is((await h.store.stat(CID, obj('fill0'))).size, 10);
    t.false(await h.store.exists(CID, obj('fill1')));
    await h.remount(t);
  },
};
