/**
 * Goal: space reservations on the on-disk engine — a reserved transaction cannot fail with
 * ENOSPC when unreserved ones do; statfs shows the reservation; ENOSPC rejects a whole
 * transaction and leaves the store usable; remove, truncate and zero work on a full store.
 * Method: a 24 MiB device filled with unreserved 128 KiB writes until ENOSPC.
 */
import test from 'ava';
import { MemDevice } from '../../../engine/device/index.js';
import { mkfs, open } from '../../../engine/lifecycle.js';
import { Transaction, TransactionError } from '../../../engine/transaction.js';
import { EbofsError } from '../../../common/errors.js';

const C = '1.0_head';

test('a reserved transaction succeeds where unreserved ones hit ENOSPC', async (t) => {
  const device = new MemDevice(24 * 1024 * 1024);
  await mkfs(device, { journalBytes: 4 * 1024 * 1024 });
  const store = await open(device.reopen(), { checkpoint: { intervalMs: 0 } });
  await store.queueTransaction(new Transaction().createCollection(C, 0));
  const reservation = store.reserve(2 * 1024 * 1024);
  t.true((await store.statfs()).reserved >= 2 * 1024 * 1024);
  const chunk = Buffer.alloc(128 * 1024, 7);
  let written = 0;
  let error: unknown;
  for (let i = 0; i < 1000; i++) {
    try {
      await store.queueTransaction(new Transaction().write(C, { pool: 1, name: `fill${i}` }, 0, chunk));
      written++;
    } catch (err) {
      error = err;
      break;
    }
  }
  t.true(error instanceof TransactionError && (error as EbofsError).code === 'ENOSPC', String(error));
  t.false(await store.exists(C, { pool: 1, name: `fill${written}` }), 'the refused transaction left nothing');
  t.true((await store.statfs()).available < chunk.length, 'statfs agrees the write could not fit');
  // Ops that give space back work on a full store even when they rewrite a partial block.
  await store.queueTransaction(new Transaction().truncate(C, { pool: 1, name: 'fill0' }, 1000).zero(C, { pool: 1, name: 'fill1' }, 1000, 5000));
  await store.queueTransaction(new Transaction().write(C, { pool: 1, name: 'reserved' }, 0, Buffer.alloc(1024 * 1024, 3)), { reservation });
  t.true((await store.read(C, { pool: 1, name: 'reserved' })).equals(Buffer.alloc(1024 * 1024, 3)));
  t.true(store.release(reservation) > 0, 'the unused rest comes back');
  await store.queueTransaction(new Transaction().remove(C, { pool: 1, name: 'fill0' }).remove(C, { pool: 1, name: 'fill1' }));
  await store.checkpoint();
  await store.queueTransaction(new Transaction().write(C, { pool: 1, name: 'after' }, 0, chunk));
  t.deepEqual(await store.fsck(), []);
  await store.close();
});
