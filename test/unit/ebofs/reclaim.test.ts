/**
 * Goal: lazy reclamation (engine/reclaim.ts) — removing or truncating an object with many
 * extent records or omap keys commits without touching them; checkpoints free them in bounded
 * steps; a grown object never shows its old garbage; a power cut anywhere during reclamation
 * leaves no leak and no double free (fsck exact space accounting) and the work resumes.
 */
import test from 'ava';
import { FaultDevice, MemDevice, type CrashMode } from '../../../engine/device/index.js';
import { mkfs, open, type EbofsOptions } from '../../../engine/lifecycle.js';
import { Transaction } from '../../../engine/transaction.js';
import type { EbofsStore } from '../../../engine/store.js';
import { Random } from '../../../common/random.js';

const C = '1.0_head';
const MiB = 1024 * 1024;
const BIG = { pool: 1, name: 'big' };
const STEP = 40;
const OPTIONS: EbofsOptions = { checkpoint: { intervalMs: 0, reclaimStepRecords: STEP } };

/** An object of `records` extent records: every other 4 KiB block written (no merging). */
async function fragmented(store: EbofsStore, records: number): Promise<void> {
  const t = new Transaction();
  for (let i = 0; i < records; i++) t.write(C, BIG, i * 8192, Buffer.alloc(4096, (i % 250) + 1));
  await store.queueTransaction(t);
}

const counts = (s: EbofsStore) => ({ extents: s.state.trees.extents.current.count, dead: s.state.trees.dead.current.count });

test('remove of an object with many records commits in O(1) and checkpoints reclaim it in bounded steps', async (t) => {
  const device = new MemDevice(128 * MiB);
  await mkfs(device, { journalBytes: 8 * MiB });
  const store = await open(device.reopen(), OPTIONS);
  await store.queueTransaction(new Transaction().createCollection(C, 0));
  await store.checkpoint();
  const base = (await store.statfs()).allocated;
  await fragmented(store, 300);
  const omap = new Transaction();
  for (let i = 0; i < 500; i++) omap.omapSetKeys(C, BIG, [[`key${i}`, Buffer.alloc(50, 1)]]);
  await store.queueTransaction(omap);
  await store.checkpoint();
  t.is(counts(store).extents, 300);
  await store.queueTransaction(new Transaction().remove(C, BIG));
  t.deepEqual(counts(store), { extents: 300, dead: 1 }, 'the remove left its records to the reclaimer');
  t.false(await store.exists(C, BIG));
  let steps = 0;
  for (let last = 300; counts(store).dead > 0; steps++) {
    await store.checkpoint();
    const now = counts(store).extents;
    t.true(last - now <= STEP, `a step removed ${last - now} records`);
    t.deepEqual(await store.fsck(), [], `fsck after step ${steps}`); // (its checkpoint is a step too)
    last = counts(store).extents;
  }
  t.true(steps >= Math.ceil(300 / STEP / 2), `${steps} steps`);
  t.is(store.state.trees.omap.current.count, 0, 'omap keys reclaimed too');
  await store.checkpoint();
  t.true((await store.statfs()).allocated - base < 256 * 1024, 'space is back');
  await store.close();
});

test('a lazily truncated object grows back with holes, never its old bytes', async (t) => {
  const device = new MemDevice(128 * MiB);
  await mkfs(device, { journalBytes: 8 * MiB });
  const store = await open(device.reopen(), { checkpoint: { intervalMs: 0, reclaimStepRecords: 1, lazyRecordsMin: 2 } });
  await store.queueTransaction(new Transaction().createCollection(C, 0));
  await fragmented(store, 64);
  await store.queueTransaction(new Transaction().truncate(C, BIG, 5000));
  t.is(counts(store).dead, 1);
  await store.queueTransaction(new Transaction().write(C, BIG, 100_000, Buffer.from('tail')).clone(C, BIG, { ...BIG, snap: 1 }));
  await store.queueTransaction(new Transaction().truncate(C, BIG, 400_000));
  const expected = Buffer.alloc(400_000);
  expected.fill(1, 0, 4096);
  Buffer.from('tail').copy(expected, 100_000);
  t.true((await store.read(C, BIG)).equals(expected));
  t.true((await store.read(C, { ...BIG, snap: 1 })).equals(expected.subarray(0, 100_004)));
  t.deepEqual(await store.fsck(), []);
  await store.close();
  const again = await open(device.reopen(), OPTIONS);
  t.true((await again.read(C, BIG)).equals(expected));
  for (let i = 0; i < 5; i++) await again.checkpoint();
  t.is(counts(again).dead, 0);
  t.true((await again.read(C, BIG)).equals(expected));
  t.deepEqual(await again.fsck({ deep: true }), []);
  await again.close();
});

test('a power cut during reclamation leaks nothing and frees nothing twice', async (t) => {
  const modes: CrashMode[] = ['whole-writes', 'torn', 'keep-all', 'drop-all'];
  let cases = 0;
  for (let ops = 0; ops < 24; ops += 1) {
    const medium = new MemDevice(64 * MiB);
    await mkfs(medium, { journalBytes: 4 * MiB });
    const base = medium.reopen();
    const setup = await open(new FaultDevice(base, { seed: 99 }), OPTIONS);
    await setup.queueTransaction(new Transaction().createCollection(C, 0));
    await fragmented(setup, 200);
    await setup.queueTransaction(new Transaction().clone(C, BIG, { ...BIG, snap: 1 }).remove(C, BIG));
    await setup.close(); // one reclaim step already ran
    const device = new FaultDevice(base, { seed: ops });
    const store = await open(device, OPTIONS);
    device.crashAfterOps(ops);
    const write = new Random(ops).bytes(10_000);
    await store.queueTransaction(new Transaction().write(C, { pool: 1, name: 'other' }, 0, write)).catch(() => undefined);
    for (let i = 0; i < 4 && !device.isCrashed; i++) await store.checkpoint().catch(() => undefined);
    device.crash(modes[ops % modes.length]);
    const again = await open(device.restart(), OPTIONS);
    t.deepEqual(await again.fsck(), [], `ops ${ops}: fsck after the crash`);
    t.false(await again.exists(C, BIG));
    t.is((await again.read(C, { ...BIG, snap: 1 })).length, 199 * 8192 + 4096, `ops ${ops}: the clone survives`);
    while (counts(again).dead > 0) await again.checkpoint();
    t.deepEqual(await again.fsck({ deep: true }), [], `ops ${ops}: fsck after reclaiming`);
    await again.close();
    cases++;
  }
  t.is(cases, 24);
});
