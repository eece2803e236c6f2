/**
 * bench clone: object clones in EbofsStore (a FileDevice store file: 16 GiB sparse, 128 MiB
 * journal, default checkpoint policy) against a plain copy of the same object through the store
 * and against raw file I/O on the same file system, in one run, systems rotated round by round.
 * Each ebofs system has its own store, so statfs deltas are its own.
 *
 * Workloads (every ebofs op awaits durability, i.e. the queueTransaction promise):
 * - clone 256MiB (--quick: 32 MiB): one transaction `clone(src -> dst)` of a fully written
 *   object. Peers: `ebofs copy`, the same through the store without sharing (read the source in
 *   8 MiB chunks, Ceph's osd_copyfrom_max_chunk, and write each chunk to the new object, one
 *   durable transaction per chunk); `copyFile`, fs.copyFile of a file of the same size on the
 *   same file system plus fdatasync of the copy; `write+fdatasync`, 4 MiB writes of the same
 *   bytes to a fresh file and one fdatasync.
 *   Metrics: `ms` until durable (the promise resolved / fdatasync returned); for ebofs `ms incl.
 *   checkpoint` (a checkpoint taken right after it, so data the store keeps only in memory and
 *   the journal until its next checkpoint is on the device too); `device B/logical B`, FileDevice
 *   `writeBytes` over the op and the checkpoints until the store settled (below), over the
 *   object size; `space B/logical B`, space used (statfs `allocated` + `internalMetadata`: data
 *   blocks and metadata pages) after settling minus before, over the object size.
 * - overwrite 4KiB of fresh clone: random block-aligned 4 KiB overwrites of the object the clone
 *   round just made (ebofs) / the copy the peer just made (`ebofs copy`) / the file copyFile just
 *   made (`write+fdatasync`: pwrite 4 KiB + fdatasync; same offsets). One client. Metrics: ops/s,
 *   p50/p99 ms, and for ebofs `device B/user B` and `space B/user B` over the ops plus settling.
 * - rbd snapshots 64MiB (--quick: 8 MiB): an RBD-like image: one object, random 4 KiB overwrites;
 *   every 64 writes a snapshot `clone(head -> head@snapK)` in the same collection, then a trim
 *   (separate transactions) removing all but the last 4 snapshots. Peers: `ebofs copy` (the
 *   snapshot is a plain copy through the store, as above) and `files` (the image is a file,
 *   writes are pwrite + fdatasync, a snapshot is fs.copyFile + fdatasync, a trim is unlink).
 *   Metrics: ops/s (user writes over the whole loop, snapshots and trims included); p50 ms of
 *   snapshots, writes (also p99) and trims; `device B/user B` (ebofs: device bytes of the loop
 *   and of settling after it, over 4 KiB x writes; the image's initial fill is not counted);
 *   `space B/logical B` (ebofs: space used after settling minus before the image was
 *   created; files: the sum of st_blocks x 512 of the live files) over the logical live bytes
 *   (the sizes of the head and the live snapshots), and the two sizes in MiB; for ebofs also
 *   `space B/logical B, 1 checkpoint`, measured after one checkpoint instead of settling (the
 *   space lazy reclamation has not yet returned).
 * Settling = checkpoints until nothing awaits lazy reclamation and statfs stops changing (a
 * single checkpoint when clone copies; more when a remove left garbage for the reclaimer).
 * Ratio rows "ebofs/<peer>" are paired: per round, then median, min and max over the rounds.
 * Times: lower is better; ops/s: higher is better. Full: 3 rounds; --quick: 1 round, small sizes.
 *
 * The bench measures whatever clone does in the store it runs against (a full data copy, or
 * shared extents): device bytes come from the device's counters, space from statfs. Contents are
 * checked after every round (sampled blocks of clones, the whole head and newest snapshot of the
 * image against an in-memory model), so a fast but wrong clone fails the run.
 */
import { copyFile, type FileHandle, mkdir, open as openFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Random } from '../common/random.js';
import { mkfs, open, type EbofsStore, type ObjectId, Transaction } from '../engine/index.js';
import { type Bench, type BenchRow, nowMs, type Sample, summarise } from './harness.js';
import { KIB, MIB, percentile } from './engine-raw.js';

const C = '1.0_head';
const STORE_BYTES = 16 * 1024 * MIB;
const JOURNAL_BYTES = 128 * MIB;
/** Chunk of the plain copy through the store (Ceph's osd_copyfrom_max_chunk). */
const COPY_CHUNK = 8 * MIB;
const FILL_CHUNK = 4 * MIB;
const BLOCK = 4 * KIB;
const SNAP_EVERY = 64;
const SNAP_KEEP = 4;
const VERIFY_BLOCKS = 64;
/** clone needs source and target in one placement: the clone workload's objects share this hash. */
const SOURCE_HASH = 0x5eed;

interface Sizes {
  rounds: number;
  cloneBytes: number;
  overwrites: number;
  imageBytes: number;
  snapWrites: number;
}

const FULL: Sizes = { rounds: 3, cloneBytes: 256 * MIB, overwrites: 2048, imageBytes: 64 * MIB, snapWrites: 2048 };
const QUICK: Sizes = { rounds: 1, cloneBytes: 32 * MIB, overwrites: 256, imageBytes: 8 * MIB, snapWrites: 512 };

const UNITS: Record<string, string> = {
  ms: 'ms', 'ms incl. checkpoint': 'ms', 'device B/logical B': 'bytes/byte', 'space B/logical B': 'bytes/byte',
  'ops/s': 'ops/s', 'p50 ms': 'ms', 'p99 ms': 'ms', 'device B/user B': 'bytes/byte', 'space B/user B': 'bytes/byte',
  'space B/logical B, 1 checkpoint': 'bytes/byte',
  'snapshot p50 ms': 'ms', 'write p50 ms': 'ms', 'write p99 ms': 'ms', 'trim p50 ms': 'ms', 'space MiB': 'MiB', 'logical MiB': 'MiB',
};

/** One round of one system: a sample per workload it takes part in (`system` overrides its name). */
type RoundResult = { workload: string; system?: string; sample: Sample }[];

interface System {
  system: string;
  round: (round: number) => Promise<RoundResult>;
}

/** workload -> system -> samples (one per round, in round order). */
type Samples = Map<string, Map<string, Sample[]>>;

/** Runs `rounds` rounds of every system, rotating who goes first (as harness.interleave does). */
async function runRounds(systems: System[], rounds: number, samples: Samples, log: (line: string) => void): Promise<void> {
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < systems.length; k++) {
      const sut = systems[(r + k) % systems.length]!;
      const result = await sut.round(r);
      for (const { workload, system = sut.system, sample } of result) {
        const bySystem = samples.get(workload) ?? new Map<string, Sample[]>();
        bySystem.set(system, [...(bySystem.get(system) ?? []), sample]);
        samples.set(workload, bySystem);
      }
      log(`round ${r + 1}/${rounds} ${sut.system}: ${result.map((x) => x.workload).join(', ')}`);
    }
  }
}

/** A paired ratio: `ebofs`'s metric over `peer`'s `peerMetric` (default: the same metric). */
interface RatioSpec {
  workload: string;
  peer: string;
  metrics: (string | [string, string])[];
}

function rowsOf(samples: Samples, ratios: RatioSpec[]): BenchRow[] {
  const rows: BenchRow[] = [];
  for (const [workload, bySystem] of samples) {
    for (const [system, list] of bySystem) {
      const metrics = new Set(list.flatMap((s) => Object.keys(s)));
      for (const metric of metrics) {
        const values = list.map((s) => s[metric]).filter((v): v is number => v !== undefined && Number.isFinite(v));
        rows.push(summarise(workload, system, metric, UNITS[metric] ?? metric, values));
      }
    }
  }
  for (const { workload, peer, metrics } of ratios) {
    const mine = samples.get(workload)?.get('ebofs') ?? [];
    const theirs = samples.get(workload)?.get(peer) ?? [];
    for (const spec of metrics) {
      const [metric, peerMetric] = typeof spec === 'string' ? [spec, spec] : spec;
      const values = mine.map((m, r) => (m[metric] ?? NaN) / (theirs[r]?.[peerMetric] ?? NaN)).filter(Number.isFinite);
      if (values.length > 0) rows.push(summarise(workload, `ebofs/${peer}`, metric, 'ratio', values));
    }
  }
  return rows;
}

// ---- ebofs helpers ----

const deviceBytes = (store: EbofsStore): number => store.state.device.stats().writeBytes;
/**
 * Bytes the store holds: statfs `allocated` + `internalMetadata` (data blocks and metadata
 * pages; stores whose statfs counts everything in `allocated` report 0 metadata).
 */
const allocatedBytes = async (store: EbofsStore): Promise<number> => {
  const s = await store.statfs();
  return s.allocated + s.internalMetadata;
};
const SETTLE_CHECKPOINTS_MAX = 256;

/** Garbage records awaiting lazy reclamation (the dead tree; absent in stores without it). */
function pendingGarbage(store: EbofsStore): number {
  const trees = store.state.trees as unknown as Partial<Record<string, { current: { count: number } }>>;
  return trees['dead']?.current.count ?? 0;
}

/**
 * Checkpoints until nothing awaits lazy reclamation and statfs stopped changing (deferred frees
 * released), so space is measured in a steady state and no round inherits another's garbage.
 * Returns the number of checkpoints taken.
 */
async function settle(store: EbofsStore): Promise<number> {
  let before = await allocatedBytes(store);
  for (let n = 1; n <= SETTLE_CHECKPOINTS_MAX; n++) {
    await store.checkpoint();
    const after = await allocatedBytes(store);
    if (after === before && pendingGarbage(store) === 0) return n;
    before = after;
  }
  throw new Error(`bench clone: the store did not settle in ${SETTLE_CHECKPOINTS_MAX} checkpoints`);
}

async function mountStore(path: string): Promise<EbofsStore> {
  await mkfs(path, { sizeBytes: STORE_BYTES, journalBytes: JOURNAL_BYTES });
  const store = await open(path);
  await store.queueTransaction(new Transaction().createCollection(C, 0));
  return store;
}

/** Writes `data` to a new object in FILL_CHUNK transactions (setup, not timed). */
async function fillObject(store: EbofsStore, oid: ObjectId, data: Buffer): Promise<void> {
  for (let at = 0; at < data.byteLength; at += FILL_CHUNK) {
    await store.queueTransaction(new Transaction().write(C, oid, at, data.subarray(at, Math.min(data.byteLength, at + FILL_CHUNK))));
  }
}

/** The plain copy through the store: read COPY_CHUNK, write it to `dst`, each write durable. */
async function copyObject(store: EbofsStore, src: ObjectId, dst: ObjectId, bytes: number): Promise<void> {
  for (let at = 0; at < bytes; at += COPY_CHUNK) {
    const data = await store.read(C, src, at, Math.min(COPY_CHUNK, bytes - at));
    await store.queueTransaction(new Transaction().write(C, dst, at, data));
  }
}

type Snapshotter = (store: EbofsStore, src: ObjectId, dst: ObjectId, bytes: number) => Promise<void>;
const byClone: Snapshotter = async (store, src, dst) => { await store.queueTransaction(new Transaction().clone(C, src, dst)); };
const byCopy: Snapshotter = copyObject;

/** Compares `VERIFY_BLOCKS` random blocks (and the first and last) of two objects. */
async function verifySampled(store: EbofsStore, a: ObjectId, b: ObjectId, bytes: number, rng: Random): Promise<void> {
  const blocks = bytes / BLOCK;
  const picks = [0, blocks - 1, ...Array.from({ length: VERIFY_BLOCKS }, () => rng.int(blocks))];
  for (const block of picks) {
    const [x, y] = await Promise.all([store.read(C, a, block * BLOCK, BLOCK), store.read(C, b, block * BLOCK, BLOCK)]);
    if (!x.equals(y)) throw new Error(`bench clone: block ${block} of the clone differs from its source`);
  }
}

async function verifyWhole(store: EbofsStore, oid: ObjectId, model: Buffer, what: string): Promise<void> {
  for (let at = 0; at < model.byteLength; at += COPY_CHUNK) {
    const n = Math.min(COPY_CHUNK, model.byteLength - at);
    const back = await store.read(C, oid, at, n);
    if (!back.equals(model.subarray(at, at + n))) throw new Error(`bench clone: ${what} differs from the model near offset ${at}`);
  }
}

/** A 4 KiB block whose first bytes carry a counter, so consecutive writes differ. */
function stamped(base: Buffer, n: number): Buffer {
  const block = Buffer.from(base);
  block.writeUInt32LE(n >>> 0, 0);
  return block;
}

/** The clone round then the overwrite round of one ebofs system, on a fresh target object. */
async function ebofsCloneRound(
  store: EbofsStore, make: Snapshotter, src: ObjectId, bytes: number, overwrites: number, round: number,
  names: { clone: string; overwrite: string },
): Promise<RoundResult> {
  const dst: ObjectId = { pool: 1, name: `copy-${round}`, hash: SOURCE_HASH };
  await settle(store);
  const d0 = deviceBytes(store);
  const a0 = await allocatedBytes(store);
  const t0 = nowMs();
  await make(store, src, dst, bytes);
  const t1 = nowMs();
  await store.checkpoint();
  const t2 = nowMs();
  await settle(store);
  const clone: Sample = {
    ms: t1 - t0,
    'ms incl. checkpoint': t2 - t0,
    'device B/logical B': (deviceBytes(store) - d0) / bytes,
    'space B/logical B': (await allocatedBytes(store) - a0) / bytes,
  };
  const rng = new Random(1000 + round);
  await verifySampled(store, src, dst, bytes, rng.fork());

  const base = rng.bytes(BLOCK);
  const d1 = deviceBytes(store);
  const a1 = await allocatedBytes(store);
  const latencies: number[] = [];
  const start = nowMs();
  for (let i = 0; i < overwrites; i++) {
    const at = rng.int(bytes / BLOCK) * BLOCK;
    const s = nowMs();
    await store.queueTransaction(new Transaction().write(C, dst, at, stamped(base, i)));
    latencies.push(nowMs() - s);
  }
  const secs = (nowMs() - start) / 1000;
  await settle(store);
  const userBytes = overwrites * BLOCK;
  const overwrite: Sample = {
    'ops/s': overwrites / secs,
    'p50 ms': percentile(latencies, 50),
    'p99 ms': percentile(latencies, 99),
    'device B/user B': (deviceBytes(store) - d1) / userBytes,
    'space B/user B': (await allocatedBytes(store) - a1) / userBytes,
  };
  await store.queueTransaction(new Transaction().remove(C, dst));
  await settle(store);
  return [{ workload: names.clone, sample: clone }, { workload: names.overwrite, sample: overwrite }];
}

/** One round of the RBD-like snapshot workload on an ebofs store. */
async function ebofsSnapshotRound(
  store: EbofsStore, make: Snapshotter, sizes: Sizes, round: number, workload: string, log: (line: string) => void,
): Promise<RoundResult> {
  const rng = new Random(2000 + round);
  const name = `rbd_data.${round}`;
  const head: ObjectId = { pool: 1, name };
  const snapOid = (k: number): ObjectId => ({ pool: 1, name, snap: k });
  await settle(store);
  const a0 = await allocatedBytes(store);
  const model = rng.bytes(sizes.imageBytes);
  await fillObject(store, head, model);
  await settle(store);
  const d0 = deviceBytes(store);

  const base = rng.bytes(BLOCK);
  const live: number[] = [];
  const snapMs: number[] = [];
  const writeMs: number[] = [];
  const trimMs: number[] = [];
  let newestSnapModel: Buffer | undefined;
  const start = nowMs();
  for (let i = 1; i <= sizes.snapWrites; i++) {
    const at = rng.int(sizes.imageBytes / BLOCK) * BLOCK;
    const block = stamped(base, i);
    const w = nowMs();
    await store.queueTransaction(new Transaction().write(C, head, at, block));
    writeMs.push(nowMs() - w);
    block.copy(model, at);
    if (i % SNAP_EVERY === 0) {
      const k = i / SNAP_EVERY;
      const s = nowMs();
      await make(store, head, snapOid(k), sizes.imageBytes);
      snapMs.push(nowMs() - s);
      live.push(k);
      newestSnapModel = Buffer.from(model);
      while (live.length > SNAP_KEEP) {
        const t = nowMs();
        await store.queueTransaction(new Transaction().remove(C, snapOid(live.shift()!)));
        trimMs.push(nowMs() - t);
      }
    }
  }
  const secs = (nowMs() - start) / 1000;
  await store.checkpoint();
  const logical = sizes.imageBytes * (1 + live.length);
  const spaceAtOnce = await allocatedBytes(store) - a0;
  const checkpoints = 1 + await settle(store);
  const space = await allocatedBytes(store) - a0;
  const sample: Sample = {
    'ops/s': sizes.snapWrites / secs,
    'snapshot p50 ms': percentile(snapMs, 50),
    'write p50 ms': percentile(writeMs, 50),
    'write p99 ms': percentile(writeMs, 99),
    'trim p50 ms': percentile(trimMs, 50),
    'device B/user B': (deviceBytes(store) - d0) / (sizes.snapWrites * BLOCK),
    'space B/logical B': space / logical,
    'space B/logical B, 1 checkpoint': spaceAtOnce / logical,
    'space MiB': space / MIB,
    'logical MiB': logical / MIB,
  };
  await verifyWhole(store, head, model, 'the image head');
  if (newestSnapModel !== undefined) await verifyWhole(store, snapOid(live[live.length - 1]!), newestSnapModel, 'the newest snapshot');
  const cleanup = new Transaction().remove(C, head);
  for (const k of live) cleanup.remove(C, snapOid(k));
  await store.queueTransaction(cleanup);
  await settle(store);
  log(`${workload} round ${round + 1}: ${checkpoints} checkpoint(s) to settle after the loop`);
  return [{ workload, sample }];
}

// ---- raw file peers ----

async function writeFileDurably(path: string, data: Buffer): Promise<void> {
  const file = await openFile(path, 'w', 0o600);
  try {
    for (let at = 0; at < data.byteLength; at += FILL_CHUNK) {
      await file.write(data, at, Math.min(FILL_CHUNK, data.byteLength - at), at);
    }
    await file.datasync();
  } finally {
    await file.close();
  }
}

async function datasyncPath(path: string): Promise<void> {
  const file = await openFile(path, 'r+');
  try {
    await file.datasync();
  } finally {
    await file.close();
  }
}

/** fs.copyFile + fdatasync of the copy (a durable file copy). */
async function durableCopy(src: string, dst: string): Promise<void> {
  await copyFile(src, dst);
  await datasyncPath(dst);
}

async function pwriteSync(file: FileHandle, block: Buffer, at: number): Promise<void> {
  await file.write(block, 0, block.byteLength, at);
  await file.datasync();
}

async function rawCloneRound(
  dir: string, src: string, bytes: number, overwrites: number, round: number, names: { clone: string; overwrite: string },
): Promise<RoundResult> {
  const dst = join(dir, `copy-${round}.img`);
  await rm(dst, { force: true });
  const t0 = nowMs();
  await durableCopy(src, dst);
  const clone: Sample = { ms: nowMs() - t0 };
  const rng = new Random(1000 + round);
  rng.fork(); // as ebofsCloneRound's verification does, so both overwrite the same offsets
  const base = rng.bytes(BLOCK);
  const file = await openFile(dst, 'r+');
  const latencies: number[] = [];
  const start = nowMs();
  try {
    for (let i = 0; i < overwrites; i++) {
      const at = rng.int(bytes / BLOCK) * BLOCK;
      const s = nowMs();
      await pwriteSync(file, stamped(base, i), at);
      latencies.push(nowMs() - s);
    }
  } finally {
    await file.close();
  }
  const secs = (nowMs() - start) / 1000;
  await rm(dst, { force: true });
  return [
    { workload: names.clone, sample: clone },
    {
      // The overwrites of the copied file are the raw peer of the overwrite workload.
      workload: names.overwrite, system: 'write+fdatasync',
      sample: { 'ops/s': overwrites / secs, 'p50 ms': percentile(latencies, 50), 'p99 ms': percentile(latencies, 99) },
    },
  ];
}

async function rawWriteRound(dir: string, data: Buffer, round: number, workload: string): Promise<RoundResult> {
  const dst = join(dir, `write-${round}.img`);
  await rm(dst, { force: true });
  const t0 = nowMs();
  await writeFileDurably(dst, data);
  const ms = nowMs() - t0;
  await rm(dst, { force: true });
  return [{ workload, sample: { ms } }];
}

async function fileSnapshotRound(dir: string, sizes: Sizes, round: number, workload: string): Promise<RoundResult> {
  const rng = new Random(2000 + round);
  const roundDir = join(dir, `rbd-${round}`);
  await mkdir(roundDir, { recursive: true });
  const headPath = join(roundDir, 'head.img');
  const snapPath = (k: number): string => join(roundDir, `snap-${k}.img`);
  const model = rng.bytes(sizes.imageBytes);
  await writeFileDurably(headPath, model);
  const base = rng.bytes(BLOCK);
  const live: number[] = [];
  const snapMs: number[] = [];
  const writeMs: number[] = [];
  const trimMs: number[] = [];
  const head = await openFile(headPath, 'r+');
  const start = nowMs();
  try {
    for (let i = 1; i <= sizes.snapWrites; i++) {
      const at = rng.int(sizes.imageBytes / BLOCK) * BLOCK;
      const w = nowMs();
      await pwriteSync(head, stamped(base, i), at);
      writeMs.push(nowMs() - w);
      if (i % SNAP_EVERY === 0) {
        const k = i / SNAP_EVERY;
        const s = nowMs();
        await durableCopy(headPath, snapPath(k));
        snapMs.push(nowMs() - s);
        live.push(k);
        while (live.length > SNAP_KEEP) {
          const t = nowMs();
          await rm(snapPath(live.shift()!));
          trimMs.push(nowMs() - t);
        }
      }
    }
  } finally {
    await head.close();
  }
  const secs = (nowMs() - start) / 1000;
  let space = 0;
  for (const path of [headPath, ...live.map(snapPath)]) space += (await stat(path)).blocks * 512;
  const logical = sizes.imageBytes * (1 + live.length);
  await rm(roundDir, { recursive: true, force: true });
  return [{
    workload,
    sample: {
      'ops/s': sizes.snapWrites / secs,
      'snapshot p50 ms': percentile(snapMs, 50),
      'write p50 ms': percentile(writeMs, 50),
      'write p99 ms': percentile(writeMs, 99),
      'trim p50 ms': percentile(trimMs, 50),
      'space B/logical B': space / logical,
      'space MiB': space / MIB,
      'logical MiB': logical / MIB,
    },
  }];
}

const bench: Bench = {
  describe: 'EbofsStore clone: 256 MiB clone, 4 KiB overwrites of a fresh clone, RBD-like snapshots vs a plain copy and raw files',
  async run(ctx) {
    const sizes = ctx.quick ? QUICK : FULL;
    const cloneWorkload = `clone ${sizes.cloneBytes / MIB}MiB`;
    const overwriteWorkload = 'overwrite 4KiB of fresh clone';
    const snapWorkload = `rbd snapshots ${sizes.imageBytes / MIB}MiB`;
    const names = { clone: cloneWorkload, overwrite: overwriteWorkload };
    ctx.log(`${sizes.rounds} round(s); clone ${sizes.cloneBytes / MIB} MiB; ${sizes.overwrites} overwrites; `
      + `image ${sizes.imageBytes / MIB} MiB, ${sizes.snapWrites} writes, snapshot every ${SNAP_EVERY}, keep ${SNAP_KEEP}`);

    const rawDir = join(ctx.scratchDir, 'raw');
    await mkdir(rawDir, { recursive: true });
    const stores = {
      clone: await mountStore(join(ctx.scratchDir, 'clone.img')),
      copy: await mountStore(join(ctx.scratchDir, 'copy.img')),
    };
    const samples: Samples = new Map();
    try {
      const source = new Random(42).bytes(sizes.cloneBytes);
      const src: ObjectId = { pool: 1, name: 'source', hash: SOURCE_HASH };
      const srcPath = join(rawDir, 'source.img');
      await fillObject(stores.clone, src, source);
      await fillObject(stores.copy, src, source);
      await writeFileDurably(srcPath, source);
      await runRounds([
        { system: 'ebofs', round: (r) => ebofsCloneRound(stores.clone, byClone, src, sizes.cloneBytes, sizes.overwrites, r, names) },
        { system: 'ebofs copy', round: (r) => ebofsCloneRound(stores.copy, byCopy, src, sizes.cloneBytes, sizes.overwrites, r, names) },
        { system: 'copyFile', round: (r) => rawCloneRound(rawDir, srcPath, sizes.cloneBytes, sizes.overwrites, r, names) },
        { system: 'write+fdatasync', round: (r) => rawWriteRound(rawDir, source, r, cloneWorkload) },
      ], sizes.rounds, samples, ctx.log);
      await runRounds([
        { system: 'ebofs', round: (r) => ebofsSnapshotRound(stores.clone, byClone, sizes, r, snapWorkload, ctx.log) },
        { system: 'ebofs copy', round: (r) => ebofsSnapshotRound(stores.copy, byCopy, sizes, r, snapWorkload, ctx.log) },
        { system: 'files', round: (r) => fileSnapshotRound(rawDir, sizes, r, snapWorkload) },
      ], sizes.rounds, samples, ctx.log);
      for (const [label, store] of Object.entries(stores)) {
        const findings = await store.fsck();
        ctx.log(`fsck of the ${label} store: ${findings.length === 0 ? 'clean' : JSON.stringify(findings.slice(0, 5))}`);
      }
    } finally {
      await stores.clone.close();
      await stores.copy.close();
    }
    return rowsOf(samples, [
      { workload: cloneWorkload, peer: 'ebofs copy', metrics: ['ms', 'ms incl. checkpoint', 'device B/logical B', 'space B/logical B'] },
      { workload: cloneWorkload, peer: 'copyFile', metrics: ['ms', ['ms incl. checkpoint', 'ms']] },
      { workload: cloneWorkload, peer: 'write+fdatasync', metrics: ['ms', ['ms incl. checkpoint', 'ms']] },
      { workload: overwriteWorkload, peer: 'ebofs copy', metrics: ['ops/s', 'device B/user B', 'space B/user B'] },
      { workload: overwriteWorkload, peer: 'write+fdatasync', metrics: ['ops/s'] },
      { workload: snapWorkload, peer: 'ebofs copy', metrics: ['ops/s', 'snapshot p50 ms', 'device B/user B', 'space B/logical B'] },
      { workload: snapWorkload, peer: 'files', metrics: ['ops/s', 'snapshot p50 ms', 'write p50 ms', 'space B/logical B'] },
    ]);
  },
};
export default bench;
