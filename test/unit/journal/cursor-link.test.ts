/**
 * Goal: a record an earlier incarnation left exactly at a persisted cursor never replays.
 * Method: three incarnations on a MemDevice. The first writes a, b, c (one block each); b is
 * then damaged (a torn batch). The second replays a, writes b' in b's slot, trims through it
 * (the owner persists b'.next) and stops before writing anything else. The third opens at that
 * cursor: c, of the first incarnation, sits in the slot with the expected seq. (Found by
 * `sim journal` seed 1888212855.)
 */
import test from 'ava';
import { MemDevice } from '../../../engine/device/index.js';
import { Journal, type JournalCursor, type JournalOptions } from '../../../journal/index.js';

const BS = 4096;

function options(nonce: bigint): JournalOptions {
  return { ringOffset: 2 * BS, ringBytes: 32 * BS, journalId: 5n, nonce };
}

async function staleAtCursor(): Promise<{ dev: MemDevice; cursor: JournalCursor }> {
  const dev = new MemDevice(40 * BS);
  const first = await Journal.open(dev, options(1n));
  const a = await first.journal.append(Buffer.from('a'));
  const b = await first.journal.append(Buffer.from('b'));
  await first.journal.append(Buffer.from('c'));
  await first.journal.close();
  dev.writeSync(a.next.offset, Buffer.alloc(BS, 0xee)); // b torn
  const second = await Journal.open(dev, options(2n));
  t0(second.events.length === 1, 'the second incarnation replays a only');
  const b2 = await second.journal.append(Buffer.from('B'));
  t0(b2.next.offset === b.next.offset && b2.next.seq === b.next.seq, "b' takes b's slot");
  second.journal.trim(b2.seq);
  return { dev, cursor: b2.next };
}

function t0(ok: boolean, what: string): void {
  if (!ok) throw new Error(what);
}

test('the cursor link keeps a stale record at the cursor slot out of replay', async (t) => {
  const { dev, cursor } = await staleAtCursor();
  t.not(cursor.link, undefined, 'cursors the journal hands out carry the link');
  const third = await Journal.open(dev, options(3n), cursor);
  t.deepEqual(third.events.map((e) => e.payload.toString()), [], 'c of the first incarnation is not replayed');
  t.regex(third.endReason, /broken link/);
  // The third incarnation continues the chain from the cursor: its records replay.
  const d = await third.journal.append(Buffer.from('d'));
  await third.journal.close();
  const fourth = await Journal.open(dev, options(4n), cursor);
  t.deepEqual(fourth.events.map((e) => e.payload.toString()), ['d']);
  t.is(fourth.events[0]!.seq, d.seq);
});

test('a cursor without its link (an owner that persists offset and seq only) still replays the stale record', async (t) => {
  const { dev, cursor } = await staleAtCursor();
  const third = await Journal.open(dev, options(3n), { offset: cursor.offset, seq: cursor.seq });
  t.deepEqual(third.events.map((e) => e.payload.toString()), ['c'], 'why owners must persist the link');
});

test('an open that replays nothing keeps the cursor link for its first record', async (t) => {
  const { dev, cursor } = await staleAtCursor();
  const third = await Journal.open(dev, options(3n), cursor);
  t.is(third.journal.tail().cursor.link, cursor.link);
  await third.journal.append(Buffer.from('e'));
  await third.journal.close();
  const fourth = await Journal.open(dev, options(4n), cursor);
  t.deepEqual(fourth.events.map((e) => e.payload.toString()), ['e']);
});
