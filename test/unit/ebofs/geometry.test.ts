/**
 * Goal: mkfs's allocation unit and checksum block (engine/geometry.ts) are real: bad values are
 * EINVAL with nothing written; the geometry is kept in the superblock and honoured after a
 * remount (data extents in whole, aligned data blocks; statfs in data blocks); every read
 * verifies the whole checksum blocks it touches and a flipped bit in a 64 KiB checksum block is
 * ECHECKSUM naming the object and the block's offset; a superblock with an impossible geometry
 * does not mount; a 4 KiB write costs a whole data block.
 * Method: EbofsStore on MemDevice / FaultDevice (flipBit), fixed seeds; the extent tree is read
 * through the engine's own state to find physical places.
 */
import test from 'ava';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FaultDevice, MemDevice } from '../../../engine/device/index.js';
import { mkfs, open, type EbofsOptions } from '../../../engine/lifecycle.js';
import type { EbofsStore } from '../../../engine/store.js';
import { Transaction } from '../../../engine/transaction.js';
import { extentsIn, type MappedExtent } from '../../../engine/data.js';
import { decodeExtent, decodeOnode, encodeExtent } from '../../../engine/meta-keys.js';
import { encodeOnodeKey } from '../../../engine/oid-key.js';
import { normalizeObjectId, type ObjectId } from '../../../engine/types.js';
import { SUPERBLOCK_OFFSETS } from '../../../engine/superblock.js';
import { CorruptionError, EbofsError } from '../../../common/errors.js';
import { checksum32 } from '../../../common/checksum.js';
import { Random } from '../../../common/random.js';

const C = '1.0_head';
const KIB = 1024;
const DEVICE_BYTES = 64 * 1024 * KIB;
const QUIET: EbofsOptions = { checkpoint: { intervalMs: 0, journalFillRatio: 0.99, dirtyBytesMax: 1 << 30 } };

async function format(options: EbofsOptions, sizeBytes = DEVICE_BYTES): Promise<MemDevice> {
  const device = new MemDevice(sizeBytes);
  await mkfs(device, { journalBytes: 4 * 1024 * KIB, ...options });
  return device.reopen();
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'ok';
  } catch (err) {
    return err instanceof EbofsError ? err.code : `untyped: ${String(err)}`;
  }
}

function extentsOf(store: EbofsStore, oid: ObjectId): MappedExtent[] {
  const value = store.state.trees.onodes.current.get(encodeOnodeKey(C, normalizeObjectId(oid)));
  if (value === undefined) throw new Error(`no onode for ${oid.name}`);
  return extentsIn(store.state.trees.extents.current, decodeOnode(value, 'test').nid, 0, Number.MAX_SAFE_INTEGER, 'test');
}

/** Device offset of logical byte `at` of an object. */
function physical(store: EbofsStore, oid: ObjectId, at: number): number {
  const B = store.state.geometry.blockBytes;
  const lblock = Math.floor(at / B);
  const e = extentsOf(store, oid).find((x) => lblock >= x.lblock && lblock < x.lblock + x.count);
  if (e === undefined) throw new Error(`byte ${at} is not mapped`);
  return (e.pblock + lblock - e.lblock) * B + (at % B);
}

test('bad geometry is EINVAL and mkfs writes nothing', async (t) => {
  const bad: EbofsOptions[] = [
    { allocUnitBytes: 3000 }, { allocUnitBytes: 2048 }, { allocUnitBytes: 2 * 1024 * KIB }, { allocUnitBytes: 12 * KIB },
    { csumBlockBytes: 0 }, { csumBlockBytes: 4096.5 }, { csumBlockBytes: 2 * 1024 * KIB }, { csumBlockBytes: -4096 },
    { allocUnitBytes: 1024 * KIB, csumBlockBytes: 4 * KIB }, // 256 checksum blocks per unit: over 64
    { allocUnitBytes: 64 * KIB, stripeUnitBytes: 32 * KIB, stripeWidth: 4 }, // stripe unit not whole data blocks
  ];
  for (const options of bad) {
    const device = new MemDevice(DEVICE_BYTES);
    t.is(await codeOf(mkfs(device, options)), 'EINVAL', JSON.stringify(options));
    t.is(device.stats().writeBytes, 0, `nothing written for ${JSON.stringify(options)}`);
    t.is(await codeOf(open(device.reopen())), 'EFORMAT', 'no store there');
  }
  const dir = await mkdtemp(join(tmpdir(), 'ebofs-geometry-'));
  try {
    const path = join(dir, 'store.img');
    t.is(await codeOf(mkfs(path, { allocUnitBytes: 5000 })), 'EINVAL');
    t.false(await stat(path).then(() => true, () => false), 'no file created');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  // The limits themselves are accepted.
  for (const options of [{ allocUnitBytes: 1024 * KIB, csumBlockBytes: 16 * KIB }, { allocUnitBytes: 4 * KIB, csumBlockBytes: 1024 * KIB }]) {
    const store = await open(await format(options), QUIET);
    t.deepEqual([store.state.geometry.allocUnitBytes, store.state.geometry.csumBlockBytes],
      [options.allocUnitBytes, options.csumBlockBytes]);
    await store.close();
  }
});

test('the geometry is kept in the superblock and honoured after remount', async (t) => {
  const medium = await format({ allocUnitBytes: 64 * KIB, csumBlockBytes: 16 * KIB });
  const head = Buffer.alloc(4096);
  await medium.read(0, head);
  t.is(head.readUInt32LE(44), 64 * KIB, 'superblock byte 44: allocation unit');
  t.is(head.readUInt32LE(56), 16 * KIB, 'superblock byte 56: checksum block');
  const random = new Random(5);
  const a = { pool: 1, name: 'a' };
  const bytes = random.bytes(300 * KIB);
  let store = await open(medium, QUIET);
  await store.queueTransaction(new Transaction().createCollection(C, 0).write(C, a, 0, bytes)
    .write(C, { pool: 1, name: 'small' }, 8192, random.bytes(4096)));
  // Open options cannot change a store's geometry.
  await store.close();
  store = await open(medium.reopen(), { ...QUIET, allocUnitBytes: 4096, csumBlockBytes: 4096 });
  t.like(store.state.geometry, { allocUnitBytes: 64 * KIB, csumBlockBytes: 16 * KIB, blockBytes: 64 * KIB, csumsPerBlock: 4 });
  t.true((await store.read(C, a)).equals(bytes));
  // A 4 KiB write after the remount takes one whole, aligned 64 KiB data block.
  const before = (await store.statfs()).allocated;
  await store.queueTransaction(new Transaction().write(C, { pool: 1, name: 'b' }, 0, random.bytes(4096)));
  t.is((await store.statfs()).allocated - before, 64 * KIB);
  t.is((await store.statfs()).allocated % (64 * KIB), 0);
  for (const oid of [a, { pool: 1, name: 'b' }, { pool: 1, name: 'small' }]) {
    for (const e of extentsOf(store, oid)) t.is(e.csums.length, e.count * 4, 'four checksums per data block');
    t.is(physical(store, oid, 0) % (64 * KIB), 0, 'data blocks start on the allocation unit');
  }
  t.deepEqual(await store.fsck({ deep: true }), []);
  await store.close();
  const again = await open(medium.reopen(), QUIET);
  t.true((await again.read(C, a)).equals(bytes));
  t.is((await again.stat(C, { pool: 1, name: 'small' })).size, 12288);
  t.deepEqual(await again.fsck({ deep: true }), []);
  await again.close();
});

test('a flipped bit in a 64 KiB checksum block: ECHECKSUM naming object and offset, reads verify whole checksum blocks', async (t) => {
  const medium = await format({ allocUnitBytes: 4 * KIB, csumBlockBytes: 64 * KIB });
  const random = new Random(7);
  const big = { pool: 1, name: 'big-object' };
  const bytes = random.bytes(256 * KIB);
  let store = await open(medium, QUIET);
  await store.queueTransaction(new Transaction().createCollection(C, 0).write(C, big, 0, bytes));
  await store.close();
  store = await open(medium.reopen(), QUIET);
  const bad = physical(store, big, 150_000); // inside checksum block 2: bytes [131072, 196608)
  await store.close();
  const device = new FaultDevice(medium.reopen(), { seed: 1 });
  device.flipBit(bad, 3);
  store = await open(device, QUIET);
  const err = await store.read(C, big, 140_000, 100).then(() => undefined, (e: unknown) => e);
  t.true(err instanceof CorruptionError && err.code === 'ECHECKSUM', String(err));
  const location = (err as CorruptionError).location ?? '';
  t.true(location.includes(C) && location.includes('big-object') && location.includes('offset 131072'), location);
  t.is(await codeOf(store.read(C, big)), 'ECHECKSUM');
  t.true((await store.read(C, big, 0, 131072)).equals(bytes.subarray(0, 131072)), 'other checksum blocks read fine');
  t.true((await store.read(C, big, 196608, 65536)).equals(bytes.subarray(196608)));
  t.is(await codeOf(store.queueTransaction(new Transaction().write(C, big, 131072 + 10, Buffer.from('x')))), 'ECHECKSUM',
    'a partial overwrite reads the damaged block back: typed failure, nothing changed');
  const findings = await store.fsck({ deep: true });
  t.is(findings.length, 1, JSON.stringify(findings));
  t.true(findings[0]?.code === 'ECHECKSUM' && findings[0].location.includes('big-object') && findings[0].location.includes('offset 131072'),
    JSON.stringify(findings));
  await store.close();
});

test('16 KiB checksum blocks in a 64 KiB unit: reads verify only the blocks they touch, rewrites verify the whole unit', async (t) => {
  const medium = await format({ allocUnitBytes: 64 * KIB, csumBlockBytes: 16 * KIB });
  const random = new Random(9);
  const o = { pool: 1, name: 'o' };
  const bytes = random.bytes(64 * KIB);
  let store = await open(medium, QUIET);
  await store.queueTransaction(new Transaction().createCollection(C, 0).write(C, o, 0, bytes));
  await store.close();
  store = await open(medium.reopen(), QUIET);
  const bad = physical(store, o, 20_000); // checksum block 1: [16384, 32768)
  await store.close();
  const device = new FaultDevice(medium.reopen(), { seed: 2 });
  device.flipBit(bad, 0);
  store = await open(device, QUIET);
  t.true((await store.read(C, o, 0, 16384)).equals(bytes.subarray(0, 16384)));
  t.true((await store.read(C, o, 32768, 32768)).equals(bytes.subarray(32768)));
  const err = await store.read(C, o, 16384, 1).then(() => undefined, (e: unknown) => e);
  t.true(err instanceof CorruptionError && (err.location ?? '').includes('offset 16384'), String(err));
  // A 4 KiB overwrite of checksum block 3 rewrites the whole data block: the bad block 1 is read back.
  t.is(await codeOf(store.queueTransaction(new Transaction().write(C, o, 49152, random.bytes(4096)))), 'ECHECKSUM');
  await store.close();
});

test('fsck names an extent record whose checksum count does not match the geometry', async (t) => {
  const store = await open(await format({ allocUnitBytes: 64 * KIB, csumBlockBytes: 16 * KIB }), QUIET);
  await store.queueTransaction(new Transaction().createCollection(C, 0).write(C, { pool: 1, name: 'x' }, 0, Buffer.alloc(128 * KIB, 7)));
  t.deepEqual(await store.fsck({ deep: true }), []);
  const [entry] = [...store.state.trees.extents.current.range()];
  const rec = decodeExtent(entry!.value, 'test');
  t.is(rec.csums.length, rec.count * 4);
  const batch = store.state.trees.extents.begin();
  // Same blocks, one checksum per 64 KiB block: decodable, but not this store's geometry.
  batch.put(entry!.key, encodeExtent({ pblock: rec.pblock, count: rec.count, csums: rec.csums.subarray(0, rec.count) }));
  batch.commit();
  const findings = await store.fsck();
  t.true(findings.some((f) => f.code === 'ECORRUPT' && f.location.includes('x') && /has 2 checksums, not 8/.test(f.message)),
    JSON.stringify(findings));
  await store.close().catch(() => undefined);
});

test('a superblock with an impossible geometry does not mount (ECORRUPT)', async (t) => {
  const medium = await format({});
  for (const offset of SUPERBLOCK_OFFSETS) {
    const sb = Buffer.alloc(4096);
    await medium.read(offset, sb);
    t.is(sb.readUInt32LE(44), 4096, 'default geometry: the bytes every earlier store holds');
    t.is(sb.readUInt32LE(56), 4096);
    sb.writeUInt32LE(12_288, 44);
    sb.writeUInt32LE(checksum32(sb.subarray(0, 4092)), 4092);
    await medium.write(offset, sb);
  }
  t.is(await codeOf(open(medium.reopen())), 'ECORRUPT');
});

/**
 * Device bytes written per user byte for random 4 KiB overwrites (journal, data, metadata,
 * through a checkpoint), on the default geometry and on a 64 KiB allocation unit: copy-on-write
 * rewrites the whole data block, so the larger unit costs about 16 times the data writes.
 */
async function writeAmplification(options: EbofsOptions, seed: number): Promise<number> {
  const medium = await format(options, 128 * 1024 * KIB);
  const store = await open(medium, QUIET);
  const random = new Random(seed);
  const objects = 32;
  const objectBytes = 2 * 1024 * KIB;
  await store.queueTransaction(new Transaction().createCollection(C, 0));
  for (let i = 0; i < objects; i++) {
    await store.queueTransaction(new Transaction().write(C, { pool: 1, name: `rbd.${i}` }, 0, random.bytes(objectBytes)));
  }
  await store.checkpoint();
  const before = medium.stats().writeBytes;
  const writes = 400;
  for (let i = 0; i < writes; i++) {
    const oid = { pool: 1, name: `rbd.${random.int(objects)}` };
    await store.queueTransaction(new Transaction().write(C, oid, random.int(objectBytes / 4096) * 4096, random.bytes(4096)));
  }
  await store.checkpoint();
  const ratio = (medium.stats().writeBytes - before) / (writes * 4096);
  t_log?.(`${JSON.stringify(options)}: ${ratio.toFixed(2)} device bytes per user byte`);
  await store.close();
  return ratio;
}
let t_log: ((message: string) => void) | undefined;

test('device bytes per user byte of 4 KiB overwrites: the whole data block is rewritten', async (t) => {
  t_log = (m) => t.log(m);
  const small = await writeAmplification({}, 1);
  const large = await writeAmplification({ allocUnitBytes: 64 * KIB, csumBlockBytes: 16 * KIB }, 1);
  t_log = undefined;
  t.true(small < 6, `4 KiB unit: ${small}`);
  t.true(large > 12 && large < 40, `64 KiB unit: ${large}`);
});
