/**
 * Goal: the three devices keep the BlockDevice contract, FileDevice locks and persists, and
 * FaultDevice's crashes keep flushed bytes, lose or tear only unflushed ones, deterministically.
 * Method: direct checks plus seeded crash trials compared against what each sector may hold.
 */
import test from 'ava';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FaultDevice, FileDevice, MemDevice } from '../../../engine/device/index.js';
import { EbofsError } from '../../../common/errors.js';
import { Random } from '../../../common/random.js';

const BS = 4096;

function filled(byte: number, length = BS): Buffer {
  return Buffer.alloc(length, byte);
}

test('MemDevice reads zeros for unwritten blocks and rejects misaligned I/O', async (t) => {
  const dev = new MemDevice(16 * BS);
  const buf = Buffer.alloc(2 * BS, 7);
  await dev.read(0, buf);
  t.true(buf.every((b) => b === 0));
  await dev.write(BS, filled(9));
  await dev.read(0, buf);
  t.is(buf[BS], 9);
  t.is(buf[0], 0);
  await t.throwsAsync(dev.write(100, filled(1)), { instanceOf: EbofsError, message: /EINVAL/ });
  await t.throwsAsync(dev.write(16 * BS, filled(1)), { message: /past the device end/ });
  await t.throwsAsync(dev.read(0, Buffer.alloc(100)), { message: /EINVAL/ });
  t.throws(() => new MemDevice(1000), { message: /EINVAL/ });
  await dev.close();
  await t.throwsAsync(dev.read(0, buf), { message: /ECLOSED/ });
});

test('FileDevice creates a sparse 0600 file, persists, and locks exclusively', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ebofs-dev-'));
  const path = join(dir, 'store.img');
  try {
    const dev = await FileDevice.open(path, { create: true, sizeBytes: 1024 * BS });
    const st = statSync(path);
    t.is(st.size, 1024 * BS);
    t.is(st.mode & 0o777, 0o600);
    t.true(st.blocks * 512 < 64 * BS, 'file is sparse');
    await t.throwsAsync(FileDevice.open(path), { instanceOf: EbofsError, message: /EBUSY_LOCKED: store is in use/ });
    await dev.write(5 * BS, filled(0xab, 2 * BS));
    await dev.flush();
    t.is(dev.stats().flushCount, 1);
    await dev.close();
    const again = await FileDevice.open(path);
    t.is(again.sizeBytes, 1024 * BS);
    const buf = Buffer.alloc(3 * BS);
    await again.read(4 * BS, buf);
    t.true(buf.subarray(0, BS).every((b) => b === 0));
    t.true(buf.subarray(BS).every((b) => b === 0xab));
    await again.close();
    await t.throwsAsync(FileDevice.open(join(dir, 'missing')), { message: /ENOENT/ });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('FileDevice with O_DIRECT reads back what it wrote', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ebofs-dev-'));
  try {
    let dev: FileDevice;
    try {
      dev = await FileDevice.open(join(dir, 'd.img'), { create: true, sizeBytes: 64 * BS, direct: true });
    } catch (err) {
      if (err instanceof EbofsError && err.code === 'ENOTSUP') return t.pass('O_DIRECT unsupported here');
      throw err;
    }
    const data = new Random(3).bytes(3 * BS);
    await dev.write(2 * BS, data);
    await dev.flush();
    const back = Buffer.alloc(3 * BS);
    await dev.read(2 * BS, back);
    t.true(back.equals(data));
    await dev.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('FaultDevice: reads see unflushed writes; crash keeps everything flushed', async (t) => {
  for (const mode of ['drop-all', 'keep-all', 'whole-writes', 'torn'] as const) {
    const dev = new FaultDevice(new MemDevice(32 * BS), { seed: 5 });
    await dev.write(0, filled(1));
    await dev.flush();
    await dev.write(BS, filled(2));
    const buf = Buffer.alloc(BS);
    await dev.read(BS, buf);
    t.is(buf[0], 2);
    dev.crash(mode);
    await t.throwsAsync(dev.read(0, buf), { message: /EIO/ });
    const next = dev.restart();
    await next.read(0, buf);
    t.true(buf.every((b) => b === 1), `flushed block survives ${mode}`);
    await next.read(BS, buf);
    if (mode === 'drop-all') t.true(buf.every((b) => b === 0));
    if (mode === 'keep-all') t.true(buf.every((b) => b === 2));
  }
});

test('FaultDevice torn crash: every sector holds an old or a pending version, in order', async (t) => {
  for (let seed = 0; seed < 200; seed++) {
    const dev = new FaultDevice(new MemDevice(8 * BS), { seed });
    await dev.write(0, filled(0x10, 8 * BS));
    await dev.flush();
    const versions = [0x21, 0x22, 0x23];
    for (const v of versions) await dev.write(0, filled(v, 2 * BS));
    dev.crash('torn');
    const back = Buffer.alloc(8 * BS);
    await dev.restart().read(0, back);
    for (let s = 0; s < 64; s++) {
      const sector = back.subarray(s * 512, (s + 1) * 512);
      const first = sector[0]!;
      t.true(sector.every((b) => b === first), `seed ${seed}: sector ${s} is not torn inside`);
      if (s < 16) t.true([0x10, ...versions].includes(first), `seed ${seed}: sector ${s} holds ${first}`);
      else t.is(first, 0x10);
    }
  }
});

test('FaultDevice is deterministic per seed and tears at sector granularity', async (t) => {
  async function trial(seed: number): Promise<Buffer> {
    const dev = new FaultDevice(new MemDevice(16 * BS), { seed });
    const rnd = new Random(seed);
    for (let i = 0; i < 10; i++) await dev.write(rnd.int(16) * BS, rnd.bytes(BS));
    dev.crash();
    const out = Buffer.alloc(16 * BS);
    await dev.restart().read(0, out);
    return out;
  }
  t.true((await trial(11)).equals(await trial(11)));
  const distinct = new Set<string>();
  for (let s = 0; s < 20; s++) distinct.add((await trial(s)).toString('hex').slice(0, 64));
  t.true(distinct.size > 1);
});

test('FaultDevice injects EIO, crashes after N ops, and flips bits', async (t) => {
  const dev = new FaultDevice(new MemDevice(8 * BS), { seed: 1 });
  dev.failNext('write');
  await t.throwsAsync(dev.write(0, filled(1)), { message: /EIO.*injected/ });
  const buf = Buffer.alloc(BS);
  await dev.read(0, buf);
  t.is(buf[0], 0, 'failed write was not applied');
  dev.failNext('flush');
  await dev.write(0, filled(3));
  await t.throwsAsync(dev.flush(), { message: /EIO/ });
  t.is(dev.pendingWriteCount, 1, 'failed flush leaves writes volatile');
  await dev.flush();
  dev.crashAfterOps(2);
  await dev.write(BS, filled(4));
  await dev.write(2 * BS, filled(5));
  await t.throwsAsync(dev.write(3 * BS, filled(6)), { message: /lost power/ });
  t.true(dev.isCrashed);
  const next = dev.restart();
  next.flipBit(10, 3);
  await next.read(0, buf);
  t.is(buf[10], 3 ^ 8);
  t.is(buf[11], 3);
});

test('readSync agrees with read on every device', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ebofs-dev-'));
  try {
    const data = new Random(8).bytes(3 * BS);
    const devices = [new MemDevice(16 * BS), new FaultDevice(new MemDevice(16 * BS), { seed: 2 }),
      await FileDevice.open(join(dir, 'a.img'), { create: true, sizeBytes: 16 * BS })];
    try {
      devices.push(await FileDevice.open(join(dir, 'b.img'), { create: true, sizeBytes: 16 * BS, direct: true }));
    } catch { /* O_DIRECT unsupported here */ }
    for (const dev of devices) {
      await dev.write(BS, data);
      const back = Buffer.alloc(4 * BS);
      dev.readSync(0, back);
      t.true(back.subarray(BS).equals(data));
      t.true(back.subarray(0, BS).every((b) => b === 0));
      await dev.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
