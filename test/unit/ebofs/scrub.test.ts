/**
 * Goal: a store made with `scrubFreed` never leaves deleted data in free space — after a remove
 * (or an overwrite) and the checkpoints that free the blocks, no byte pattern of the deleted
 * data remains anywhere outside the journal ring, also when power fails between a checkpoint
 * and its zeroing (mount zeroes again). The same workload without the option leaves the
 * pattern behind (so the scan can fail).
 */
import test from 'ava';
import { FaultDevice, MemDevice } from '../../../engine/device/index.js';
import { Random } from '../../../common/random.js';
import { mkfs, open, type EbofsOptions } from '../../../engine/lifecycle.js';
import { Transaction } from '../../../engine/transaction.js';

const C = '1.0_head';
const MiB = 1024 * 1024;
const JOURNAL = 2 * MiB;
const QUIET: EbofsOptions = { checkpoint: { intervalMs: 0 } };
const SECRET = Buffer.from('this secret must be gone 0123456789abcdef'.repeat(100)).subarray(0, 4096);

/** Blocks outside the superblocks and journal that still hold the secret. */
async function leftovers(device: MemDevice): Promise<number> {
  const snapshot = device.snapshot();
  let found = 0;
  const block = Buffer.alloc(4096);
  for (let at = 2 * 4096 + JOURNAL; at < snapshot.sizeBytes; at += 4096) {
    snapshot.readSync(at, block);
    if (block.equals(SECRET)) found++;
  }
  return found;
}

async function workload(device: MemDevice | FaultDevice): Promise<void> {
  const store = await open(device, QUIET);
  await store.queueTransaction(new Transaction().createCollection(C, 0)
    .write(C, { pool: 1, name: 'small' }, 0, SECRET)
    .write(C, { pool: 1, name: 'large' }, 0, Buffer.concat(Array.from({ length: 64 }, () => SECRET))));
  await store.checkpoint();
  await store.queueTransaction(new Transaction().remove(C, { pool: 1, name: 'small' }).write(C, { pool: 1, name: 'large' }, 0, Buffer.alloc(256 * 1024, 7)));
  await store.checkpoint();
  await store.checkpoint();
  await store.close();
}

for (const scrubFreed of [true, false]) {
  test(`scrubFreed ${scrubFreed}: deleted data ${scrubFreed ? 'is zeroed' : 'stays in free space'}`, async (t) => {
    const medium = new MemDevice(32 * MiB);
    await mkfs(medium, { journalBytes: JOURNAL, scrubFreed });
    const device = medium.reopen();
    await workload(device);
    const left = await leftovers(device);
    if (scrubFreed) t.is(left, 0);
    else t.true(left > 0, 'control: without scrubbing the secret is still on the device');
    const again = await open(device.reopen(), QUIET);
    t.is(again.state.scrubFreed, scrubFreed, 'the option is in the superblock');
    t.deepEqual(await again.fsck(), []);
    await again.close();
  });
}

test('a power cut between a checkpoint and its zeroing: mount zeroes what it freed', async (t) => {
  let zeroedAtMount = 0;
  for (let ops = 0; ops < 30; ops++) {
    const medium = new MemDevice(32 * MiB);
    await mkfs(medium, { journalBytes: JOURNAL, scrubFreed: true });
    const base = medium.reopen();
    const device = new FaultDevice(base, { seed: ops });
    const store = await open(device, QUIET);
    await store.queueTransaction(new Transaction().createCollection(C, 0).write(C, { pool: 1, name: 'x' }, 0, Buffer.concat([SECRET, SECRET])));
    await store.checkpoint();
    await store.queueTransaction(new Transaction().remove(C, { pool: 1, name: 'x' }));
    device.crashAfterOps(ops);
    await store.checkpoint().catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 5));
    device.crash('keep-all');
    const again = await open(device.restart(), QUIET);
    const exists = await again.exists(C, { pool: 1, name: 'x' });
    await again.checkpoint();
    await again.close();
    const left = await leftovers(base);
    if (!exists) t.is(left, 0, `ops ${ops}: the removed object's blocks are zeroed`);
    if (!exists && left === 0) zeroedAtMount++;
  }
  t.true(zeroedAtMount > 0);
});

test('scrubbing never touches what the durable checkpoint still references', async (t) => {
  const medium = new MemDevice(32 * MiB);
  await mkfs(medium, { journalBytes: JOURNAL, scrubFreed: true });
  const device = new FaultDevice(medium.reopen(), { seed: 7 });
  const still = { checkpoint: { intervalMs: 0, journalFillRatio: 0.99, dirtyBytesMax: 1 << 30 } };
  const store = await open(device, still);
  const fill = new Transaction().createCollection(C, 0);
  for (let i = 0; i < 150; i++) fill.write(C, { pool: 1, name: `o${i}` }, 0, Buffer.alloc(4096, i % 250));
  await store.queueTransaction(fill);
  await store.checkpoint();
  // Change every object while the next checkpoint writes: the pages and blocks this frees are
  // still referenced by that checkpoint, so they must outlive its scrubbing.
  await store.queueTransaction(new Transaction().touch(C, { pool: 1, name: 'x' })); // so it is not skipped
  const checkpoint = store.checkpoint();
  const change = new Transaction();
  for (let i = 0; i < 150; i++) change.write(C, { pool: 1, name: `o${i}` }, 0, Buffer.alloc(4096, 251));
  const changed = store.queueTransaction(change);
  await checkpoint;
  await changed;
  await store.checkpointer.idle();
  device.crash('drop-all');
  const again = await open(device.restart(), still);
  for (let i = 0; i < 150; i += 37) t.true((await again.read(C, { pool: 1, name: `o${i}` })).equals(Buffer.alloc(4096, 251)));
  t.deepEqual(await again.fsck({ deep: true }), []);
  await again.close();
});

test('mount re-zeroes what the last checkpoint freed, but never a large write that reused it since', async (t) => {
  const medium = new MemDevice(8 * MiB);
  await mkfs(medium, { journalBytes: MiB, scrubFreed: true });
  const device = new FaultDevice(medium.reopen(), { seed: 3 });
  const still = { checkpoint: { intervalMs: 0, journalFillRatio: 0.99, dirtyBytesMax: 1 << 30 } };
  const store = await open(device, still);
  await store.queueTransaction(new Transaction().createCollection(C, 0));
  let n = 0;
  while (await store.queueTransaction(new Transaction().write(C, { pool: 1, name: `f${n}` }, 0, Buffer.alloc(64 * 1024, 1))).then(() => true, () => false)) n++;
  await store.checkpoint();
  await store.queueTransaction(new Transaction().remove(C, { pool: 1, name: 'f0' }).remove(C, { pool: 1, name: 'f1' })
    .remove(C, { pool: 1, name: 'f2' }).remove(C, { pool: 1, name: 'f3' }));
  await store.checkpoint(); // its free map lists the removed blocks as freed in its generation
  await store.checkpointer.idle(); // zeroed, then allocatable
  const fresh = new Random(11).bytes(256 * 1024);
  await store.queueTransaction(new Transaction().write(C, { pool: 1, name: 'new' }, 0, fresh)); // acked: durable
  device.crash('keep-all');
  const again = await open(device.restart(), still);
  t.true((await again.read(C, { pool: 1, name: 'new' })).equals(fresh), 'the acknowledged large write survived mount');
  t.deepEqual(await again.fsck({ deep: true }), []);
  await again.close();
});
