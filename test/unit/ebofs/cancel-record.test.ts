/**
 * Goal: a vector the store appends before applying (no large writes) and then rejects never
 * comes back after a crash, whether or not its cancel record survived (engine/record.ts), and
 * replay still refuses to skip an acknowledged event that does not apply.
 * Method: MemDevice stores behind a FaultDevice; power cuts that keep every issued write
 * (`keep-all`) at chosen moments; records appended straight to the journal for the cases a
 * running store cannot produce on demand (a cancelled vector that would apply at replay, as one
 * rejected for ENOSPC could; an invalid event that is not the last one).
 */
import test from 'ava';
import { FaultDevice, MemDevice } from '../../../engine/device/index.js';
import { mkfs, open } from '../../../engine/lifecycle.js';
import { Transaction, TransactionError } from '../../../engine/transaction.js';
import { decodeRecord, encodeCancelRecord, encodeRecord } from '../../../engine/record.js';
import type { EbofsStore } from '../../../engine/store.js';

const C = '1.0_head';
const OID = { pool: 1, name: 'o' };
const MISSING = { pool: 1, name: 'missing' };
const NO_TIMER = { checkpoint: { intervalMs: 0 } };

async function freshStore(): Promise<{ base: MemDevice; device: FaultDevice; store: EbofsStore }> {
  const base = new MemDevice(32 * 1024 * 1024);
  await mkfs(base, { journalBytes: 1024 * 1024 });
  const medium = base.reopen();
  const device = new FaultDevice(medium, { seed: 7 });
  const store = await open(device, NO_TIMER);
  await store.queueTransaction(new Transaction().createCollection(C, 0).touch(C, OID));
  await store.checkpoint();
  await store.queueTransaction(new Transaction().setattr(C, OID, 'kept', 'yes'));
  return { base: medium, device, store };
}

/** Valid first op, then an op that fails: nothing of the vector may ever be visible. */
function invalid(): Transaction {
  return new Transaction().setattr(C, OID, 'ghost', 'boo').setattr(C, MISSING, 'x', 'y');
}

async function remountAttrs(medium: MemDevice): Promise<string[]> {
  const store = await open(medium.reopen(), NO_TIMER);
  const names = [...(await store.getattrs(C, OID)).keys()].map(String).sort();
  const findings = await store.fsck({ deep: true });
  await store.close();
  if (findings.length > 0) throw new Error(`fsck: ${JSON.stringify(findings)}`);
  return names;
}

test('a rejected vector is journaled, cancelled, and rejected once the cancel is durable', async (t) => {
  const { base, device, store } = await freshStore();
  const before = store.journal.stats().appendCount;
  const err = await t.throwsAsync(store.queueTransaction(invalid()), { instanceOf: TransactionError });
  t.is(err?.code, 'ENOENT');
  t.is((err as TransactionError).opIndex, 1);
  t.is(store.journal.stats().appendCount - before, 2, 'the record and its cancel');
  await t.throwsAsync(store.getattr(C, OID, 'ghost'), { code: 'ENODATA' });
  await store.queueTransaction(new Transaction().setattr(C, OID, 'after', '1'));
  device.crash('keep-all');
  t.deepEqual(await remountAttrs(base), ['after', 'kept']);
});

test('a rejected vector whose cancel did not survive the crash is skipped by replay', async (t) => {
  const { base, device, store } = await freshStore();
  // The power goes after the record's durable write (a write and a flush), before its cancel's.
  device.crashAfterOps(2);
  await t.throwsAsync(store.queueTransaction(invalid()), { instanceOf: TransactionError, code: 'ENOENT' });
  t.true(device.isCrashed, 'the cancel did not reach the device');
  t.deepEqual(await remountAttrs(base), ['kept']);
});

test('replay skips a cancelled event even when it would apply', async (t) => {
  const { base, device, store } = await freshStore();
  // A vector rejected for ENOSPC may fit at replay (frees were released meanwhile): the cancel decides.
  await store.journal.append(encodeRecord([new Transaction().setattr(C, OID, 'ghost', 'boo')], []));
  await store.journal.append(encodeCancelRecord());
  await store.queueTransaction(new Transaction().setattr(C, OID, 'after', '1'));
  device.crash('keep-all');
  t.deepEqual(await remountAttrs(base), ['after', 'kept']);
});

test('an event that fails to apply is fatal to the mount unless it is the last one', async (t) => {
  const { base, device, store } = await freshStore();
  await store.journal.append(encodeRecord([invalid()], []));
  await store.journal.append(encodeRecord([new Transaction().setattr(C, OID, 'after', '1')], []));
  device.crash('keep-all');
  await t.throwsAsync(open(base.reopen(), NO_TIMER), { instanceOf: TransactionError, code: 'ENOENT' });
});

test('a cancel record is version 2 (older readers refuse it); a version 1 record with its flag is corrupt', (t) => {
  const cancel = encodeCancelRecord();
  t.is(cancel.readUInt16LE(4), 2, 'a reader that knows only version 1 stops with EFORMAT instead of replaying the cancelled event');
  t.true(decodeRecord(cancel, 'cancel').cancelsPrevious);
  const forged = Buffer.from(cancel);
  forged.writeUInt16LE(1, 4);
  t.throws(() => decodeRecord(forged, 'forged'), { code: 'ECORRUPT' });
  const plain = encodeRecord([new Transaction().touch(C, OID)], []);
  t.false(decodeRecord(plain, 'plain').cancelsPrevious);
  plain.writeUInt16LE(1, 6);
  t.throws(() => decodeRecord(plain, 'flagged'), { code: 'ECORRUPT' });
});
