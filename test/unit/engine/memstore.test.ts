/**
 * Goal: MemStore, the reference model, passes the whole ObjectStore conformance suite, and its
 * own promises hold: the canonical dump is stable, a rejected transaction leaves the state
 * byte-identical (undo log), and ENOSPC rejects growth but never removal.
 * Method: the shared suite, plus seeded random transactions with injected fatal ops.
 */
import test from 'ava';
import { MemStore } from '../../../engine/memstore.js';
import { Transaction, TransactionError } from '../../../engine/transaction.js';
import { normalizeObjectId } from '../../../engine/types.js';
import { Random } from '../../../common/random.js';
import { defineObjectStoreSuite } from '../../conformance/objectstore.js';
import { suiteSeed } from '../../conformance/harness.js';
import { randomTransaction, runDifferential, worldSetup } from '../../conformance/random-txn.js';

defineObjectStoreSuite('memstore', {
  create: async () => new MemStore(),
  createSmall: async (capacityBytes) => new MemStore({ capacityBytes }),
});

const C = '1.0_head';

test('rejected transactions leave the state byte-identical (undo log is exact)', async (t) => {
  const seed = suiteSeed();
  t.log(`seed ${seed}`);
  const r = new Random(seed);
  const store = new MemStore();
  await store.queueTransaction(worldSetup());
  let rejected = 0;
  for (let round = 0; round < 120; round++) {
    const tx = randomTransaction(r, { writeBytesMax: 16384 }, 12);
    const poison = r.chance(0.3);
    if (poison) tx.createCollection('meta', 0); // fatal: EEXIST (unless meta was removed earlier)
    const before = await store.dumpState();
    try {
      await store.queueTransaction(tx);
    } catch (err) {
      if (!(err instanceof TransactionError)) throw err;
      rejected++;
      t.is(await store.dumpState(), before, `round ${round}: ${err.message}`);
    }
  }
  t.true(rejected > 15);
});

test('differential runner: MemStore against itself agrees', async (t) => {
  const seed = suiteSeed();
  await runDifferential(t, new MemStore(), new MemStore(), { seed, rounds: 100 });
});

test('ENOSPC rejects growth, never removal or truncation', async (t) => {
  const store = new MemStore({ capacityBytes: 64 * 1024 });
  const o = normalizeObjectId({ pool: 1, name: 'a' });
  await store.queueTransaction(new Transaction().createCollection(C, 0).write(C, o, 0, Buffer.alloc(60 * 1024, 1)));
  const err = await t.throwsAsync(store.queueTransaction(new Transaction().write(C, o, 60 * 1024, Buffer.alloc(8192, 1))));
  t.is((err as TransactionError).code, 'ENOSPC');
  t.is((await store.stat(C, o)).size, 60 * 1024);
  await store.queueTransaction(new Transaction().truncate(C, o, 1000));
  await store.queueTransaction(new Transaction().remove(C, o));
  t.is((await store.statfs()).allocated, 0);
});

test('dumpState is canonical: holes and explicit zeros, op order, look the same', async (t) => {
  const a = new MemStore();
  const b = new MemStore();
  const o = normalizeObjectId({ pool: 1, name: 'z' });
  await a.queueTransaction(new Transaction().createCollection(C, 0).truncate(C, o, 0).touch(C, o).truncate(C, o, 10000)
    .setattr(C, o, 'y', '2').setattr(C, o, 'x', '1'));
  await b.queueTransaction(new Transaction().createCollection(C, 0).write(C, o, 0, Buffer.alloc(10000))
    .setattrs(C, o, { x: '1', y: '2' }));
  t.is(await a.dumpState(), await b.dumpState());
  await b.queueTransaction(new Transaction().write(C, o, 9999, 'q'));
  t.not(await a.dumpState(), await b.dumpState());
});
