/**
 * Goal: the on-disk engine behaves exactly like MemStore (the reference) under random
 * transactions with every op: same accept/reject outcome (code, transaction, op), same state
 * (canonical dump) every few rounds and across remounts.
 * Method: conformance/random-txn.ts's differential runner with seeded vectors (EBOFS_SEED).
 */
import test from 'ava';
import { MemDevice } from '../../../engine/device/index.js';
import { mkfs, open } from '../../../engine/lifecycle.js';
import { MemStore } from '../../../engine/memstore.js';
import type { EbofsStore } from '../../../engine/store.js';
import type { ObjectStore } from '../../../engine/types-store.js';
import { runDifferential } from '../../conformance/random-txn.js';
import { suiteSeed } from '../../conformance/harness.js';

async function reopen(store: ObjectStore): Promise<ObjectStore> {
  const device = (store as EbofsStore).state.device as MemDevice;
  await store.close();
  return open(device.reopen(), { checkpoint: { intervalMs: 0 } });
}

for (const [label, journalBytes, rounds] of [['roomy journal', 32 << 20, 250], ['tiny journal (constant checkpoints)', 1 << 20, 150]] as const) {
  test(`ebofs matches MemStore on random transactions (${label})`, async (t) => {
    const seed = suiteSeed();
    const device = new MemDevice(512 * 1024 * 1024);
    await mkfs(device, { journalBytes });
    const subject = await open(device.reopen(), { checkpoint: { intervalMs: 0 } });
    const final = await runDifferential(t, new MemStore(), subject, { seed, rounds, reopen, bigWriteChance: 0.02 });
    await final.close();
    t.pass();
  });
}
