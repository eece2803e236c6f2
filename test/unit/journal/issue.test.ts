/**
 * Goal: how the journal issues a batch — an idle writer whose owner has nothing to wait for
 * issues the device write within append() itself; an owner that waits (beforeBatch promise)
 * delays it; onFull never runs inside append; record buffers lent by payloadBuffer are reused
 * once written, with their tail zeroed again.
 * Method: a MemDevice subclass counting writes as they are issued; replay and checkJournal.
 */
import test from 'ava';
import { MemDevice } from '../../../engine/device/index.js';
import { Journal, type JournalOptions, checkJournal } from '../../../journal/index.js';

const BS = 4096;

class CountingDevice extends MemDevice {
  issued = 0;
  override writeDurable(offset: number, source: Uint8Array): Promise<void> {
    this.issued++;
    return super.writeDurable(offset, source);
  }
  override write(offset: number, source: Uint8Array): Promise<void> {
    this.issued++;
    return super.write(offset, source);
  }
}

function options(extra: Partial<JournalOptions> = {}): JournalOptions {
  return { ringOffset: 2 * BS, ringBytes: 16 * BS, journalId: 9n, recordBytesMax: 4 * BS, nonce: 1n, ...extra };
}

test('an idle journal issues the write within append when beforeBatch answers false at once', async (t) => {
  const dev = new CountingDevice(64 * BS);
  const { journal } = await Journal.open(dev, options({ beforeBatch: () => false }));
  const done = journal.append(Buffer.from('now'));
  t.is(dev.issued, 1, 'issued before append returned');
  await done;
  const waiting = await Journal.open(new CountingDevice(64 * BS), options({ beforeBatch: async () => false }));
  const device2 = (waiting.journal as unknown as { device: CountingDevice }).device;
  const later = waiting.journal.append(Buffer.from('later'));
  t.is(device2.issued, 0, 'a beforeBatch promise is awaited first');
  await later;
  t.is(device2.issued, 1);
});

test('onFull is never called inside append', async (t) => {
  const dev = new MemDevice(64 * BS);
  let calls = 0;
  let inAppend = false;
  let calledInside = false;
  const { journal } = await Journal.open(dev, options({
    onFull: () => {
      calls++;
      if (inAppend) calledInside = true;
    },
  }));
  const first = await journal.append(Buffer.alloc(3 * BS)); // 4 blocks each: four fill the ring
  await journal.append(Buffer.alloc(3 * BS));
  await journal.append(Buffer.alloc(3 * BS));
  const second = await journal.append(Buffer.alloc(3 * BS));
  inAppend = true;
  const third = journal.append(Buffer.alloc(3 * BS)); // needs a trim: waits
  inAppend = false;
  await new Promise((resolve) => setImmediate(resolve));
  t.true(calls >= 1, 'onFull was called once the append had returned');
  t.false(calledInside);
  journal.trim(second.seq);
  await third;
  t.true(first.seq < second.seq);
});

test('payloadBuffer reuses written record buffers and zeroes their tail again', async (t) => {
  const dev = new MemDevice(64 * BS);
  const { journal } = await Journal.open(dev, options());
  const a = journal.payloadBuffer(3000);
  a.fill(0xee);
  await journal.append(a);
  const b = journal.payloadBuffer(10);
  t.is(b.buffer, a.buffer, 'the written record buffer came back');
  t.true(Buffer.from(b.buffer, 64 + 10, BS - 64 - 10).every((x) => x === 0), 'tail zeroed');
  b.fill(0x11);
  const c = journal.payloadBuffer(20);
  t.not(c.buffer, b.buffer, 'a lent buffer is not lent twice');
  c.fill(0x22);
  await journal.append(b);
  await journal.append(c);
  await journal.close();
  const { events, journal: again } = await Journal.open(dev, options({ nonce: 2n }));
  t.deepEqual(events.map((e) => e.payload.toString('hex')), [
    Buffer.alloc(3000, 0xee).toString('hex'), Buffer.alloc(10, 0x11).toString('hex'), Buffer.alloc(20, 0x22).toString('hex'),
  ]);
  const check = await checkJournal(dev, { ringOffset: 2 * BS, ringBytes: 16 * BS, journalId: 9n }, Journal.initialCursor({ ringOffset: 2 * BS }));
  t.deepEqual(check.findings, []);
  t.is(check.eventCount, 3);
  await again.close();
});
