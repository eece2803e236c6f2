/**
 * Conformance cases: xattrs (XattrTest) and omap (OMapTest, OMapIterator, omap_rmkeyrange),
 * including binary keys and the independence of the xattr and omap namespaces.
 */
import type { ExecutionContext } from 'ava';
import { Transaction } from '../../engine/transaction.js';
import { CID, type Harness, obj, rejects, rejectsTx, text } from './harness.js';

type Case = (t: ExecutionContext, h: Harness) => Promise<void>;

async function collect(it: AsyncIterable<[Buffer, Buffer]>): Promise<string[]> {
  const out: string[] = [];
  for await (const [k, v] of it) out.push(`${text(k)}=${text(v)}`);
  return out;
}

export const metaCases: Record<string, Case> = {
  async 'xattrs: set, last wins, large values, getattrs exact, rmattr, ENODATA'(t, h) {
    const o = obj('x');
    const big = h.random.bytes(10_000);
    await h.apply(new Transaction().createCollection(CID, 0).touch(CID, o)
      .setattr(CID, o, 'a', 'one').setattr(CID, o, 'a', 'two').setattrs(CID, o, { b: 'bee', big }));
    t.is(text(await h.store.getattr(CID, o, 'a')), 'two');
    t.true((await h.store.getattr(CID, o, 'big')).equals(big));
    const all = await h.store.getattrs(CID, o);
    t.deepEqual(all.keys().map(text), ['a', 'b', 'big']);
    await rejects(t, h.store.getattr(CID, o, 'nope'), 'ENODATA');
    await h.apply(new Transaction().rmattr(CID, o, 'nope').rmattr(CID, o, 'b')); // ENODATA tolerated
    t.deepEqual((await h.store.getattrs(CID, o)).keys().map(text), ['a', 'big']);
    await h.remount(t);
    await h.apply(new Transaction().rmattrs(CID, o).setattr(CID, o, 'c', ''));
    const after = await h.store.getattrs(CID, o);
    t.is(after.size, 1);
    t.is(after.get('c')?.length, 0);
    await rejectsTx(t, h, new Transaction().setattr(CID, obj('missing'), 'a', 'b'), 'ENOENT', 0);
    await rejectsTx(t, h, new Transaction().touch(CID, obj('y')).rmattr(CID, obj('missing'), 'a'), 'ENOENT', 1);
    await h.apply(new Transaction().rmattrs(CID, obj('missing'))); // tolerated
  },

  async 'many xattrs of 4 KiB (spill-over sizes)'(t, h) {
    const o = obj('many-attrs');
    const tx = new Transaction().createCollection(CID, 0).touch(CID, o);
    const value = h.random.bytes(4096);
    for (let i = 0; i < 1024; i++) tx.setattr(CID, o, `attr_${i.toString().padStart(4, '0')}`, value);
    await h.apply(tx);
    const all = await h.store.getattrs(CID, o);
    t.is(all.size, 1024);
    t.true(all.get('attr_0777')?.equals(value));
    await h.remount(t);
  },

  async 'omap: keys, header, values, rmkeys, rmkeyrange [first,last), clear'(t, h) {
    const o = obj('pgmeta');
    const keys = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [String(i), `v${i}`]));
    await h.apply(new Transaction().createCollection(CID, 0).touch(CID, o).omapSetHeader(CID, o, 'HDR').omapSetKeys(CID, o, keys));
    t.is(text(await h.store.omapGetHeader(CID, o)), 'HDR');
    t.deepEqual((await h.store.omapGetKeys(CID, o)).map(text), Object.keys(keys));
    const some = await h.store.omapGetValues(CID, o, ['3', 'zz', '7']);
    t.deepEqual([...some].map(([k, v]) => `${text(k)}=${text(v)}`), ['3=v3', '7=v7'], 'missing keys skipped');
    await h.apply(new Transaction().omapRmKeyRange(CID, o, '3', '7'));
    t.deepEqual((await h.store.omapGetKeys(CID, o)).map(text), ['0', '1', '2', '7', '8', '9']);
    await h.apply(new Transaction().omapRmKeys(CID, o, ['0', 'absent']).omapRmKeyRange(CID, o, '9', '1'));
    t.deepEqual((await h.store.omapGetKeys(CID, o)).map(text), ['1', '2', '7', '8', '9'], 'empty range removes nothing');
    t.is(text(await h.store.omapGetHeader(CID, o)), 'HDR', 'header survives rmkeys and rmkeyrange');
    t.is((await h.store.getattrs(CID, o)).size, 0, 'omap and xattrs are separate');
    await h.remount(t);
    await h.apply(new Transaction().omapClear(CID, o));
    t.is((await h.store.omapGetHeader(CID, o)).length, 0, 'omapClear clears the header');
    t.deepEqual(await h.store.omapGetKeys(CID, o), []);
    await h.apply(new Transaction().omapClear(CID, obj('missing'))); // tolerated
    await rejectsTx(t, h, new Transaction().omapSetKeys(CID, obj('missing'), { a: 'b' }), 'ENOENT', 0);
    await rejectsTx(t, h, new Transaction().omapRmKeys(CID, obj('missing'), ['a']), 'ENOENT', 0);
    await rejectsTx(t, h, new Transaction().omapSetHeader(CID, obj('missing'), 'h'), 'ENOENT', 0);
    await rejectsTx(t, h, new Transaction().omapRmKeyRange(CID, obj('missing'), 'a', 'b'), 'ENOENT', 0);
  },

  async 'omap iteration: byte order, binary keys, start/after/end bounds'(t, h) {
    const o = obj('iter');
    const raw = ['', '\0', 'a', 'a\0', 'ab', 'b', '\x80', '\xff', '\xff\xff'];
    const entries = raw.map((k) => [Buffer.from(k, 'latin1'), Buffer.from(`v${k}`, 'latin1')] as const);
    await h.apply(new Transaction().createCollection(CID, 0).touch(CID, o).omapSetKeys(CID, o, entries));
    const want = raw.map((k) => `${k}=v${k}`);
    t.deepEqual(await collect(h.store.omapIterate(CID, o)), want);
    t.deepEqual(await collect(h.store.omapIterate(CID, o, { start: 'a' })), want.slice(2));
    t.deepEqual(await collect(h.store.omapIterate(CID, o, { after: 'a' })), want.slice(3));
    t.deepEqual(await collect(h.store.omapIterate(CID, o, { start: 'a', end: 'b' })), want.slice(2, 5));
    t.deepEqual(await collect(h.store.omapIterate(CID, o, { after: Buffer.from('\xff\xff', 'latin1') })), []);
    t.deepEqual((await h.store.omapGetKeys(CID, o)).map((k) => k.toString('latin1')), raw);
    await rejects(t, collect(h.store.omapIterate(CID, obj('missing'))), 'ENOENT');
  },

  async 'pg-log pattern: append keys and trim ranges over many transactions'(t, h) {
    const o = obj('', 0, { pool: 1 });
    await h.apply(new Transaction().createCollection(CID, 0).touch(CID, o));
    const key = (i: number): string => `0000000001.${i.toString().padStart(20, '0')}`;
    for (let i = 0; i < 300; i++) {
      const tx = new Transaction().omapSetKeys(CID, o, [[key(i), h.random.bytes(50)]]).omapSetHeader(CID, o, `info ${i}`);
      if (i % 50 === 49) tx.omapRmKeyRange(CID, o, key(0), key(i - 20));
      await h.apply(tx);
    }
    const keys = (await h.store.omapGetKeys(CID, o)).map(text);
    t.is(keys.length, 300 - 279);
    t.is(keys[0], key(279));
    t.is(text(await h.store.omapGetHeader(CID, o)), 'info 299');
  },

  async 'remove then touch in one transaction gives a fresh empty object'(t, h) {
    const o = obj('fresh');
    await h.apply(new Transaction().createCollection(CID, 0).write(CID, o, 0, 'data').setattr(CID, o, 'a', 'b')
      .omapSetKeys(CID, o, { k: 'v' }).omapSetHeader(CID, o, 'h'));
    await h.apply(new Transaction().remove(CID, o).touch(CID, o));
    t.is((await h.store.stat(CID, o)).size, 0);
    t.is((await h.store.getattrs(CID, o)).size, 0);
    t.deepEqual(await h.store.omapGetKeys(CID, o), []);
    t.is((await h.store.omapGetHeader(CID, o)).length, 0);
  },
};
