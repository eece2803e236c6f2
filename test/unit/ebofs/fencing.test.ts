/**
 * Goal: fencing (Ceph's set_floor_and_read) — `store.setFloor(epoch)` raises the floor to
 * max(floor, epoch), is ordered with the transaction queue (a vector queued before it applies
 * first, one queued after it is checked against the new floor), is durable when it resolves,
 * never lowers the floor, and survives remount and crash; `getFloor` answers in queue order.
 * Method: the shared cases run against MemStore and EbofsStore (on a MemDevice); the engine
 * cases fill a small journal so vectors wait in admission, remount, and cut power with a
 * FaultDevice (after a setFloor, and swept over the operations of one).
 */
import test, { type ExecutionContext } from 'ava';
import { EbofsError, type ErrorCode } from '../../../common/errors.js';
import { FaultDevice, MemDevice, type CrashMode } from '../../../engine/device/index.js';
import { mkfs, open } from '../../../engine/lifecycle.js';
import { MemStore } from '../../../engine/memstore.js';
import type { EbofsStore } from '../../../engine/store.js';
import { Transaction, TransactionError } from '../../../engine/transaction.js';
import { dumpStoreState, type ObjectStore } from '../../../engine/types-store.js';

const C = '1.0_head';
const obj = (name: string): { pool: number; name: string } => ({ pool: 1, name });
const NO_CHECKPOINT_TIMER = { checkpoint: { intervalMs: 0 } };

async function freshEbofs(journalBytes = 4 * 1024 * 1024): Promise<EbofsStore> {
  const device = new MemDevice(64 * 1024 * 1024);
  await mkfs(device, { journalBytes });
  return open(device.reopen(), NO_CHECKPOINT_TIMER);
}

async function reopenEbofs(store: EbofsStore): Promise<EbofsStore> {
  const device = store.state.device as MemDevice;
  await store.close();
  return open(device.reopen(), NO_CHECKPOINT_TIMER);
}

/** Vectors waiting for journal space (white-box: proves a case really exercised admission). */
function waitingCount(store: EbofsStore): number {
  return (store as unknown as { waiting: unknown[] }).waiting.length;
}

async function rejectsWith(t: ExecutionContext, promise: Promise<unknown>, code: ErrorCode): Promise<void> {
  const err = await t.throwsAsync(promise);
  t.true(err instanceof EbofsError, `expected an EbofsError, got ${String(err)}`);
  t.is((err as EbofsError).code, code);
}

/** A stamped transaction that creates an object with data, an xattr and an omap key. */
function stamped(epoch: number, name: string): Transaction {
  return new Transaction().setEpoch(epoch).write(C, obj(name), 0, Buffer.from(name))
    .setattr(C, obj(name), '_', Buffer.from('oi')).omapSetKeys(C, obj(name), [['k', Buffer.from('v')]]);
}

const backends: Array<[string, () => Promise<ObjectStore>]> = [
  ['memstore', async () => new MemStore()],
  ['ebofs', () => freshEbofs()],
];

for (const [name, create] of backends) {
  test(`${name}: setFloor returns max(floor, epoch) and the floor never goes down`, async (t) => {
    const store = await create();
    t.is(await store.getFloor(), 0);
    t.is(await store.setFloor(0), 0);
    t.is(await store.setFloor(5), 5);
    t.is(await store.getFloor(), 5);
    t.is(await store.setFloor(3), 5, 'a lower epoch leaves the floor');
    t.is(await store.getFloor(), 5);
    await store.queueTransaction(new Transaction().setFloor(2));
    t.is(await store.getFloor(), 5, 'nor does a setFloor op');
    t.is(await store.setFloor(Number.MAX_SAFE_INTEGER), Number.MAX_SAFE_INTEGER);
    t.is(await store.setFloor(7), Number.MAX_SAFE_INTEGER);
    await store.close();
  });

  test(`${name}: an invalid epoch is EINVAL and changes nothing`, async (t) => {
    const store = await create();
    await store.setFloor(4);
    const before = await dumpStoreState(store);
    for (const bad of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53, '9' as unknown as number]) {
      await rejectsWith(t, store.setFloor(bad), 'EINVAL');
    }
    t.is(await store.getFloor(), 4);
    t.is(await dumpStoreState(store), before);
    await store.close();
  });

  test(`${name}: a stale transaction queued after setFloor is refused whole; earlier ones commit`, async (t) => {
    const store = await create();
    await store.queueTransaction(new Transaction().createCollection(C, 0));
    // All queued without awaiting: the order of the calls is the order that counts.
    const before = store.queueTransaction(stamped(3, 'before'));
    const floor = store.setFloor(5);
    const stale = store.queueTransaction(stamped(4, 'stale'));
    const current = store.queueTransaction(stamped(5, 'current'));
    const unstamped = store.queueTransaction(new Transaction().touch(C, obj('unstamped')));
    await rejectsWith(t, stale, 'ESTALE_EPOCH');
    const err = await stale.catch((e: unknown) => e);
    t.true(err instanceof TransactionError);
    t.is((err as TransactionError).opIndex, -1);
    await before;
    t.is(await floor, 5);
    await current;
    await unstamped;
    t.true((await store.read(C, obj('before'))).equals(Buffer.from('before')));
    t.true((await store.read(C, obj('current'))).equals(Buffer.from('current')));
    t.true(await store.exists(C, obj('unstamped')), 'unstamped transactions are not fenced');
    t.false(await store.exists(C, obj('stale')), 'nothing of the stale transaction is visible');
    t.deepEqual((await store.listObjects(C)).objects.map((o) => Buffer.from(o.name).toString()).sort(),
      ['before', 'current', 'unstamped']);
    await store.close();
  });

  test(`${name}: a refused vector that raises the floor leaves it; a later setFloor still works`, async (t) => {
    const store = await create();
    await store.queueTransaction(new Transaction().createCollection(C, 0));
    await store.setFloor(2);
    await rejectsWith(t, store.queueTransactions([new Transaction().setFloor(9), stamped(1, 'x')]), 'ESTALE_EPOCH');
    t.is(await store.getFloor(), 2);
    t.false(await store.exists(C, obj('x')));
    t.is(await store.setFloor(3), 3);
    await store.close();
  });

  test(`${name}: getFloor answers in queue order`, async (t) => {
    const store = await create();
    const first = store.getFloor();
    const raise = store.queueTransaction(new Transaction().setFloor(7));
    const second = store.getFloor();
    const raiseMore = store.setFloor(9);
    t.is(await first, 0);
    t.is(await second, 7);
    await raise;
    t.is(await raiseMore, 9);
    t.is(await store.getFloor(), 9);
    await store.close();
  });
}

test('ebofs: setFloor waits its turn in the admission queue (journal full)', async (t) => {
  const store = await freshEbofs(256 * 1024); // a small ring: a few dozen events fill it
  await store.queueTransaction(new Transaction().createCollection(C, 0));
  const fill: Promise<void>[] = [];
  for (let i = 0; i < 2000 && waitingCount(store) === 0; i++) {
    fill.push(store.queueTransaction(new Transaction().write(C, obj(`fill${i}`), 0, Buffer.alloc(1024, i & 0xff))));
  }
  t.true(waitingCount(store) > 0, 'the journal filled and vectors wait in admission');
  const before = store.queueTransaction(stamped(3, 'before'));
  const floorBefore = store.getFloor();
  const waitingAtSetFloor = waitingCount(store);
  const floor = store.setFloor(5);
  t.is(waitingCount(store), waitingAtSetFloor + 1, 'setFloor queued behind the waiting vectors');
  t.is(store.state.floor, 0, 'not applied yet');
  const floorAfter = store.getFloor();
  const stale = store.queueTransaction(stamped(4, 'stale'));
  const floorAfterRefused = store.getFloor(); // its turn comes after a refused vector
  const current = store.queueTransaction(stamped(5, 'current'));
  t.true(waitingCount(store) > 3, 'all of these waited');
  await rejectsWith(t, stale, 'ESTALE_EPOCH');
  t.is(await floorAfterRefused, 5);
  await Promise.all(fill);
  await before;
  t.is(await floorBefore, 0, 'getFloor before setFloor sees the floor of its turn');
  t.is(await floor, 5);
  t.is(await floorAfter, 5, 'getFloor after setFloor waits for it');
  await current;
  t.true((await store.read(C, obj('before'))).equals(Buffer.from('before')), 'queued before setFloor, so it commits');
  t.false(await store.exists(C, obj('stale')));
  t.true(await store.exists(C, obj('current')));
  t.true(store.checkpointer.count > 0, 'checkpoints freed the journal');
  t.deepEqual(await store.fsck(), []);
  await store.close();
});

test('ebofs: the floor survives remount (from the journal and from the superblock)', async (t) => {
  let store = await freshEbofs();
  await store.queueTransaction(new Transaction().createCollection(C, 0));
  t.is(await store.setFloor(8), 8);
  store = await reopenEbofs(store);
  t.is(await store.getFloor(), 8);
  await rejectsWith(t, store.queueTransaction(stamped(7, 'stale')), 'ESTALE_EPOCH');
  await store.queueTransaction(stamped(8, 'ok'));
  t.is(await store.setFloor(6), 8, 'lower after remount: unchanged');
  await store.checkpoint();
  t.is(store.checkpointer.durableSuperblock.floor, 8, 'the checkpoint wrote the floor to the superblock');
  t.is(await store.setFloor(12), 12);
  store = await reopenEbofs(store);
  t.is(await store.getFloor(), 12);
  t.false(await store.exists(C, obj('stale')));
  t.true(await store.exists(C, obj('ok')));
  t.deepEqual(await store.fsck(), []);
  await store.close();
});

test('ebofs: a floor that setFloor reported survives a power cut in every crash mode', async (t) => {
  const modes: CrashMode[] = ['whole-writes', 'torn', 'keep-all', 'drop-all'];
  for (const [i, mode] of modes.entries()) {
    for (const checkpointFirst of [false, true]) {
      const medium = new MemDevice(64 * 1024 * 1024);
      await mkfs(medium, { journalBytes: 2 * 1024 * 1024 });
      const device = new FaultDevice(medium.reopen(), { seed: 11 + i });
      const store = await open(device, NO_CHECKPOINT_TIMER);
      await store.queueTransaction(new Transaction().createCollection(C, 0));
      t.is(await store.setFloor(4), 4);
      if (checkpointFirst) await store.checkpoint(); // floor 4 in the superblock, 6 only in the journal
      t.is(await store.setFloor(6), 6);
      device.crash(mode);
      const again = await open(device.restart(), NO_CHECKPOINT_TIMER);
      const label = `${mode}${checkpointFirst ? ' after a checkpoint' : ''}`;
      t.is(await again.getFloor(), 6, label);
      await rejectsWith(t, again.queueTransaction(stamped(5, 'stale')), 'ESTALE_EPOCH');
      t.false(await again.exists(C, obj('stale')), label);
      t.deepEqual(await again.fsck(), [], label);
      await again.close();
    }
  }
});

test('ebofs: a power cut during setFloor leaves the old or the new floor, the new one if it resolved', async (t) => {
  const modes: CrashMode[] = ['whole-writes', 'torn', 'keep-all', 'drop-all'];
  let resolvedCount = 0;
  let cases = 0;
  for (let ops = 0; ops < 6; ops++) {
    for (const [i, mode] of modes.entries()) {
      const medium = new MemDevice(64 * 1024 * 1024);
      await mkfs(medium, { journalBytes: 2 * 1024 * 1024 });
      const device = new FaultDevice(medium.reopen(), { seed: ops * 4 + i });
      const store = await open(device, NO_CHECKPOINT_TIMER);
      await store.queueTransaction(new Transaction().createCollection(C, 0));
      await store.setFloor(3);
      device.crashAfterOps(ops);
      const resolved = await store.setFloor(9).then((f) => f === 9, () => false);
      if (resolved) resolvedCount++;
      device.crash(mode);
      const again = await open(device.restart(), NO_CHECKPOINT_TIMER);
      const floor = await again.getFloor();
      const label = `ops ${ops} ${mode}: floor ${floor}`;
      t.true(floor === 3 || floor === 9, label);
      if (resolved) t.is(floor, 9, `${label}: setFloor resolved, so the floor must hold`);
      t.deepEqual(await again.fsck(), [], label);
      await again.close();
      cases++;
    }
  }
  t.is(cases, 24);
  t.true(resolvedCount > 0 && resolvedCount < cases, `both outcomes occur (${resolvedCount} resolved)`);
});
