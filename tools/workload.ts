/**
 * tools/workload.ts: the OSD-shaped write workload behind `ebofs run` (and `npm start`).
 *
 * `clients` loops run concurrently until a deadline; each builds one transaction per write
 * (osd-txn.ts: object data, object-info xattr, pg-log omap entries, periodic log trims) and
 * awaits its durability before the next. The object set is bounded (overwrites), so a long
 * run never fills the store. The first failed write stops every client. What the run wrote
 * last is kept in the `WorkloadRecord`, so verify.ts can check it after a reopen.
 */
import { EbofsError, type EbofsStore, Transaction, type ObjectId, cephObjectHash } from '../engine/index.js';
import { Random } from '../common/random.js';
import { LatencyRecorder } from './progress.js';
import { type PgLayout, pgMask, stableMod } from './pg.js';
import { buildWrite, parseFastInfo } from './osd-txn.js';

export interface WorkloadOptions {
  readonly seconds: number;
  readonly clients: number;
  readonly pool: number;
  readonly pgs: readonly PgLayout[];
  readonly objectSizeBytes: number;
  readonly objectCount: number;
  readonly seed: number;
  /** pg-log entries kept after a trim. */
  readonly logKeep: number;
  /** A PG trims its log every this many versions. */
  readonly trimEvery: number;
}

/** One object of the working set. */
export interface WorkObject {
  readonly oid: ObjectId;
  readonly name: string;
  readonly pgIndex: number;
  /** Last version written by this run (0: none yet) and where its bytes came from. */
  version: number;
  poolOffset: number;
}

/** Per-PG state: the epoch of this run and the next version to hand out. */
export interface PgState {
  readonly layout: PgLayout;
  readonly epoch: number;
  version: number;
  /** The oldest version of this run still in the log. */
  logFirst: number;
}

/** What a run did: counters, latencies, and what verify.ts expects to find. */
export interface WorkloadRecord {
  ops: number;
  dataBytes: number;
  /** xattr and omap bytes (keys and values) written alongside the data. */
  metaBytes: number;
  trims: number;
  readonly latency: LatencyRecorder;
  readonly objects: readonly WorkObject[];
  readonly pgStates: readonly PgState[];
  /** Seeded random bytes that object contents are sliced from. */
  readonly dataPool: Buffer;
  /** The first error that stopped the run, if any. */
  failure: unknown;
}

/** Names the working set and hashes each object into its PG (Ceph's stable_mod). */
export function workObjects(pool: number, pgCount: number, count: number): WorkObject[] {
  const mask = pgMask(pgCount);
  const objects: WorkObject[] = [];
  for (let i = 0; i < count; i++) {
    const name = `rbd_data.ebofs.${i.toString(16).padStart(16, '0')}`;
    const hash = cephObjectHash(new Uint8Array(0), Buffer.from(name, 'utf8'));
    const pgIndex = stableMod(hash, pgCount, mask);
    objects.push({ oid: { pool, name, hash }, name, pgIndex, version: 0, poolOffset: 0 });
  }
  return objects;
}

/** A PG's epoch and next version: one epoch more than the last run's `_fastinfo` says. */
async function resumePoint(store: EbofsStore, layout: PgLayout): Promise<{ epoch: number; version: number }> {
  const bits = await store.collectionBits(layout.cid);
  if (bits !== layout.bits) {
    throw new EbofsError('EINVAL', `collection ${layout.cid} has ${bits} bits, but these --pgs need ` +
      `${layout.bits}: use the --pgs this store was run with, or another --store`);
  }
  if (!await store.exists(layout.cid, layout.metaOid)) return { epoch: 1, version: 1 };
  const values = await store.omapGetValues(layout.cid, layout.metaOid, ['_fastinfo']);
  const last = parseFastInfo(values.get('_fastinfo')?.toString('latin1') ?? '');
  return last === undefined ? { epoch: 1, version: 1 } : { epoch: last.epoch + 1, version: last.version + 1 };
}

/**
 * Creates the missing PG collections and meta objects and picks each PG's epoch and next
 * version, so runs on one store continue the same logs.
 */
export async function preparePgs(store: EbofsStore, pgs: readonly PgLayout[]): Promise<PgState[]> {
  const t = new Transaction();
  const states: PgState[] = [];
  for (const layout of pgs) {
    let start = { epoch: 1, version: 1 };
    if (await store.collectionExists(layout.cid)) start = await resumePoint(store, layout);
    else t.createCollection(layout.cid, layout.bits);
    t.touch(layout.cid, layout.metaOid);
    states.push({ layout, epoch: start.epoch, version: start.version, logFirst: start.version });
  }
  await store.queueTransaction(t);
  return states;
}

/** A fresh record with a data pool of seeded random bytes to slice object contents from. */
export function newRecord(options: WorkloadOptions, objects: WorkObject[], pgStates: PgState[]): WorkloadRecord {
  const poolBytes = Math.max(2 * options.objectSizeBytes, 1024 * 1024);
  const dataPool = Buffer.from(new Random(options.seed).bytes(poolBytes));
  return {
    ops: 0, dataBytes: 0, metaBytes: 0, trims: 0, latency: new LatencyRecorder(), objects, pgStates, dataPool,
    failure: undefined,
  };
}

/** A movable end time: `stop()` ends the run early (Ctrl-C). */
export class Deadline {
  private endMs: number;
  constructor(seconds: number) {
    this.endMs = performance.now() + seconds * 1000;
  }
  get ms(): number {
    return this.endMs;
  }
  stop(): void {
    this.endMs = Math.min(this.endMs, performance.now());
  }
}

/** One client: writes until the deadline or until any client failed. */
async function client(
  store: EbofsStore, options: WorkloadOptions, record: WorkloadRecord, index: number, deadline: Deadline,
): Promise<void> {
  const random = new Random(options.seed + index * 7919);
  while (performance.now() < deadline.ms && record.failure === undefined) {
    const object = record.objects[random.int(record.objects.length)]!;
    const t = buildWrite(options, record, object, random, index);
    const started = performance.now();
    try {
      await store.queueTransaction(t);
    } catch (err) {
      record.failure ??= err;
      return;
    }
    record.latency.record(performance.now() - started);
    record.ops++;
    record.dataBytes += options.objectSizeBytes;
  }
}

/** Runs the clients to the deadline; a failed write ends the run and is kept in `record.failure`. */
export async function runWorkload(
  store: EbofsStore, options: WorkloadOptions, record: WorkloadRecord, deadline: Deadline,
): Promise<void> {
  const clients: Promise<void>[] = [];
  for (let i = 0; i < options.clients; i++) clients.push(client(store, options, record, i, deadline));
  await Promise.all(clients);
}
