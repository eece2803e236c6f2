/**
 * Goal: `writeDurable` (a write plus a flush of its own range: O_DSYNC) keeps one contract on
 * every device, and the journal and the engine use it only where it is enough.
 * - FaultDevice: once it resolves, its range survives every crash mode; other pending writes
 *   stay volatile; an older pending write to the same sectors never resurfaces; a crash while
 *   it is in flight may keep or lose it; a later flush still covers what it split.
 * - MemDevice and FileDevice (O_DSYNC descriptor, and `dsync: false`): bytes read back, stats.
 * - Journal: a batch with nothing else to flush is written durably and leaves the owner's other
 *   writes volatile; when beforeBatch says it wrote data, the batch flushes everything.
 * - Engine: a committed large write and a committed small write survive a drop-all power cut;
 *   large-write data is durable (writeDurable) before the journal record that maps it is
 *   written, and nothing is left pending once the write is acknowledged; large write data is
 *   borrowed from the caller until the promise settles, small data is copied.
 * Method: direct checks on MemDevice/FaultDevice/FileDevice; crash trials over seeds and modes.
 */
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CrashMode, FaultDevice, FileDevice, MemDevice } from '../../../engine/device/index.js';
import { Journal } from '../../../journal/index.js';
import { mkfs, open } from '../../../engine/lifecycle.js';
import { Transaction } from '../../../engine/transaction.js';
import { LARGE_WRITE_BYTES } from '../../../engine/data.js';
import { Random } from '../../../common/random.js';
import { EbofsError } from '../../../common/errors.js';

const BS = 4096;
const MODES: CrashMode[] = ['drop-all', 'keep-all', 'whole-writes', 'torn'];

function filled(byte: number, length = BS): Buffer {
  return Buffer.alloc(length, byte);
}

function readMedium(medium: MemDevice, offset: number, length: number): Buffer {
  const out = Buffer.alloc(length);
  medium.readSync(offset, out);
  return out;
}

test('FaultDevice: a resolved writeDurable survives every crash mode; other pending writes stay volatile', async (t) => {
  for (const mode of MODES) {
    for (let seed = 1; seed <= 20; seed++) {
      const medium = new MemDevice(64 * BS);
      const dev = new FaultDevice(medium, { seed });
      await dev.write(10 * BS, filled(0xaa));
      await dev.writeDurable(2 * BS, filled(0x11, 2 * BS));
      t.is(dev.pendingWriteCount, 1, 'the other write is still pending');
      dev.crash(mode);
      t.true(readMedium(medium, 2 * BS, 2 * BS).equals(filled(0x11, 2 * BS)), `${mode} seed ${seed}: durable range lost`);
      if (mode === 'drop-all') t.true(readMedium(medium, 10 * BS, BS).equals(filled(0)), 'drop-all loses the plain write');
    }
  }
});

test('FaultDevice: an older pending write to the same sectors never resurfaces after writeDurable', async (t) => {
  for (const mode of MODES) {
    for (let seed = 1; seed <= 30; seed++) {
      const medium = new MemDevice(64 * BS);
      const dev = new FaultDevice(medium, { seed });
      await dev.write(0, filled(0x22, 4 * BS)); // blocks 0..3, older
      await dev.writeDurable(BS, filled(0x33, 2 * BS)); // blocks 1..2, newer and durable
      t.is(dev.pendingWriteCount, 2, 'the older write keeps its parts outside the range');
      dev.crash(mode);
      t.true(readMedium(medium, BS, 2 * BS).equals(filled(0x33, 2 * BS)), `${mode} seed ${seed}`);
      const edges = [readMedium(medium, 0, BS), readMedium(medium, 3 * BS, BS)];
      for (const edge of edges) {
        for (let s = 0; s < BS; s += 512) t.true(edge[s] === 0 || edge[s] === 0x22, 'edge sectors hold old or written bytes');
      }
    }
  }
});

test('FaultDevice: a flush after writeDurable still covers every part of a write it split', async (t) => {
  const medium = new MemDevice(64 * BS);
  const dev = new FaultDevice(medium, { seed: 3 });
  await dev.write(0, filled(0x44, 4 * BS));
  await dev.write(20 * BS, filled(0x55));
  const flushing = dev.flush(); // issued before the durable write below splits the first write
  await dev.writeDurable(BS, filled(0x66));
  await flushing;
  t.is(dev.pendingWriteCount, 0);
  dev.crash('drop-all');
  t.true(readMedium(medium, 0, BS).equals(filled(0x44)));
  t.true(readMedium(medium, BS, BS).equals(filled(0x66)));
  t.true(readMedium(medium, 2 * BS, 2 * BS).equals(filled(0x44, 2 * BS)));
  t.true(readMedium(medium, 20 * BS, BS).equals(filled(0x55)));
});

test('FaultDevice: a crash during writeDurable may keep or lose it; a failed flush step leaves it volatile', async (t) => {
  const outcomes = new Set<string>();
  for (let seed = 1; seed <= 40; seed++) {
    const medium = new MemDevice(64 * BS);
    const dev = new FaultDevice(medium, { seed });
    dev.crashAfterOps(1); // the write step goes through, the flush step loses power
    await t.throwsAsync(dev.writeDurable(4 * BS, filled(0x77)), { instanceOf: EbofsError, message: /EIO/ });
    const block = readMedium(medium, 4 * BS, BS);
    for (let s = 0; s < BS; s += 512) t.true(block[s] === 0 || block[s] === 0x77);
    outcomes.add(block.equals(filled(0x77)) ? 'kept' : block.equals(filled(0)) ? 'lost' : 'torn');
  }
  t.true(outcomes.has('kept') && outcomes.has('lost'), `outcomes ${[...outcomes].join(',')}`);
  const medium = new MemDevice(64 * BS);
  const dev = new FaultDevice(medium, { seed: 9 });
  dev.failNext('flush');
  await t.throwsAsync(dev.writeDurable(0, filled(0x78)), { message: /EIO/ });
  t.is(dev.pendingWriteCount, 1, 'the write stays pending after its flush failed');
  dev.crash('drop-all');
  t.true(readMedium(medium, 0, BS).equals(filled(0)));
});

test('MemDevice and FileDevice: writeDurable reads back, persists, and counts a write and a flush', async (t) => {
  const mem = new MemDevice(16 * BS);
  await mem.writeDurable(BS, filled(0x12));
  const back = Buffer.alloc(BS);
  await mem.read(BS, back);
  t.true(back.equals(filled(0x12)));
  t.like(mem.stats(), { writeCount: 1, flushCount: 1 });
  const dir = mkdtempSync(join(tmpdir(), 'ebofs-dsync-'));
  try {
    for (const dsync of [true, false]) {
      const path = join(dir, `d-${dsync}.img`);
      const dev = await FileDevice.open(path, { create: true, sizeBytes: 64 * BS, dsync });
      const data = new Random(dsync ? 1 : 2).bytes(3 * BS);
      await dev.writeDurable(5 * BS, data);
      const read = Buffer.alloc(3 * BS);
      await dev.read(5 * BS, read);
      t.true(read.equals(data), `dsync ${dsync}: read through the main descriptor`);
      t.like(dev.stats(), { writeCount: 1, writeBytes: 3 * BS, flushCount: 1 });
      await dev.close();
      await t.throwsAsync(dev.writeDurable(0, filled(1)), { message: /ECLOSED/ });
      const again = await FileDevice.open(path);
      const reread = Buffer.alloc(3 * BS);
      await again.read(5 * BS, reread);
      t.true(reread.equals(data), `dsync ${dsync}: persisted`);
      await again.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const journalOptions = { ringOffset: 2 * BS, ringBytes: 64 * BS, journalId: 5n, recordBytesMax: 4 * BS, nonce: 1n };

test('journal: a batch with nothing else to flush is durable on its own and leaves other writes volatile', async (t) => {
  const medium = new MemDevice(128 * BS);
  const dev = new FaultDevice(medium, { seed: 4 });
  const { journal } = await Journal.open(dev, { ...journalOptions, beforeBatch: async () => false });
  await dev.write(100 * BS, filled(0x99)); // an unrelated pending write (a checkpoint page)
  await journal.append(Buffer.from('commit me'));
  t.is(dev.pendingWriteCount, 1, 'the journal did not flush the unrelated write');
  dev.crash('drop-all');
  const { events } = await Journal.open(dev.restart(), { ...journalOptions, nonce: 2n });
  t.deepEqual(events.map((e) => e.payload.toString()), ['commit me']);
  t.true(readMedium(medium, 100 * BS, BS).equals(filled(0)));
});

test('journal: when beforeBatch wrote data (true), or durable writes are off, the batch flushes everything', async (t) => {
  for (const variant of ['data', 'off'] as const) {
    const medium = new MemDevice(128 * BS);
    const dev = new FaultDevice(medium, { seed: 5 });
    const { journal } = await Journal.open(dev, {
      ...journalOptions,
      beforeBatch: async () => {
        await dev.write(100 * BS, filled(0x98)); // data the record references
        return variant === 'data';
      },
      durableWrites: variant !== 'off',
    });
    await journal.append(Buffer.from('with data'));
    t.is(dev.pendingWriteCount, 0, `${variant}: the batch's flush covered the data write`);
    dev.crash('drop-all');
    t.true(readMedium(medium, 100 * BS, BS).equals(filled(0x98)), variant);
  }
});

test('engine: committed small and large writes survive a drop-all power cut', async (t) => {
  const C = '1.0_head';
  const medium = new MemDevice(64 * 1024 * 1024);
  await mkfs(medium, { journalBytes: 2 * 1024 * 1024 });
  const dev = new FaultDevice(medium.reopen(), { seed: 8 });
  const store = await open(dev, { checkpoint: { intervalMs: 0 } });
  const small = filled(0x5a, 4096);
  const large = new Random(8).bytes(1024 * 1024);
  await store.queueTransaction(new Transaction().createCollection(C, 0).write(C, { pool: 1, name: 's' }, 0, small));
  await store.queueTransaction(new Transaction().write(C, { pool: 1, name: 'l' }, 0, large));
  await store.queueTransaction(new Transaction().write(C, { pool: 1, name: 's2' }, 0, small));
  dev.crash('drop-all');
  const again = await open(dev.restart(), { checkpoint: { intervalMs: 0 } });
  t.true((await again.read(C, { pool: 1, name: 's' })).equals(small));
  t.true((await again.read(C, { pool: 1, name: 'l' })).equals(large));
  t.true((await again.read(C, { pool: 1, name: 's2' })).equals(small));
  t.deepEqual(await again.fsck({ deep: true }), []);
  await again.close();
});

/** A FaultDevice that logs each durable write's range as it starts and ends. */
class LoggingDevice extends FaultDevice {
  readonly log: string[] = [];
  override async writeDurable(offset: number, source: Uint8Array): Promise<void> {
    this.log.push(`start ${offset} ${source.byteLength}`);
    await super.writeDurable(offset, source);
    this.log.push(`end ${offset} ${source.byteLength}`);
  }
}

test('engine: large-write data is durable before its journal record is written; nothing stays pending', async (t) => {
  const C = '1.0_head';
  const medium = new MemDevice(64 * 1024 * 1024);
  await mkfs(medium, { journalBytes: 2 * 1024 * 1024 });
  const dev = new LoggingDevice(medium.reopen(), { seed: 11, latency: 3 });
  const store = await open(dev, { checkpoint: { intervalMs: 0 } });
  await store.queueTransaction(new Transaction().createCollection(C, 0));
  dev.log.length = 0;
  const large = new Random(11).bytes(LARGE_WRITE_BYTES * 4);
  await store.queueTransaction(new Transaction().write(C, { pool: 1, name: 'l' }, 0, large));
  t.is(dev.pendingWriteCount, 0, 'data and record are durable, no full flush needed');
  const dataStart = dev.log.findIndex((line) => line.endsWith(` ${large.byteLength}`));
  t.true(dataStart >= 0, `the data went out as one durable write: ${dev.log.join(', ')}`);
  const dataEnd = dev.log.indexOf(`end ${dev.log[dataStart]!.split(' ')[1]} ${large.byteLength}`);
  const recordStart = dev.log.findIndex((line, i) => i !== dataStart && line.startsWith('start'));
  t.true(dataEnd >= 0 && recordStart > dataEnd, `data durable before the record starts: ${dev.log.join(', ')}`);
  await store.close();
});

test('engine: large write data is borrowed until the promise settles, small data is copied at once', async (t) => {
  const C = '1.0_head';
  const medium = new MemDevice(64 * 1024 * 1024);
  await mkfs(medium, { journalBytes: 2 * 1024 * 1024 });
  const store = await open(medium.reopen(), { checkpoint: { intervalMs: 0 } });
  await store.queueTransaction(new Transaction().createCollection(C, 0));
  const large = Buffer.alloc(LARGE_WRITE_BYTES, 0x61);
  const small = Buffer.alloc(LARGE_WRITE_BYTES - 1, 0x62);
  const t1 = new Transaction().write(C, { pool: 1, name: 'l' }, 0, large).write(C, { pool: 1, name: 's' }, 0, small);
  const ops = t1.ops as readonly { data?: Uint8Array }[];
  t.is(ops[0]!.data!.buffer, large.buffer, 'large data is a view of the caller buffer');
  t.not(ops[1]!.data!.buffer, small.buffer, 'small data is a copy');
  small.fill(0x63); // allowed at any time: the transaction holds a copy
  await store.queueTransaction(t1);
  large.fill(0x64); // allowed once the promise settled: the store holds no reference any more
  t.true((await store.read(C, { pool: 1, name: 'l' })).equals(Buffer.alloc(LARGE_WRITE_BYTES, 0x61)));
  t.true((await store.read(C, { pool: 1, name: 's' })).equals(Buffer.alloc(LARGE_WRITE_BYTES - 1, 0x62)));
  await store.checkpoint();
  t.true((await store.read(C, { pool: 1, name: 'l' })).equals(Buffer.alloc(LARGE_WRITE_BYTES, 0x61)));
  t.deepEqual(await store.fsck({ deep: true }), []);
  await store.close();
});
