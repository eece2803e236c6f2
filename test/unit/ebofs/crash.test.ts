/**
 * Goal: targeted crash cases of the on-disk engine — a power cut between a large write's data
 * and its journal record, during checkpoints, and a quick slice of `npm run sim -- engine`.
 * Method: FaultDevice with `crashAfterOps` swept over the first operations of a transaction,
 * every crash mode, then recovery and a read that must return the old or the new bytes —
 * never a checksum error (which would mean the record outlived its data).
 */
import test from 'ava';
import { FaultDevice, MemDevice, type CrashMode } from '../../../engine/device/index.js';
import { mkfs, open } from '../../../engine/lifecycle.js';
import { Transaction } from '../../../engine/transaction.js';
import { Random } from '../../../common/random.js';
import { runCampaign } from '../../sim/campaign.js';
import type { EbofsStore } from '../../../engine/store.js';

const C = '1.0_head';
const OID = { pool: 1, name: 'big' };

test('a crash between large-write data and its record never replays the record without the data', async (t) => {
  const old = Buffer.alloc(256 * 1024, 1);
  const fresh = new Random(5).bytes(256 * 1024);
  const modes: CrashMode[] = ['whole-writes', 'torn', 'keep-all', 'drop-all'];
  let cases = 0;
  for (let seed = 0; seed < 12; seed++) {
    for (let ops = 0; ops < 5; ops++) {
      const medium = new MemDevice(64 * 1024 * 1024);
      await mkfs(medium, { journalBytes: 2 * 1024 * 1024 });
      const base = medium.reopen();
      const setup = await open(new FaultDevice(base, { seed }), { checkpoint: { intervalMs: 0 } });
      await setup.queueTransaction(new Transaction().createCollection(C, 0).write(C, OID, 0, old));
      await setup.close();
      const device = new FaultDevice(base, { seed: seed * 7 + ops });
      const store = await open(device, { checkpoint: { intervalMs: 0 } });
      device.crashAfterOps(ops);
      await store.queueTransaction(new Transaction().write(C, OID, 0, fresh)).catch(() => undefined);
      device.crash(modes[(seed + ops) % modes.length]);
      const again = await open(device.restart(), { checkpoint: { intervalMs: 0 } });
      const back = await again.read(C, OID);
      t.true(back.equals(old) || back.equals(fresh), `seed ${seed} ops ${ops}: neither old nor new bytes`);
      t.deepEqual(await again.fsck({ deep: true }), [], `seed ${seed} ops ${ops}: fsck`);
      await again.close();
      cases++;
    }
  }
  t.is(cases, 60);
});

test('sim engine: a quick slice of seeded crash/recovery runs has no violations', async (t) => {
  const result = await runCampaign('engine', { runs: 8, seed: 1, progress: false });
  for (const f of result.failures) t.log(`seed ${f.seed}: ${f.violations.join(' | ')} (replay: npm run sim -- engine --runs 1 --seed ${f.seed})`);
  t.is(result.violations, 0);
});

test('replaying a clone of a multi-MiB object restores the clone exactly', async (t) => {
  const medium = new MemDevice(64 * 1024 * 1024);
  await mkfs(medium, { journalBytes: 16 * 1024 * 1024 });
  const device = new FaultDevice(medium.reopen(), { seed: 3 });
  const store = await open(device, { checkpoint: { intervalMs: 0 } });
  const data = new Random(9).bytes(3 * 1024 * 1024 + 123);
  await store.queueTransaction(new Transaction().createCollection(C, 0).write(C, OID, 0, data));
  await store.checkpoint();
  const snap = { ...OID, snap: 3 };
  await store.queueTransaction(new Transaction().clone(C, OID, snap).write(C, OID, 100, Buffer.alloc(200_000, 9)));
  device.crash('drop-all'); // only the journal has the clone: replay must redo it
  const again = await open(device.restart(), { checkpoint: { intervalMs: 0 } });
  t.true((await again.read(C, snap)).equals(data));
  t.deepEqual(await again.fsck({ deep: true }), []);
  await again.close();
});

test('replay of a transaction that overwrites part of its own large write reads the right bytes', async (t) => {
  const medium = new MemDevice(64 * 1024 * 1024);
  await mkfs(medium, { journalBytes: 16 * 1024 * 1024 });
  const device = new FaultDevice(medium.reopen(), { seed: 4 });
  const store = await open(device, { checkpoint: { intervalMs: 0 } });
  const big = new Random(2).bytes(512 * 1024);
  const patch = Buffer.alloc(100, 0xee);
  await store.queueTransaction(new Transaction().createCollection(C, 0)
    .write(C, OID, 0, big).write(C, OID, 151_552 + 7, patch));
  const expected = Buffer.from(big);
  patch.copy(expected, 151_552 + 7);
  t.true((await store.read(C, OID)).equals(expected));
  device.crash('drop-all'); // only the journal holds it: replay redoes both writes
  const again = await open(device.restart(), { checkpoint: { intervalMs: 0 } });
  t.true((await again.read(C, OID)).equals(expected));
  t.deepEqual(await again.fsck({ deep: true }), []);
  await again.close();
});

test('space freed while a checkpoint writes waits for the next checkpoint; a full, fragmented store still checkpoints and recovers', async (t) => {
  const still = { checkpoint: { intervalMs: 0, journalFillRatio: 0.99, dirtyBytesMax: 1 << 30 } };
  const obj = (i: number) => ({ pool: 1, name: `o${i}` });
  const fillUp = async (store: EbofsStore, from: number, byte: number): Promise<number> => {
    let i = from;
    for (; i < from + 2000; i++) {
      const ok = await store.queueTransaction(new Transaction().write(C, obj(i), 0, Buffer.alloc(8192, byte))).then(() => true, () => false);
      if (!ok) break;
    }
    return i;
  };
  let reused = 0;
  for (let ops = 1; ops < 30; ops += 2) {
    const medium = new MemDevice(8 * 1024 * 1024);
    await mkfs(medium, { journalBytes: 1024 * 1024 });
    const device = new FaultDevice(medium.reopen(), { seed: ops });
    const store = await open(device, still);
    await store.queueTransaction(new Transaction().createCollection(C, 0));
    const filled = await fillUp(store, 0, 1); // the store is full now
    await store.checkpoint();
    await store.queueTransaction(new Transaction().touch(C, { pool: 1, name: 'x' }));
    // Remove objects while the next checkpoint writes: their blocks and pages are referenced
    // by that checkpoint and by nothing after it.
    const writing = store.checkpoint();
    const remove = new Transaction();
    for (let i = 0; i < 100; i++) remove.remove(C, obj(i));
    await store.queueTransaction(remove);
    await writing;
    // Whatever space is allocatable now gets new data; a power cut lands in the checkpoint
    // that writes it.
    const refilled = await fillUp(store, 10_000, 200) - 10_000;
    t.is(refilled, 0, `ops ${ops}: space freed after the snapshot was reused before the next checkpoint`);
    await store.checkpoint();
    reused += await fillUp(store, 20_000, 201) - 20_000;
    device.crashAfterOps(ops);
    await store.checkpoint().catch(() => undefined);
    device.crash('keep-all');
    const again = await open(device.restart(), still);
    t.false(await again.exists(C, obj(0)), `ops ${ops}`);
    t.true((await again.read(C, obj(filled - 1))).equals(Buffer.alloc(8192, 1)), `ops ${ops}`);
    t.true((await again.read(C, obj(20_000))).equals(Buffer.alloc(8192, 201)), `ops ${ops}`);
    t.deepEqual(await again.fsck({ deep: true }), [], `ops ${ops}`);
    await again.close();
  }
  t.true(reused > 0, 'the freed space is used after the next checkpoint');
});
