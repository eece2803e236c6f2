/**
 * Goal: clone and cloneRange share data blocks on the on-disk engine (issue 6): a clone costs
 * metadata, not data I/O or space; the first write to a shared range copies only the blocks it
 * touches; each clone reads back its own bytes under any interleaving; removing the last
 * reference frees the space; cloneDiff names exactly the blocks written since the clone; fsck
 * checks reference counts exactly. A seeded clone-heavy model test against MemStore covers the
 * interleavings (seed printed; EBOFS_SEED replays; EBOFS_FSCK_EACH=1 checks after every step and
 * EBOFS_TRACE=1 logs each transaction, to find the first bad one).
 */
import test, { type ExecutionContext } from 'ava';
import { MemDevice } from '../../../engine/device/index.js';
import { mkfs, open, type EbofsOptions } from '../../../engine/lifecycle.js';
import { MemStore } from '../../../engine/memstore.js';
import { Transaction } from '../../../engine/transaction.js';
import { dumpStoreState, type ObjectStore } from '../../../engine/types-store.js';
import { Random, freshSeed } from '../../../common/random.js';
import { encodeRef } from '../../../engine/refs.js';

const C = '1.0_head';
const MiB = 1024 * 1024;
const QUIET: EbofsOptions = { checkpoint: { intervalMs: 0 } };
const obj = (name: string, snap?: number): { pool: number; name: string; snap?: number } => ({ pool: 1, name, ...(snap === undefined ? {} : { snap }) });

async function fresh(sizeBytes = 256 * MiB, options: EbofsOptions = QUIET) {
  const device = new MemDevice(sizeBytes);
  await mkfs(device, { journalBytes: 16 * MiB });
  const dev = device.reopen();
  const store = await open(dev, options);
  await store.queueTransaction(new Transaction().createCollection(C, 0));
  return { store, dev, device };
}

test('a clone of a 32 MiB object writes metadata only and shares its space', async (t) => {
  const { store, dev } = await fresh();
  const data = new Random(1).bytes(32 * MiB);
  await store.queueTransaction(new Transaction().write(C, obj('head'), 0, data));
  await store.checkpoint();
  const before = dev.stats().writeBytes;
  const usedBefore = (await store.statfs()).allocated;
  await store.queueTransaction(new Transaction().clone(C, obj('head'), obj('head', 1)));
  await store.checkpoint();
  const written = dev.stats().writeBytes - before;
  t.true(written < 2 * MiB, `clone wrote ${written} bytes`);
  t.true((await store.statfs()).allocated - usedBefore < MiB, 'clone takes no data space');
  t.true((await store.read(C, obj('head', 1))).equals(data));
  t.deepEqual(await store.cloneDiff(C, obj('head'), obj('head', 1)), []);
  const fs = await store.statfs();
  t.is(fs.allocated, 32 * MiB, 'statfs: the data blocks once');
  t.is(fs.dataStored, 64 * MiB, 'statfs: both objects\' logical bytes');
  t.deepEqual(await store.fsck({ deep: true }), []);
  await store.close();
});

test('overwrites of a clone copy only the touched blocks; each side keeps its bytes', async (t) => {
  const { store } = await fresh();
  const data = new Random(2).bytes(8 * MiB);
  await store.queueTransaction(new Transaction().write(C, obj('a'), 0, data).clone(C, obj('a'), obj('a', 1)));
  await store.checkpoint();
  const used = (await store.statfs()).allocated;
  const patch = Buffer.alloc(100, 0xee);
  await store.queueTransaction(new Transaction().write(C, obj('a', 1), 4096 * 10 + 5, patch));
  await store.queueTransaction(new Transaction().write(C, obj('a'), 4096 * 700, Buffer.alloc(4096, 1)));
  await store.checkpoint();
  t.true((await store.statfs()).allocated - used < 256 * 1024, 'two small overwrites take two blocks plus metadata');
  const expectA = Buffer.from(data);
  expectA.fill(1, 4096 * 700, 4096 * 701);
  const expectB = Buffer.from(data);
  patch.copy(expectB, 4096 * 10 + 5);
  t.true((await store.read(C, obj('a'))).equals(expectA));
  t.true((await store.read(C, obj('a', 1))).equals(expectB));
  t.deepEqual(await store.cloneDiff(C, obj('a'), obj('a', 1)), [{ offset: 4096 * 10, length: 4096 }, { offset: 4096 * 700, length: 4096 }]);
  t.deepEqual(await store.fsck({ deep: true }), []);
  await store.close();
});

test('removing clones frees shared space only with the last reference (snapshot trimming)', async (t) => {
  const { store } = await fresh(256 * MiB, { checkpoint: { intervalMs: 0, reclaimStepRecords: 1 << 20 } });
  await store.checkpoint();
  const base = (await store.statfs()).allocated;
  const data = new Random(3).bytes(4 * MiB);
  await store.queueTransaction(new Transaction().write(C, obj('h'), 0, data).clone(C, obj('h'), obj('h', 1)).clone(C, obj('h'), obj('h', 2)));
  await store.queueTransaction(new Transaction().remove(C, obj('h')));
  await store.checkpoint();
  await store.checkpoint();
  t.true((await store.statfs()).allocated - base >= 4 * MiB, 'snapshots still hold the data');
  t.true((await store.read(C, obj('h', 2))).equals(data));
  await store.queueTransaction(new Transaction().remove(C, obj('h', 1)).remove(C, obj('h', 2)));
  await store.checkpoint();
  await store.checkpoint();
  t.true((await store.statfs()).allocated - base < 256 * 1024, 'the last removal frees the data');
  t.is(store.state.trees.refs.current.count, 0, 'no reference counts left');
  t.is(store.state.trees.dead.current.count, 0, 'nothing left to reclaim');
  t.deepEqual(await store.fsck(), []);
  await store.close();
});

test('cloneRange shares whole blocks when offsets align and copies otherwise', async (t) => {
  const { store } = await fresh();
  const mem = new MemStore();
  await mem.queueTransaction(new Transaction().createCollection(C, 0));
  const data = new Random(4).bytes(2 * MiB + 77);
  const t1 = new Transaction().write(C, obj('s'), 0, data).cloneRange(C, obj('s'), obj('d'), 100, MiB, 8292)
    .cloneRange(C, obj('s'), obj('e'), 5, 3 * 4096, 1).truncate(C, obj('s'), 3 * 4096).cloneRange(C, obj('s'), obj('d'), 0, 3 * 4096, 0);
  await store.queueTransaction(t1);
  await mem.queueTransaction(Transaction.fromOps(t1.ops));
  await store.checkpoint();
  t.is(await dumpStoreState(store), await dumpStoreState(mem));
  t.deepEqual(await store.fsck({ deep: true }), []);
  await store.close();
});

test('fsck names a reference count that does not match the extent records', async (t) => {
  const { store } = await fresh();
  await store.queueTransaction(new Transaction().write(C, obj('a'), 0, Buffer.alloc(64 * 1024, 1)).clone(C, obj('a'), obj('a', 1)));
  t.deepEqual(await store.fsck(), []);
  const [entry] = [...store.state.trees.refs.current.range()];
  t.truthy(entry, 'the clone shares through one refs entry');
  const tamper = (value: Buffer | undefined): void => {
    const batch = store.state.trees.refs.begin();
    if (value === undefined) batch.delete(entry!.key);
    else batch.put(entry!.key, value);
    batch.commit();
  };
  const wrong = encodeRef(16, 3);
  tamper(wrong);
  const findings = await store.fsck();
  t.true(findings.some((f) => f.code === 'ECORRUPT' && /refs tree says 3 references/.test(f.message)), JSON.stringify(findings));
  tamper(undefined);
  const missing = await store.fsck();
  t.true(missing.some((f) => /mapped by 2 extent record\(s\) but the refs tree says nothing/.test(f.message)), JSON.stringify(missing));
  await store.close();
});

/** One random clone-heavy op on objects o0..o3 and their snaps. */
function randomOp(r: Random, t: Transaction): void {
  const a = obj(`o${r.int(3)}`, r.chance(0.3) ? r.int(3) : undefined);
  const b = obj(`o${r.int(3)}`, r.chance(0.5) ? r.int(3) : undefined);
  const off = r.chance(0.5) ? r.int(64) * 4096 : r.int(300_000);
  const len = r.chance(0.2) ? r.int(300_000) : r.range(1, 20_000);
  try {
    switch (r.int(8)) {
      case 0: case 1: t.write(C, a, off, r.bytes(len)); break;
      case 2: t.zero(C, a, off, len); break;
      case 3: t.truncate(C, a, off); break;
      case 4: t.clone(C, a, b); break;
      case 5: {
        // Offsets agreeing modulo 4 KiB or 64 KiB (sharing on either geometry), or not at all.
        const unit = r.pick([4096, 65536]);
        const source = r.chance(0.5) ? r.int(4) * unit : r.int(40_000);
        t.cloneRange(C, a, b, source, r.int(200_000), r.chance(0.5) ? r.int(4) * unit : off);
        break;
      }
      case 6: t.remove(C, a); break;
      default: t.write(C, a, off, r.bytes(r.range(64 * 1024, 300_000))); break;
    }
  } catch { /* builder refusals (a clone onto itself) add nothing */ }
}

/** cloneDiff may over-report but must cover every byte that differs between two objects. */
async function checkDiffs(t: ExecutionContext, store: ObjectStore, label: string): Promise<void> {
  const { objects } = await store.listObjects(C);
  for (const a of objects) {
    for (const b of objects) {
      const diff = await store.cloneDiff(C, a, b);
      const x = await store.read(C, a);
      const y = await store.read(C, b);
      const covered = (i: number): boolean => diff.some((d) => i >= d.offset && i < d.offset + d.length);
      for (let i = 0; i < Math.max(x.length, y.length); i++) {
        if (x[i] !== y[i] && !covered(i)) {
          t.fail(`${label}: byte ${i} differs between ${a.name}/${a.snap} and ${b.name}/${b.snap} but cloneDiff misses it`);
          return;
        }
      }
    }
  }
}

const GEOMETRIES: readonly [string, EbofsOptions][] = [
  ['', {}], [' (allocUnit 64K, csumBlock 16K)', { allocUnitBytes: 64 * 1024, csumBlockBytes: 16 * 1024 }],
  [' (allocUnit 4K, csumBlock 64K)', { allocUnitBytes: 4096, csumBlockBytes: 64 * 1024 }],
];

for (const [label, geometry] of GEOMETRIES) test(`clone-heavy random transactions match MemStore, through remounts, with exact refcounts${label}`, async (t) => {
  const seed = process.env['EBOFS_SEED'] !== undefined ? Number(process.env['EBOFS_SEED']) : freshSeed();
  t.log(`seed ${seed} (EBOFS_SEED=${seed} replays)`);
  const r = new Random(seed);
  const device = new MemDevice(256 * MiB);
  await mkfs(device, { journalBytes: 4 * MiB, ...geometry });
  let ebofs = await open(device.reopen(), { checkpoint: { intervalMs: 0, reclaimStepRecords: 3, lazyRecordsMin: 2 } });
  const mem = new MemStore();
  const both = async (tx: Transaction): Promise<[string, string]> => {
    const run = (s: ObjectStore, x: Transaction) => s.queueTransaction(x).then(() => 'ok', (e: { code?: string }) => String(e.code));
    return [await run(ebofs, tx), await run(mem, Transaction.fromOps(tx.ops))];
  };
  await both(new Transaction().createCollection(C, 0));
  for (let step = 0; step < (label === '' ? 120 : 60); step++) {
    const tx = new Transaction();
    for (let n = r.range(1, 4); n > 0; n--) randomOp(r, tx);
    if (process.env['EBOFS_TRACE'] !== undefined) t.log(step, JSON.stringify(tx.ops.map((o) => ({ ...o, data: "data" in o ? o.data.byteLength : undefined })), (_k, v: unknown) => (typeof v === "bigint" ? String(v) : v)));
    const [x, y] = await both(tx);
    t.is(x, y, `seed ${seed} step ${step}: outcome`);
    if (step % 20 === 19 || process.env['EBOFS_FSCK_EACH'] !== undefined) {
      t.is(await dumpStoreState(ebofs), await dumpStoreState(mem), `seed ${seed} step ${step}: state`);
      t.deepEqual(await ebofs.fsck(), [], `seed ${seed} step ${step}: fsck`);
      await checkDiffs(t, ebofs, `seed ${seed} step ${step}`);
      await ebofs.close();
      ebofs = await open(device.reopen(), { checkpoint: { intervalMs: 0, reclaimStepRecords: 3, lazyRecordsMin: 2 } });
    }
  }
  t.is(await dumpStoreState(ebofs), await dumpStoreState(mem), `seed ${seed}: final state`);
  t.deepEqual(await ebofs.fsck({ deep: true }), []);
  await ebofs.close();
});
