/**
 * bench engine: the on-disk ObjectStore (EbofsStore on a FileDevice store file) against the raw
 * file system it sits on, in one run, rounds interleaved (harness.ts).
 *
 * Workloads (each op awaits durability, i.e. the queueTransaction promise):
 * - write 4KiB xN: N clients (1, 16) each writing new 4 KiB objects. Peer: N loops of
 *   { pwrite 4 KiB; fdatasync } on a plain file (engine-raw.ts).
 * - write 4MiB xN: N clients (1, 4) overwriting 4 MiB objects (a rotating set, copy-on-write).
 *   Peers: 4 MiB pwrites then one fdatasync (raw sequential bandwidth, the target's yardstick),
 *   and N loops of { pwrite 4 MiB; fdatasync } (the bound for writes that are each durable).
 * - read 4KiB xN: random 4 KiB reads of objects the write rounds made. Peer: random preads.
 * - pg-log xN: OSD-shaped ops: 4 KiB data write + ~250 B object-info xattr + a pg-log omap
 *   entry (31 B key, 150 B value) on the PG's meta object; every 64 ops an omapRmKeyRange trims
 *   the log to its last 512 entries. N clients = N PGs (one collection each).
 * Metrics: ops/s, MB/s (user bytes), latency p50/p99 (ms), and for the ebofs write workloads
 * device bytes written per user byte (FileDevice stats over the round plus a checkpoint
 * taken after it, so deferred small-write data and pages are charged to the round that made
 * them), and "sustained" ops/s and MB/s that count that checkpoint's time in the round's.
 * Ratio rows "ebofs/<peer>": ebofs over the peer per round (paired), summarised as median, min
 * and max over the rounds. Each workload starts with one discarded warm-up round per system
 * (not in --quick).
 *
 * Targets (issue 5): write 4KiB x1 ops/s >= 0.8x raw write+fdatasync; write 4MiB MB/s >= 0.8x
 * raw sequential.
 */
import { join } from 'node:path';
import { mkfs, open, type EbofsStore, Transaction, type ObjectId } from '../engine/index.js';
import { type Bench, type BenchRow, type Sample, type SystemUnderTest, interleave, nowMs, summarise } from './harness.js';
import {
  KIB, MIB, openRawFile, rateSample, rawReadRound, rawSequentialRound, rawWriteSyncRound, timedClients,
} from './engine-raw.js';

const C = '1.0_head';
const BIG_OBJECTS_PER_CLIENT = 16;
const PG_LOG_KEEP = 512;
const PG_LOG_TRIM_EVERY = 64;
const STORE_BYTES = 16 * 1024 * MIB;
const JOURNAL_BYTES = 128 * MIB;

const UNITS: Record<string, string> = {
  'ops/s': 'ops/s', 'MB/s': 'MB/s', 'p50 ms': 'ms', 'p99 ms': 'ms', 'device B/user B': 'bytes/byte',
  'sustained ops/s': 'ops/s', 'sustained MB/s': 'MB/s',
};
/** The peer metric an ebofs metric is compared with, where the names differ. */
const PEER_METRIC: Record<string, string> = { 'sustained ops/s': 'ops/s', 'sustained MB/s': 'MB/s' };

/**
 * Runs `interleave` and adds ratio rows ebofs/peer for `metrics`, computed per round (each
 * round's ebofs sample over the same round's peer sample) and summarised: on a shared, noisy
 * machine the paired ratio is far steadier than the ratio of two medians.
 */
async function compare(
  workload: string, systems: SystemUnderTest[], rounds: number, ratios: Record<string, string[]>, warmup: boolean,
): Promise<BenchRow[]> {
  // One discarded round per system first: the first round of a workload otherwise measures
  // V8 compiling the engine's code for it (a cold 4 KiB round ran at about 0.65x of a warm one).
  if (warmup) for (const sut of systems) await sut.round();
  const samples = new Map<string, Sample[]>();
  const recorded = systems.map((sut) => ({
    system: sut.system,
    round: async (): Promise<Sample> => {
      const sample = await sut.round();
      samples.set(sut.system, [...(samples.get(sut.system) ?? []), sample]);
      return sample;
    },
  }));
  const rows = await interleave(workload, recorded, rounds, UNITS);
  const mine = samples.get('ebofs') ?? [];
  for (const [peer, metrics] of Object.entries(ratios)) {
    const theirs = samples.get(peer) ?? [];
    for (const metric of metrics) {
      const peerMetric = PEER_METRIC[metric] ?? metric;
      const values = mine.map((m, r) => (m[metric] ?? NaN) / (theirs[r]?.[peerMetric] ?? NaN)).filter(Number.isFinite);
      rows.push(summarise(workload, `ebofs/${peer}`, metric, 'ratio', values));
    }
  }
  return rows;
}

/** The mounted store and what the write rounds left behind for the read rounds. */
interface Subject {
  store: EbofsStore;
  smallObjects: ObjectId[];
  nextObject: number;
  pgVersion: number[];
}

/**
 * Runs a timed ebofs round, then a checkpoint, and adds device bytes per user byte and the
 * sustained rates: ops (bytes) over the round's time plus the checkpoint's, so the deferred
 * small-write data and metadata the round left behind are paid for in the round.
 */
async function ebofsRound(
  s: Subject, clients: number, durationMs: number, bytesPerOp: number,
  op: (client: number, index: number) => Promise<void>,
): Promise<Sample> {
  const before = s.store.state.device.stats().writeBytes;
  const run = await timedClients(clients, durationMs, op);
  const checkpointStart = nowMs();
  await s.store.checkpoint();
  const secs = run.secs + (nowMs() - checkpointStart) / 1000;
  const deviceBytes = s.store.state.device.stats().writeBytes - before;
  return {
    ...rateSample(run, bytesPerOp),
    'sustained ops/s': run.ops / secs,
    'sustained MB/s': (run.ops * bytesPerOp) / secs / 1e6,
    'device B/user B': deviceBytes / (run.ops * bytesPerOp),
  };
}

function write4k(s: Subject, clients: number, durationMs: number): Promise<Sample> {
  const block = Buffer.alloc(4 * KIB, 0x11);
  return ebofsRound(s, clients, durationMs, block.byteLength, async () => {
    const oid = { pool: 1, name: `small-${s.nextObject++}` };
    await s.store.queueTransaction(new Transaction().write(C, oid, 0, block));
    s.smallObjects.push(oid);
  });
}

function write4m(s: Subject, clients: number, durationMs: number): Promise<Sample> {
  const data = Buffer.alloc(4 * MIB, 0x22);
  return ebofsRound(s, clients, durationMs, data.byteLength, async (client, i) => {
    const oid = { pool: 1, name: `big-${client}-${i % BIG_OBJECTS_PER_CLIENT}` };
    await s.store.queueTransaction(new Transaction().write(C, oid, 0, data));
  });
}

async function read4k(s: Subject, clients: number, durationMs: number, seed: number): Promise<Sample> {
  let state = seed >>> 0;
  const run = await timedClients(clients, durationMs, async () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    const oid = s.smallObjects[state % s.smallObjects.length]!;
    const back = await s.store.read(C, oid, 0, 4 * KIB);
    if (back.byteLength !== 4 * KIB) throw new Error(`short read of ${oid.name}`);
  });
  return rateSample(run, 4 * KIB);
}

const pgCollection = (pg: number): string => `2.${pg.toString(16)}_head`;
const pgMeta = (pg: number): ObjectId => ({ pool: 2, name: `pgmeta-${pg}`, hash: pg });
const pgLogKey = (version: number): string => `0000000012.${String(version).padStart(20, '0')}`;

/** One OSD client write: data + object info + pg-log entry, with a periodic log trim. */
function pgLog(s: Subject, clients: number, durationMs: number): Promise<Sample> {
  const block = Buffer.alloc(4 * KIB, 0x33);
  const info = Buffer.alloc(250, 0x44);
  const entry = Buffer.alloc(150, 0x55);
  return ebofsRound(s, clients, durationMs, block.byteLength, async (pg) => {
    const version = ++s.pgVersion[pg]!;
    const cid = pgCollection(pg);
    const oid = { pool: 2, name: `rbd_data.${pg}.${(version % 1024).toString(16).padStart(16, '0')}`, hash: pg };
    const t = new Transaction()
      .write(cid, oid, 0, block)
      .setattr(cid, oid, '_', info)
      .omapSetKeys(cid, pgMeta(pg), [[pgLogKey(version), entry]]);
    if (version % PG_LOG_TRIM_EVERY === 0 && version > PG_LOG_KEEP) {
      t.omapRmKeyRange(cid, pgMeta(pg), pgLogKey(0), pgLogKey(version - PG_LOG_KEEP));
    }
    await s.store.queueTransaction(t);
  });
}

async function mountSubject(path: string, pgs: number): Promise<Subject> {
  await mkfs(path, { sizeBytes: STORE_BYTES, journalBytes: JOURNAL_BYTES });
  const store = await open(path);
  const t = new Transaction().createCollection(C, 0);
  for (let pg = 0; pg < pgs; pg++) t.createCollection(pgCollection(pg), 0).touch(pgCollection(pg), pgMeta(pg));
  await store.queueTransaction(t);
  return { store, smallObjects: [], nextObject: 0, pgVersion: Array.from({ length: pgs }, () => 0) };
}

const bench: Bench = {
  describe: 'EbofsStore on a store file: 4 KiB / 4 MiB object writes, random reads, pg-log ops vs raw file I/O',
  async run(ctx) {
    const durationMs = ctx.roundMs ?? (ctx.quick ? 300 : 2000);
    const rounds = ctx.rounds ?? (ctx.quick ? 1 : 5);
    const wanted = (workload: string): boolean => ctx.only === undefined || workload.includes(ctx.only);
    const rows: BenchRow[] = [];
    const s = await mountSubject(join(ctx.scratchDir, 'store.img'), 16);
    const raw = await openRawFile(join(ctx.scratchDir, 'raw.img'));
    const seqPath = join(ctx.scratchDir, 'seq.img');
    try {
      for (const clients of [1, 16]) {
        if (!wanted(`write 4KiB x${clients}`)) continue;
        rows.push(...await compare(`write 4KiB x${clients}`, [
          { system: 'ebofs', round: () => write4k(s, clients, durationMs) },
          { system: 'write+fdatasync', round: () => rawWriteSyncRound(raw, clients, durationMs) },
        ], rounds, { 'write+fdatasync': ['ops/s', 'sustained ops/s'] }, !ctx.quick));
        ctx.log(`write 4KiB x${clients}: done`);
      }
      for (const clients of [1, 4]) {
        if (!wanted(`write 4MiB x${clients}`)) continue;
        rows.push(...await compare(`write 4MiB x${clients}`, [
          { system: 'ebofs', round: () => write4m(s, clients, durationMs) },
          { system: 'sequential', round: () => rawSequentialRound(seqPath, durationMs) },
          { system: 'write+fdatasync', round: () => rawWriteSyncRound(raw, clients, durationMs, 4 * MIB) },
        ], rounds, { sequential: ['MB/s', 'sustained MB/s'], 'write+fdatasync': ['MB/s'] }, !ctx.quick));
        ctx.log(`write 4MiB x${clients}: done`);
      }
      for (const clients of [1, 16]) {
        if (!wanted(`read 4KiB x${clients}`) || s.smallObjects.length === 0) continue; // reads what 4 KiB writes made
        rows.push(...await compare(`read 4KiB x${clients}`, [
          { system: 'ebofs', round: () => read4k(s, clients, durationMs, 7 + clients) },
          { system: 'pread', round: () => rawReadRound(raw, clients, durationMs, 7 + clients) },
        ], rounds, { pread: ['ops/s'] }, !ctx.quick));
        ctx.log(`read 4KiB x${clients}: done`);
      }
      for (const clients of [1, 16]) {
        if (!wanted(`pg-log x${clients}`)) continue;
        rows.push(...await compare(`pg-log x${clients}`, [
          { system: 'ebofs', round: () => pgLog(s, clients, durationMs) },
          { system: 'write+fdatasync', round: () => rawWriteSyncRound(raw, clients, durationMs) },
        ], rounds, { 'write+fdatasync': ['ops/s', 'sustained ops/s'] }, !ctx.quick));
        ctx.log(`pg-log x${clients}: done`);
      }
      const findings = await s.store.fsck();
      ctx.log(`fsck after the run: ${findings.length === 0 ? 'clean' : JSON.stringify(findings.slice(0, 5))}`);
    } finally {
      await raw.close();
      await s.store.close();
    }
    return rows;
  },
};
export default bench;
