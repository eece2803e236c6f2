/**
 * Goal: small objects keep their data inline in the onode (engine/object-data.ts): no data
 * block and no extent record; growing past the inline capacity, or a rename to a key that
 * leaves too little room, moves the bytes to extents with nothing lost; every case reads the
 * same as MemStore, survives remount and passes fsck.
 */
import test from 'ava';
import { MemDevice } from '../../../engine/device/index.js';
import { mkfs, open } from '../../../engine/lifecycle.js';
import { MemStore } from '../../../engine/memstore.js';
import { Transaction } from '../../../engine/transaction.js';
import { dumpStoreState } from '../../../engine/types-store.js';
import { Random } from '../../../common/random.js';

const C = '1.0_head';
const MiB = 1024 * 1024;

async function pair() {
  const device = new MemDevice(64 * MiB);
  await mkfs(device, { journalBytes: 4 * MiB });
  const store = await open(device.reopen(), { checkpoint: { intervalMs: 0 } });
  const mem = new MemStore();
  const apply = async (t: Transaction): Promise<void> => {
    await store.queueTransaction(t);
    await mem.queueTransaction(Transaction.fromOps(t.ops));
  };
  await apply(new Transaction().createCollection(C, 0));
  return { device, store, mem, apply };
}

test('small objects cost no data block or extent record', async (t) => {
  const { device, store, mem, apply } = await pair();
  await store.checkpoint();
  const before = (await store.statfs()).allocated;
  const r = new Random(1);
  const t1 = new Transaction();
  for (let i = 0; i < 200; i++) t1.write(C, { pool: 1, name: `small${i}` }, r.int(100), r.bytes(r.range(1, 300)));
  await apply(t1);
  await store.checkpoint();
  t.is(store.state.trees.extents.current.count, 0, 'no extent records');
  t.true((await store.statfs()).allocated - before < 200 * 4096 / 4, 'a fraction of one block per object');
  t.is(await dumpStoreState(store), await dumpStoreState(mem));
  t.deepEqual(await store.fiemap(C, { pool: 1, name: 'small0' }), [{ offset: 0, length: (await store.stat(C, { pool: 1, name: 'small0' })).size }]);
  await store.close();
  const again = await open(device.reopen(), { checkpoint: { intervalMs: 0 } });
  t.is(await dumpStoreState(again), await dumpStoreState(mem));
  t.deepEqual(await again.fsck({ deep: true }), []);
  await again.close();
});

test('growing past the inline capacity, zero, truncate and clone keep every byte', async (t) => {
  const { store, mem, apply } = await pair();
  const o = { pool: 1, name: 'grow' };
  await apply(new Transaction().write(C, o, 10, Buffer.alloc(200, 1)).zero(C, o, 50, 20).truncate(C, o, 300));
  t.is(store.state.trees.extents.current.count, 0);
  await apply(new Transaction().clone(C, o, { ...o, snap: 1 }).write(C, o, 5000, Buffer.alloc(100, 2)));
  t.true(store.state.trees.extents.current.count > 0, 'materialized');
  await apply(new Transaction().truncate(C, o, 0).write(C, o, 3, Buffer.alloc(10, 3)).cloneRange(C, { ...o, snap: 1 }, { pool: 1, name: 'other' }, 0, 300, 8192));
  await apply(new Transaction().cloneRange(C, { pool: 1, name: 'other' }, o, 8192, 300, 20).truncate(C, { ...o, snap: 1 }, 100_000));
  t.is(await dumpStoreState(store), await dumpStoreState(mem));
  t.deepEqual(await store.fsck({ deep: true }), []);
  await store.close();
});

test('a rename to a long key moves inline data to extents', async (t) => {
  const { store, mem, apply } = await pair();
  const short = { pool: 1, name: 's', hash: 7 };
  const long = { pool: 1, name: 'n'.repeat(1500), hash: 7 };
  await apply(new Transaction().write(C, short, 0, Buffer.alloc(400, 9)));
  await apply(new Transaction().collectionMoveRename(C, short, C, long));
  t.true((await store.read(C, long)).equals(Buffer.alloc(400, 9)));
  t.true(store.state.trees.extents.current.count > 0, 'the long key leaves no room inline');
  t.is(await dumpStoreState(store), await dumpStoreState(mem));
  t.deepEqual(await store.fsck(), []);
  await store.close();
});
