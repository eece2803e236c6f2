/**
 * Goal: the journal's contract piece by piece — framing, wrap padding, fragments, trim,
 * backpressure, close, bad input, and replay after crashes and across incarnations.
 * Method: a MemDevice or FaultDevice, small rings so wraps happen within a few appends.
 */
import test from 'ava';
import { FaultDevice, MemDevice } from '../../../engine/device/index.js';
import { Journal, type JournalOptions, checkJournal } from '../../../journal/index.js';
import { EbofsError } from '../../../common/errors.js';
import { Random } from '../../../common/random.js';

const BS = 4096;
const RING = 64 * BS;

function options(extra: Partial<JournalOptions> = {}): JournalOptions {
  return { ringOffset: 2 * BS, ringBytes: RING, journalId: 77n, recordBytesMax: 4 * BS, nonce: 1n, ...extra };
}

function bytes(n: number, seed: number): Buffer {
  return new Random(seed).bytes(n);
}

test('append then replay returns every event in order, byte-identical', async (t) => {
  const dev = new MemDevice(128 * BS);
  const { journal, events } = await Journal.open(dev, options());
  t.is(events.length, 0);
  const payloads = [0, 1, 60, 4000, 4032, 4033, 9000].map((n, i) => bytes(n, i));
  const results = await Promise.all(payloads.map((p) => journal.append(p)));
  t.deepEqual(results.map((r) => r.seq), [1, 2, 3, 4, 5, 6, 7], 'single-record events take one seq each');
  await journal.close();
  const again = await Journal.open(dev, options({ nonce: 2n }));
  t.deepEqual(again.events.map((e) => e.payload.toString('hex')), payloads.map((p) => p.toString('hex')));
  t.deepEqual(again.events.map((e) => e.seq), [1, 2, 3, 4, 5, 6, 7]);
});

test('large events are fragmented and replay whole', async (t) => {
  const dev = new MemDevice(128 * BS);
  const { journal } = await Journal.open(dev, options());
  const big = bytes(3 * 4 * BS + 100, 9);
  const r = await journal.append(big);
  const small = await journal.append(bytes(10, 10));
  t.is(r.seq, 1);
  t.is(small.seq, 5, 'the big event used four records');
  const { events } = await Journal.open(dev, options({ nonce: 3n }));
  t.true(events[0]!.payload.equals(big));
  t.is(events.length, 2);
});

test('a torn fragment drops the whole event and the valid end is its first record', async (t) => {
  const medium = new MemDevice(128 * BS);
  const dev = new FaultDevice(medium, { seed: 1 });
  const { journal } = await Journal.open(dev, options());
  await journal.append(bytes(100, 1));
  dev.crashAfterOps(1); // the batch's write goes out, its flush never happens
  const pending = journal.append(bytes(3 * 4 * BS, 2));
  await t.throwsAsync(pending, { instanceOf: EbofsError });
  dev.crash('whole-writes');
  const dev2 = dev.restart();
  const { events, journal: j2 } = await Journal.open(dev2, options({ nonce: 5n }));
  t.true(events.length === 1 || (events.length === 2 && events[1]!.payload.byteLength === 3 * 4 * BS));
  const next = await j2.append(bytes(5, 3));
  const { events: after } = await Journal.open(dev2, options({ nonce: 6n }));
  t.deepEqual(after.map((e) => e.seq), [...events.map((e) => e.seq), next.seq]);
});

test('wraps the ring with zero padding and trims to make room', async (t) => {
  const dev = new MemDevice(128 * BS);
  const { journal } = await Journal.open(dev, options());
  const all: Buffer[] = [];
  let cursor = Journal.initialCursor(options());
  let lastSeq = 0;
  for (let i = 0; i < 200; i++) {
    const p = bytes(1 + ((i * 2711) % (3 * BS)), i);
    const r = await journal.append(p);
    all.push(p);
    if (i % 5 === 4) {
      journal.trim(r.seq);
      cursor = r.next;
      all.length = 0;
    }
    lastSeq = r.seq;
  }
  t.true(journal.stats().bytesWritten > 3 * RING, 'the ring wrapped several times');
  const { events } = await Journal.open(dev, options({ nonce: 9n }), cursor);
  t.deepEqual(events.map((e) => e.payload.toString('hex')), all.map((p) => p.toString('hex')));
  t.is(events.length === 0 ? lastSeq : events[events.length - 1]!.seq, lastSeq);
});

test('a full journal makes append wait until trim, and never overwrites live records', async (t) => {
  const dev = new MemDevice(128 * BS);
  let fullCalls = 0;
  const { journal } = await Journal.open(dev, options({ onFull: () => fullCalls++ }));
  const first = await journal.append(bytes(3 * BS, 1));
  const firsts = [first];
  for (let i = 0; i < 15; i++) firsts.push(await journal.append(bytes(3 * BS, 2 + i)));
  let settled = false;
  const blocked = journal.append(bytes(3 * BS, 99)).then((r) => { settled = true; return r; });
  await new Promise((resolve) => setTimeout(resolve, 20));
  t.false(settled, 'append waits for space');
  t.true(fullCalls > 0, 'the owner was told the journal is full');
  journal.trim(firsts[3]!.seq);
  const r = await blocked;
  t.true(settled);
  const { events } = await Journal.open(dev, options({ nonce: 4n }), firsts[3]!.next);
  t.is(events.length, 13);
  t.is(events[events.length - 1]!.seq, r.seq);
});

test('bad input and misuse fail with typed errors and write nothing', async (t) => {
  const dev = new MemDevice(128 * BS);
  await t.throwsAsync(Journal.open(dev, options({ ringBytes: 4 * BS })), { message: /EINVAL.*smaller than/ });
  await t.throwsAsync(Journal.open(dev, options({ ringOffset: 100 })), { message: /EINVAL/ });
  await t.throwsAsync(Journal.open(dev, options({ ringBytes: 200 * BS })), { message: /past the device end/ });
  await t.throwsAsync(Journal.open(dev, options({ eventBytesMax: 10 * RING })), { message: /cannot fit/ });
  const { journal } = await Journal.open(dev, options());
  const before = dev.stats().writeCount;
  await t.throwsAsync(journal.append(Buffer.alloc(journal.eventBytesMax + 1)), { message: /E2BIG/ });
  t.is(dev.stats().writeCount, before);
  const r = await journal.append(bytes(10, 1));
  t.throws(() => journal.trim(r.seq + 5), undefined, 'trimming an event that is not durable is refused');
  await journal.close();
  await t.throwsAsync(journal.append(bytes(1, 1)), { message: /ECLOSED/ });
});

test('group commit: concurrent appends share flushes', async (t) => {
  const dev = new MemDevice(1024 * BS);
  const { journal } = await Journal.open(dev, options({ ringBytes: 512 * BS }));
  await Promise.all(Array.from({ length: 64 }, (_, i) => journal.append(bytes(100, i))));
  const stats = journal.stats();
  t.is(stats.appendCount, 64);
  t.true(stats.flushCount <= 3, `64 concurrent appends took ${stats.flushCount} flushes`);
});

test('a device failure fails the journal with EIO', async (t) => {
  const dev = new FaultDevice(new MemDevice(128 * BS), { seed: 3 });
  const { journal } = await Journal.open(dev, options());
  dev.failNext('flush');
  await t.throwsAsync(journal.append(bytes(10, 1)), { message: /EIO/ });
  await t.throwsAsync(journal.append(bytes(10, 2)), { message: /EIO.*reopen/ });
});

test('records of another journal id or an earlier incarnation never replay', async (t) => {
  const dev = new MemDevice(128 * BS);
  const { journal } = await Journal.open(dev, options());
  for (let i = 0; i < 5; i++) await journal.append(bytes(100, i));
  const foreign = await Journal.open(dev, options({ journalId: 78n }));
  t.is(foreign.events.length, 0);
  // Incarnation 2 starts over at seq 3's position (as if 3..5 were never durable) and writes a
  // record of the same size; the old records 4 and 5 that follow must not replay.
  const third = Journal.initialCursor(options());
  const { events } = await Journal.open(dev, options({ nonce: 8n }), third);
  t.is(events.length, 5);
});

test('checkJournal reports a corrupt record in the middle of the log', async (t) => {
  const dev = new FaultDevice(new MemDevice(128 * BS), { seed: 1 });
  const { journal } = await Journal.open(dev, options());
  for (let i = 0; i < 6; i++) await journal.append(bytes(5000, i));
  const clean = await checkJournal(dev, options(), Journal.initialCursor(options()));
  t.deepEqual(clean.findings, []);
  t.is(clean.eventCount, 6);
  dev.flipBit(2 * BS + 2 * 2 * BS + 100, 1); // payload of the third record
  const damaged = await checkJournal(dev, options(), Journal.initialCursor(options()));
  t.is(damaged.eventCount, 2);
  t.is(damaged.findings.length, 1);
  t.is(damaged.findings[0]!.code, 'ECHECKSUM');
});

test('acceptEvent refusing an event ends the log before it, and new appends replace it', async (t) => {
  const dev = new MemDevice(128 * BS);
  const { journal } = await Journal.open(dev, options());
  for (let i = 0; i < 3; i++) await journal.append(bytes(100, i));
  const refused = await Journal.open(dev, options({ nonce: 2n, acceptEvent: async (_p, seq) => seq !== 2 }));
  t.deepEqual(refused.events.map((e) => e.seq), [1]);
  t.regex(refused.endReason, /refused/);
  const next = await refused.journal.append(bytes(7, 9));
  t.is(next.seq, 2);
  const all = await Journal.open(dev, options({ nonce: 3n }));
  t.deepEqual(all.events.map((e) => e.payload.byteLength), [100, 7], 'the refused event and its successor never come back');
});
