/**
 * Goal: a transaction queued for journal space (the journal was full when it came) settles
 * even when the checkpoint that was to make room fails: it is rejected with EIO, nothing of it
 * applied — before, it waited forever (found by `sim engine` seed 140016).
 * Method: a 1 MiB journal, vectors of 60 KiB small writes queued without waiting until some
 * must queue, then a power cut; every promise must settle within a few seconds.
 */
import test from 'ava';
import { FaultDevice, MemDevice } from '../../../engine/device/index.js';
import { mkfs, open } from '../../../engine/lifecycle.js';
import { Transaction } from '../../../engine/transaction.js';
import { EbofsError } from '../../../common/errors.js';

const C = '1.0_head';

test('vectors waiting for journal space are rejected when the checkpoint fails', async (t) => {
  const medium = new MemDevice(64 * 1024 * 1024);
  await mkfs(medium, { journalBytes: 1024 * 1024 });
  const device = new FaultDevice(medium.reopen(), { seed: 3 });
  const store = await open(device, { checkpoint: { intervalMs: 0 } });
  await store.queueTransaction(new Transaction().createCollection(C, 0));
  const data = Buffer.alloc(60 * 1024, 0x5a);
  const queued = Array.from({ length: 40 }, (_, i) =>
    store.queueTransaction(new Transaction().write(C, { pool: 1, name: `o${i}` }, 0, data)));
  device.crash('drop-all');
  const outcome = await Promise.race([
    Promise.allSettled(queued),
    new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 5000).unref()),
  ]);
  if (outcome === 'hung') return t.fail('a queued transaction never settled');
  const rejected = outcome.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
  t.true(rejected.length > 0);
  for (const r of rejected) {
    t.true(r.reason instanceof EbofsError);
    t.is((r.reason as EbofsError).code, 'EIO');
  }
});
