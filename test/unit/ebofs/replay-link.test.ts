/**
 * Goal: a journal record an earlier incarnation left exactly at the superblock's replay cursor
 * never replays (the engine-level form of `sim journal` seed 1888212855, journal 347210e).
 * Method: incarnation 1 commits setattr transactions a, b, c of equal record size, then loses
 * power with every write kept; b's record is then damaged (a torn batch). Incarnation 2 replays
 * a only, commits b' into b's slot, checkpoints (cursor = c's slot with c's seq) and loses
 * power. Incarnation 3 must not replay c: c was never acknowledged by the store that holds it.
 * The same scenario with the link erased from the superblock shows c replaying — why the link
 * is persisted.
 */
import test from 'ava';
import { FaultDevice, MemDevice } from '../../../engine/device/index.js';
import { mkfs, open } from '../../../engine/lifecycle.js';
import { Transaction } from '../../../engine/transaction.js';
import { SUPERBLOCK_OFFSETS, decodeSuperblock, encodeSuperblock, superblockOffset } from '../../../engine/superblock.js';

const C = '1.0_head';
const OID = { pool: 1, name: 'o' };
const BS = 4096;
const NO_TIMER = { checkpoint: { intervalMs: 0 } };

function setattr(name: string): Transaction {
  return new Transaction().setattr(C, OID, name, Buffer.alloc(64, name.charCodeAt(0)));
}

async function staleRecordAtCursor(): Promise<MemDevice> {
  const medium = new MemDevice(32 * 1024 * 1024);
  await mkfs(medium, { journalBytes: 1024 * 1024 });
  const base = medium.reopen();
  const device = new FaultDevice(base, { seed: 1 });
  const first = await open(device, NO_TIMER);
  await first.queueTransaction(new Transaction().createCollection(C, 0).touch(C, OID));
  await first.checkpoint();
  await first.queueTransaction(setattr('a'));
  const bAt = first.journal.tail().cursor.offset;
  await first.queueTransaction(setattr('b'));
  const cAt = first.journal.tail().cursor.offset;
  await first.queueTransaction(setattr('c'));
  device.crash('keep-all');
  const medium2 = base.reopen();
  medium2.writeSync(bAt, Buffer.alloc(BS, 0xee)); // b torn: never acknowledged after this
  const device2 = new FaultDevice(medium2, { seed: 2 });
  const second = await open(device2, NO_TIMER);
  if (await second.getattr(C, OID, 'b').then(() => true, () => false)) throw new Error('b replayed');
  await second.queueTransaction(setattr('x')); // b': same record size, b's slot and seq
  if (second.journal.tail().cursor.offset !== cAt) throw new Error("b' did not end at c's slot");
  await second.checkpoint();
  device2.crash('drop-all');
  const sb = await readSuperblock(medium2);
  if (sb.replayOffset !== cAt) throw new Error('the checkpoint cursor is not at c');
  return medium2;
}

async function readSuperblock(device: MemDevice): Promise<ReturnType<typeof decodeSuperblock>> {
  const copies = [];
  for (const offset of SUPERBLOCK_OFFSETS) {
    const bytes = Buffer.alloc(BS);
    await device.read(offset, bytes);
    copies.push(decodeSuperblock(bytes, `superblock at ${offset}`));
  }
  return copies.sort((x, y) => y.generation - x.generation)[0]!;
}

test('a stale record at the checkpointed cursor is not replayed (the superblock keeps the link)', async (t) => {
  const device = await staleRecordAtCursor();
  t.not((await readSuperblock(device)).replayLink, undefined);
  const third = await open(device.reopen(), NO_TIMER);
  t.deepEqual((await third.getattrs(C, OID)).keys().map(String).sort(), ['a', 'x']);
  t.deepEqual(await third.fsck({ deep: true }), []);
  await third.close();
});

test('without the link (a store from before it) the stale record would replay', async (t) => {
  const device = await staleRecordAtCursor();
  const sb = await readSuperblock(device);
  device.writeSync(superblockOffset(sb.generation), encodeSuperblock({ ...sb, replayLink: undefined }));
  const third = await open(device.reopen(), NO_TIMER);
  t.deepEqual((await third.getattrs(C, OID)).keys().map(String).sort(), ['a', 'c', 'x'], 'c of incarnation 1 came back');
  await third.close();
});
