/**
 * Goal: bit rot in each on-disk structure of the engine is detected and reported as a typed
 * CorruptionError naming the damaged place — never returned as wrong bytes, never an untyped
 * crash — and fsck names it:
 *  (a) a data block: read fails ECHECKSUM naming collection, object and offset; deep fsck names it;
 *  (b) an onode-tree or extent-tree page: loading it fails naming the page; fsck reports it;
 *  (c) a journal record: mount replays the events before it and stops there; fsck reports the
 *      damage when the log continues after it (and not for a damaged last record, a torn tail);
 *  (d) a superblock copy: mount uses the other copy (its generation plus journal replay); both
 *      copies damaged is a typed error.
 * Method: EbofsStore on a FaultDevice over a MemDevice. The physical place of each structure is
 * found through the engine's own state (extent records, reachable btree pages, superblock
 * journal fields), one bit is flipped on the medium with FaultDevice.flipBit, and the store is
 * remounted so no cache hides the damage. Fixed seeds; no randomness beyond them.
 */
import test from 'ava';
import { FaultDevice, MemDevice } from '../../../engine/device/index.js';
import { mkfs, open } from '../../../engine/lifecycle.js';
import type { EbofsStore } from '../../../engine/store.js';
import { Transaction } from '../../../engine/transaction.js';
import { extentsIn, type MappedExtent } from '../../../engine/data.js';
import { decodeOnode } from '../../../engine/meta-keys.js';
import { encodeOnodeKey } from '../../../engine/oid-key.js';
import { normalizeObjectId, type ObjectId } from '../../../engine/types.js';
import { type Superblock, SUPERBLOCK_OFFSETS, decodeSuperblock } from '../../../engine/superblock.js';
import type { EbofsOptions } from '../../../engine/lifecycle.js';
import { reachablePages } from '../../../btree/check.js';
import { decodeHeader, RECORD_HEADER_BYTES } from '../../../journal/format.js';
import { CorruptionError, EbofsError } from '../../../common/errors.js';
import { Random } from '../../../common/random.js';

const C = '1.0_head';
const BLOCK = 4096;
const DEVICE_BYTES = 64 * 1024 * 1024;
/** No timer, and no journal- or dirty-triggered checkpoint during a test's few transactions. */
const QUIET: EbofsOptions = { checkpoint: { intervalMs: 0, journalFillRatio: 0.99, dirtyBytesMax: 1 << 30 } };

/** A formatted medium with collection C, mounted on a FaultDevice. */
async function setup(seed: number): Promise<{ medium: MemDevice; store: EbofsStore; device: FaultDevice }> {
  const formatted = new MemDevice(DEVICE_BYTES);
  await mkfs(formatted, { journalBytes: 4 * 1024 * 1024 });
  const medium = formatted.reopen();
  const device = new FaultDevice(medium, { seed });
  const store = await open(device, QUIET);
  await store.queueTransaction(new Transaction().createCollection(C, 0));
  return { medium, store, device };
}

/** Mounts the medium again on a fresh FaultDevice (a new process: empty caches). */
async function remount(medium: MemDevice, seed: number): Promise<{ store: EbofsStore; device: FaultDevice }> {
  const device = new FaultDevice(medium, { seed });
  return { store: await open(device, QUIET), device };
}

function nidOf(store: EbofsStore, oid: ObjectId): number {
  const value = store.state.trees.onodes.current.get(encodeOnodeKey(C, normalizeObjectId(oid)));
  if (value === undefined) throw new Error(`no onode for ${oid.name}`);
  return decodeOnode(value, 'test').nid;
}

/** The extent records of an object, from the engine's extent tree. */
function extentsOf(store: EbofsStore, oid: ObjectId, size: number): MappedExtent[] {
  return extentsIn(store.state.trees.extents.current, nidOf(store, oid), 0, Math.ceil(size / BLOCK), 'test');
}

/** Device offset of logical block `lblock` of an object. */
function physicalOffset(extents: MappedExtent[], lblock: number): number {
  const e = extents.find((x) => lblock >= x.lblock && lblock < x.lblock + x.count);
  if (e === undefined) throw new Error(`logical block ${lblock} is not mapped`);
  return (e.pblock + lblock - e.lblock) * BLOCK;
}

/** Awaits a promise that must reject with a CorruptionError; returns it. */
async function corruption(t: { fail: (m: string) => void }, promise: Promise<unknown>): Promise<CorruptionError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof CorruptionError) return err;
    t.fail(`expected a CorruptionError, got ${String(err)}`);
    throw err;
  }
  t.fail('expected a CorruptionError, but the call succeeded');
  throw new Error('no error');
}

async function code(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'ok';
  } catch (err) {
    return err instanceof EbofsError ? err.code : `untyped: ${String(err)}`;
  }
}

// ---------------------------------------------------------------------------------------------
// (a) data blocks

test('a flipped bit in a data block: read fails ECHECKSUM naming object and offset; deep fsck names it', async (t) => {
  const { medium, store } = await setup(1);
  const random = new Random(11);
  const large = { pool: 1, name: 'large-object' };
  const small = { pool: 1, name: 'small-object' };
  const largeBytes = random.bytes(256 * 1024); // large write: data goes to its extent before the record
  const smallBytes = random.bytes(3 * BLOCK); // small write: rides in the record, reaches its extent at checkpoint
  await store.queueTransaction(new Transaction().write(C, large, 0, largeBytes).write(C, small, 0, smallBytes));
  await store.close();

  let { store: s } = await remount(medium, 2);
  const largeExtents = extentsOf(s, large, largeBytes.byteLength);
  const smallExtents = extentsOf(s, small, smallBytes.byteLength);
  await s.close();
  const badLarge = 37;
  const badSmall = 1;
  const device = new FaultDevice(medium, { seed: 3 });
  device.flipBit(physicalOffset(largeExtents, badLarge) + 1234, 5);
  device.flipBit(physicalOffset(smallExtents, badSmall) + 17, 0);
  s = await open(device, QUIET);

  const err = await corruption(t, s.read(C, large));
  t.is(err.code, 'ECHECKSUM');
  t.truthy(err.location?.includes(C) && err.location.includes('large-object'), `location: ${err.location}`);
  t.truthy(err.location?.includes(`offset ${badLarge * BLOCK}`), `location: ${err.location}`);
  const smallErr = await corruption(t, s.read(C, small, BLOCK, 100));
  t.is(smallErr.code, 'ECHECKSUM');
  t.truthy(smallErr.location?.includes('small-object') && smallErr.location.includes(`offset ${badSmall * BLOCK}`));
  // Ranges without the bad block still read their exact bytes.
  t.true((await s.read(C, large, 0, badLarge * BLOCK)).equals(largeBytes.subarray(0, badLarge * BLOCK)));
  const after = (badLarge + 1) * BLOCK;
  t.true((await s.read(C, large, after, largeBytes.byteLength - after)).equals(largeBytes.subarray(after)));
  t.true((await s.read(C, small, 0, BLOCK)).equals(smallBytes.subarray(0, BLOCK)));
  // A partial overwrite that must read the damaged block back fails typed and changes nothing.
  t.is(await code(s.queueTransaction(new Transaction().write(C, large, badLarge * BLOCK + 10, Buffer.from('x')))), 'ECHECKSUM');

  t.deepEqual(await s.fsck(), [], 'shallow fsck does not read data');
  const findings = await s.fsck({ deep: true });
  t.is(findings.length, 2, JSON.stringify(findings));
  for (const name of ['large-object', 'small-object']) {
    const f = findings.find((x) => x.location.includes(name));
    t.is(f?.code, 'ECHECKSUM', `${name}: ${JSON.stringify(findings)}`);
  }
  await s.close();
});

// ---------------------------------------------------------------------------------------------
// (b) onode tree pages

/** 300 objects with long names: an onode tree of depth 2 with a dozen leaves. */
async function manyObjects(seed: number): Promise<{ medium: MemDevice; oids: ObjectId[]; bytes: Buffer[] }> {
  const { medium, store } = await setup(seed);
  const oids: ObjectId[] = [];
  const bytes: Buffer[] = [];
  const random = new Random(seed);
  const t = new Transaction();
  for (let i = 0; i < 300; i++) {
    const oid = { pool: 1, name: `object-${String(i).padStart(4, '0')}-${'n'.repeat(120)}` };
    const data = random.bytes(100 + (i % 7) * 50);
    oids.push(oid);
    bytes.push(data);
    t.write(C, oid, 0, data);
  }
  await store.queueTransaction(t);
  await store.close();
  return { medium, oids, bytes };
}

/** Root and leaf page ids of one metadata tree of the store on `medium`. */
async function treePages(medium: MemDevice, name: 'onodes' | 'extents' = 'onodes'): Promise<{ root: number; leaves: number[] }> {
  const { store } = await remount(medium, 9);
  const tree = store.state.trees[name];
  const root = tree.current.root;
  if (root.kind !== 'paged') throw new Error(`${name} root is ${root.kind}`);
  const leaves = [...reachablePages(tree, tree.current)].filter((id) => id !== root.pageId).sort((a, b) => a - b);
  await store.close();
  return { root: root.pageId, leaves };
}

const onodePages = (medium: MemDevice): Promise<{ root: number; leaves: number[] }> => treePages(medium, 'onodes');

test('a flipped bit in an onode leaf page: loads of that page fail naming it, other objects read exactly', async (t) => {
  const { medium, oids, bytes } = await manyObjects(4);
  const { leaves } = await onodePages(medium);
  t.true(leaves.length >= 4, `only ${leaves.length} leaves`);
  const bad = leaves[leaves.length >> 1]!;
  const device = new FaultDevice(medium, { seed: 5 });
  device.flipBit(bad * BLOCK + 2000, 3);
  const store = await open(device, QUIET);
  let failed = 0;
  for (const [i, oid] of oids.entries()) {
    try {
      const back = await store.read(C, oid);
      t.true(back.equals(bytes[i]!), `${oid.name}: wrong bytes`);
    } catch (err) {
      t.true(err instanceof CorruptionError, `${oid.name}: untyped error ${String(err)}`);
      t.is((err as CorruptionError).location, `page ${bad}`);
      failed++;
    }
  }
  t.true(failed > 0 && failed < oids.length, `${failed} of ${oids.length} objects failed`);
  const listErr = await corruption(t, store.listObjects(C, { max: 1000 }));
  t.is(listErr.location, `page ${bad}`);
  await store.close();
});

// fsck must report a damaged tree page as a finding (it used to throw from a later walk).
test('fsck reports a damaged onode leaf page as a finding', async (t) => {
  const { medium } = await manyObjects(6);
  const { leaves } = await onodePages(medium);
  const bad = leaves[1]!;
  const device = new FaultDevice(medium, { seed: 7 });
  device.flipBit(bad * BLOCK + 3000, 6);
  const store = await open(device, QUIET);
  const findings = await store.fsck();
  t.true(findings.some((f) => f.location.includes('onodes') && f.location.includes(`page ${bad}`)), JSON.stringify(findings));
  await store.close().catch(() => undefined);
});

test('a flipped bit in an extent-tree leaf page: reads fail naming the page, never wrong bytes; fsck reports it', async (t) => {
  const { medium, store } = await setup(30);
  const random = new Random(30);
  const oids: ObjectId[] = [];
  const bytes: Buffer[] = [];
  // Holes between 4 KiB writes: one extent record per write, a few thousand records in all.
  for (let i = 0; i < 120; i++) {
    const oid = { pool: 1, name: `sparse-${i}` };
    const image = Buffer.alloc(40 * BLOCK);
    const t = new Transaction();
    for (let b = 0; b < 40; b += 2) {
      const block = random.bytes(BLOCK);
      block.copy(image, b * BLOCK);
      t.write(C, oid, b * BLOCK, block);
    }
    oids.push(oid);
    bytes.push(image.subarray(0, 39 * BLOCK));
    await store.queueTransaction(t);
  }
  await store.close();
  const { leaves } = await treePages(medium, 'extents');
  t.true(leaves.length >= 4, `only ${leaves.length} extent leaves`);
  const bad = leaves[leaves.length >> 1]!;
  const device = new FaultDevice(medium, { seed: 31 });
  device.flipBit(bad * BLOCK + 1500, 2);
  const s = await open(device, QUIET);
  let failed = 0;
  for (const [i, oid] of oids.entries()) {
    try {
      t.true((await s.read(C, oid)).equals(bytes[i]!), `${oid.name}: wrong bytes`);
    } catch (err) {
      t.true(err instanceof CorruptionError, `${oid.name}: untyped error ${String(err)}`);
      t.is((err as CorruptionError).location, `page ${bad}`);
      failed++;
    }
  }
  t.true(failed > 0 && failed < oids.length, `${failed} of ${oids.length} objects failed`);
  const findings = await s.fsck();
  t.true(findings.some((f) => f.location.includes('extents') && f.location.includes(`page ${bad}`)), JSON.stringify(findings));
  await s.close().catch(() => undefined);
});

test('a flipped bit in the onode root page: mount fails with a CorruptionError naming the page', async (t) => {
  const { medium } = await manyObjects(8);
  const { root } = await onodePages(medium);
  const device = new FaultDevice(medium, { seed: 9 });
  device.flipBit(root * BLOCK + 100, 1);
  const err = await corruption(t, open(device, QUIET));
  t.is(err.location, `page ${root}`);
});

// ---------------------------------------------------------------------------------------------
// (c) journal records

interface RecordPlace {
  offset: number;
  seq: number;
  payloadBytes: number;
}

/** Walks the record chain on the medium from the superblock's replay cursor. */
function journalRecords(medium: MemDevice, sb: Superblock): RecordPlace[] {
  const out: RecordPlace[] = [];
  const block = Buffer.alloc(BLOCK);
  let pos = sb.replayOffset;
  for (let seq = sb.replaySeq; pos < sb.journalOffset + sb.journalBytes; seq++) {
    medium.readSync(pos, block);
    const h = decodeHeader(block, BLOCK);
    if (typeof h === 'string' || h.seq !== seq) break;
    out.push({ offset: pos, seq, payloadBytes: h.payloadBytes });
    pos += h.recordBlocks * BLOCK;
  }
  return out;
}

const journalOid = (i: number): ObjectId => ({ pool: 1, name: `journaled-${i}` });

/** Seven committed transactions that live only in the journal, then a power cut. */
async function journaledOnly(seed: number): Promise<{ medium: MemDevice; records: RecordPlace[]; data: Buffer[] }> {
  const { medium, store, device } = await setup(seed);
  await store.checkpoint();
  const random = new Random(seed);
  const data: Buffer[] = [];
  for (let i = 0; i < 7; i++) {
    data.push(random.bytes(2000 + i * 100));
    await store.queueTransaction(new Transaction().write(C, journalOid(i), 0, data[i]!).setattr(C, journalOid(i), 'n', String(i)));
  }
  const sb = store.checkpointer.durableSuperblock;
  device.crash('drop-all'); // everything awaited is flushed already
  const records = journalRecords(medium, sb);
  return { medium, records, data };
}

test('a flipped bit in a middle journal record: mount replays the events before it and stops; fsck reports it', async (t) => {
  const { medium, records, data } = await journaledOnly(10);
  t.is(records.length, 7, 'one record per transaction after the checkpoint');
  const bad = records[3]!;
  const device = new FaultDevice(medium, { seed: 11 });
  device.flipBit(bad.offset + RECORD_HEADER_BYTES + Math.floor(bad.payloadBytes / 2), 4);
  const store = await open(device, QUIET);
  for (let i = 0; i < 3; i++) {
    t.true((await store.read(C, journalOid(i))).equals(data[i]!), `event ${i} replayed`);
    t.is((await store.getattr(C, journalOid(i), 'n')).toString(), String(i));
  }
  for (let i = 3; i < 7; i++) t.false(await store.exists(C, journalOid(i)), `event ${i} must not be applied`);
  const findings = await store.fsck();
  t.is(findings.length, 1, JSON.stringify(findings));
  t.is(findings[0]?.code, 'ECHECKSUM');
  t.is(findings[0]?.location, `journal offset ${bad.offset}`);
  await store.close();
});

test('a flipped bit in the last journal record is a torn tail: replay stops before it, fsck is clean', async (t) => {
  const { medium, records, data } = await journaledOnly(12);
  const last = records[records.length - 1]!;
  const device = new FaultDevice(medium, { seed: 13 });
  device.flipBit(last.offset + RECORD_HEADER_BYTES + 5, 0);
  const store = await open(device, QUIET);
  for (let i = 0; i < 6; i++) t.true((await store.read(C, journalOid(i))).equals(data[i]!), `event ${i} replayed`);
  t.false(await store.exists(C, journalOid(6)));
  t.deepEqual(await store.fsck(), []);
  // The store keeps working at the new write position, and it all survives a remount.
  await store.queueTransaction(new Transaction().write(C, journalOid(6), 0, data[6]!));
  await store.close();
  const { store: again } = await remount(medium, 14);
  t.true((await again.read(C, journalOid(6))).equals(data[6]!));
  t.deepEqual(await again.fsck({ deep: true }), []);
  await again.close();
});

// ---------------------------------------------------------------------------------------------
// (d) superblocks

const sbOid = (i: number): ObjectId => ({ pool: 1, name: `sb-${i}` });

/**
 * Objects 0-2 committed before checkpoint g-1, objects 3-5 after it (in the journal) and in
 * checkpoint g, written at close. Returns the generations and where each copy lives.
 */
async function twoGenerations(seed: number): Promise<{ medium: MemDevice; data: Buffer[]; newest: Superblock; older: Superblock }> {
  const { medium, store } = await setup(seed);
  const random = new Random(seed);
  const data: Buffer[] = [];
  for (let i = 0; i < 6; i++) {
    data.push(random.bytes(1500 + i * 700));
    await store.queueTransaction(new Transaction().write(C, sbOid(i), 0, data[i]!));
    if (i === 2) await store.checkpoint();
  }
  await store.close();
  const copies = SUPERBLOCK_OFFSETS.map((offset) => {
    const bytes = Buffer.alloc(BLOCK);
    medium.readSync(offset, bytes);
    return decodeSuperblock(bytes, `offset ${offset}`);
  }).sort((a, b) => b.generation - a.generation);
  return { medium, data, newest: copies[0]!, older: copies[1]! };
}

async function expectAll(t: { true: (v: boolean, m?: string) => void }, store: EbofsStore, data: Buffer[]): Promise<void> {
  for (const [i, bytes] of data.entries()) t.true((await store.read(C, sbOid(i))).equals(bytes), `object ${i}`);
}

test('a flipped bit in the newest superblock copy: mount uses the older copy plus journal replay', async (t) => {
  const { medium, data, newest, older } = await twoGenerations(20);
  t.is(newest.generation, older.generation + 1);
  t.true(older.replaySeq < newest.replaySeq, 'the older copy replays the journal after it');
  const device = new FaultDevice(medium, { seed: 21 });
  const newestOffset = SUPERBLOCK_OFFSETS[newest.generation % 2]!;
  device.flipBit(newestOffset + 40, 2); // the block-size field
  const store = await open(device, QUIET);
  await expectAll(t, store, data); // 0-2 from the older generation, 3-5 replayed from the journal
  t.deepEqual(await store.fsck({ deep: true }), []);
  await store.close();
  const { store: again } = await remount(medium, 22);
  await expectAll(t, again, data);
  await again.close();
});

test('a flipped bit in the older superblock copy: mount uses the newest copy', async (t) => {
  const { medium, data, older } = await twoGenerations(23);
  const device = new FaultDevice(medium, { seed: 24 });
  device.flipBit(SUPERBLOCK_OFFSETS[older.generation % 2]! + 4092, 7); // the checksum itself
  const store = await open(device, QUIET);
  await expectAll(t, store, data);
  const damaged = SUPERBLOCK_OFFSETS[older.generation % 2]!;
  t.deepEqual((await store.fsck({ deep: true })).map((f) => `${f.code} ${f.location}`), [`ECHECKSUM superblock at offset ${damaged}`]);
  await store.close();
});

// fsck names a damaged superblock copy that mount skipped (superblock.ts: "mount ... ignores a
// damaged one (fsck reports it)"): it reads both copies back.
test('fsck reports a damaged superblock copy that mount skipped', async (t) => {
  const { medium, older } = await twoGenerations(27);
  const device = new FaultDevice(medium, { seed: 28 });
  const damagedOffset = SUPERBLOCK_OFFSETS[older.generation % 2]!;
  device.flipBit(damagedOffset + 300, 4);
  const store = await open(device, QUIET);
  const findings = await store.fsck();
  await store.close();
  t.true(findings.some((f) => f.location.includes('superblock')), JSON.stringify(findings));
});

test('both superblock copies damaged: mount fails with a typed CorruptionError', async (t) => {
  const { medium } = await twoGenerations(25);
  const device = new FaultDevice(medium, { seed: 26 });
  device.flipBit(SUPERBLOCK_OFFSETS[0] + 8, 0);
  device.flipBit(SUPERBLOCK_OFFSETS[1] + 200, 6);
  const err = await corruption(t, open(device, QUIET));
  t.is(err.code, 'ECORRUPT');
  t.is(err.location, 'superblocks');
  t.true(err.cause instanceof CorruptionError, 'the cause names a damaged copy');
});
