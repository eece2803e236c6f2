/**
 * tools/workload.ts: the OSD-shaped write workload behind `ebofs run` (and `npm start`).
 *
 * Each client write is one transaction, as a Ceph OSD's primary builds it for a client write:
 * - the object data (a whole-object overwrite of `objectSizeBytes`) in the object's PG;
 * - the object-info xattr `_` (~250 bytes: name, version, size);
 * - on the PG's meta object: one pg-log omap entry (key = zero-padded epoch.version, value
 *   ~180 bytes) and the `_fastinfo` key (last update);
 * - every `trimEvery` versions of a PG, a log trim: `omapRmKeyRange` of the entries older than
 *   the last `logKeep`.
 * `clients` loops run concurrently, each awaiting durability before its next write. The
 * object set is bounded (overwrites), so a long run never fills the store. What a run wrote
 * last is remembered (`WorkloadRecord`) so verify.ts can check it after a reopen.
 */
import { EbofsError, type EbofsStore, Transaction, type ObjectId, cephObjectHash } from '../engine/index.js';
import { Random } from '../common/random.js';
import { LatencyRecorder } from './progress.js';
import { type PgLayout, pgLogKey, pgMask, stableMod } from './pg.js';

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

/** Object-info xattr and pg-log value sizes (what a Ceph OSD writes, roughly). */
export const OBJECT_INFO_BYTES = 250;
export const PG_LOG_VALUE_BYTES = 180;

/** One object of the working set. */
export interface WorkObject {
  readonly oid: ObjectId;
  readonly name: string;
  readonly pgIndex: number;
  /** Last version written by this run and where its bytes came from in the data pool. */
  version: number;
  poolOffset: number;
}

/** Per-PG state: the epoch of this run and the next version to hand out. */
export interface PgState {
  readonly layout: PgLayout;
  readonly epoch: number;
  version: number;
  /** The oldest version still in the log (for verification). */
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
    objects.push({ oid: { pool, name, hash }, name, pgIndex: stableMod(hash, pgCount, mask), version: 0, poolOffset: 0 });
  }
  return objects;
}

/**
 * Creates the missing PG collections and meta objects, and picks each PG's epoch (one more
 * than the last run's) and next version from its `_fastinfo`, so runs on one store continue
 * the same logs.
 */
export async function preparePgs(store: EbofsStore, pgs: readonly PgLayout[]): Promise<PgState[]> {
  const t = new Transaction();
  const states: PgState[] = [];
  for (const layout of pgs) {
    let epoch = 1;
    let version = 1;
    if (await store.collectionExists(layout.cid)) {
      const bits = await store.collectionBits(layout.cid);
      if (bits !== layout.bits) {
        throw new EbofsError('EINVAL', `collection ${layout.cid} has ${bits} bits but --pgs ${pgs.length} needs ${layout.bits}: use the --pgs this store was run with, or another --store`);
      }
      const info = (await store.exists(layout.cid, layout.metaOid))
        ? (await store.omapGetValues(layout.cid, layout.metaOid, ['_fastinfo'])).get('_fastinfo') : undefined;
      const last = info === undefined ? undefined : parseFastInfo(info.toString('latin1'));
      if (last !== undefined) ({ epoch, version } = { epoch: last.epoch + 1, version: last.version + 1 });
    } else {
      t.createCollection(layout.cid, layout.bits);
    }
    t.touch(layout.cid, layout.metaOid);
    states.push({ layout, epoch, version, logFirst: version });
  }
  await store.queueTransaction(t);
  return states;
}

function fastInfo(epoch: number, version: number): string {
  return `last_update ${epoch}'${version}`;
}

function parseFastInfo(text: string): { epoch: number; version: number } | undefined {
  const m = /^last_update (\d+)'(\d+)$/.exec(text);
  return m === null ? undefined : { epoch: Number(m[1]), version: Number(m[2]) };
}

/** Text padded with spaces to exactly `bytes` (truncated if longer). */
function padded(text: string, bytes: number): Buffer {
  const out = Buffer.alloc(bytes, 0x20);
  out.write(text, 0, 'latin1');
  return out;
}

/** The object-info xattr of `object` at `version` (verify.ts parses it back). */
export function objectInfo(object: WorkObject, epoch: number, version: number, size: number): Buffer {
  return padded(`oi ${object.name} v ${epoch}'${version} size ${size}`, OBJECT_INFO_BYTES);
}

/** Parses the version out of an object-info xattr. */
export function objectInfoVersion(value: Buffer): number | undefined {
  const m = /^oi \S+ v \d+'(\d+) size \d+/.exec(value.toString('latin1'));
  return m === null ? undefined : Number(m[1]);
}

/** The bytes of one object write: a slice of the data pool with the version stamped in front. */
export function objectData(pool: Buffer, offset: number, size: number, name: string, version: number): Buffer {
  const data = Buffer.from(pool.subarray(offset, offset + size));
  data.write(`${name} ${version}\n`.slice(0, Math.min(size, 64)), 0, 'latin1');
  return data;
}

/** Builds the transaction of one client write; mutates the object and PG state. */
export function buildWrite(options: WorkloadOptions, record: WorkloadRecord, object: WorkObject, random: Random, client: number): Transaction {
  const pg = record.pgStates[object.pgIndex]!;
  const { cid, metaOid } = pg.layout;
  const version = pg.version++;
  const size = options.objectSizeBytes;
  // A write_full: an object written with a larger --object-size by an earlier run is cut to
  // this size on its first write of the run (Ceph's WRITEFULL truncates a longer object too).
  const cut = object.version === 0;
  object.version = version;
  object.poolOffset = random.int((record.dataPool.byteLength - size) / 64 + 1) * 64;
  const info = objectInfo(object, pg.epoch, version, size);
  const logKey = pgLogKey(pg.epoch, version);
  const logValue = padded(`modify ${object.name} by client.${client} v ${pg.epoch}'${version} prior ${version - 1}`, PG_LOG_VALUE_BYTES);
  const t = new Transaction().write(cid, object.oid, 0, objectData(record.dataPool, object.poolOffset, size, object.name, version));
  if (cut) t.truncate(cid, object.oid, size);
  t.setattr(cid, object.oid, '_', info)
    .omapSetKeys(cid, metaOid, [[logKey, logValue], ['_fastinfo', fastInfo(pg.epoch, version)]]);
  record.metaBytes += 1 + info.byteLength + logKey.length + logValue.byteLength + 9 + 40;
  if (version % options.trimEvery === 0 && version - options.logKeep + 1 > pg.logFirst) {
    pg.logFirst = version - options.logKeep + 1;
    t.omapRmKeyRange(cid, metaOid, pgLogKey(0, 0), pgLogKey(pg.epoch, pg.logFirst));
    record.trims++;
  }
  return t;
}

/** Runs one client until `deadline` (performance.now() ms) or until another client failed. */
async function client(store: EbofsStore, options: WorkloadOptions, record: WorkloadRecord, index: number, deadline: () => number): Promise<void> {
  const random = new Random(options.seed + index * 7919);
  while (performance.now() < deadline() && record.failure === undefined) {
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

/** A controllable end time: `stop()` ends the run early (Ctrl-C). */
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

/** Runs the clients to the deadline; a failed write ends the run and is kept in `record.failure`. */
export async function runWorkload(store: EbofsStore, options: WorkloadOptions, record: WorkloadRecord, deadline: Deadline): Promise<void> {
  const clients: Promise<void>[] = [];
  for (let i = 0; i < options.clients; i++) clients.push(client(store, options, record, i, () => deadline.ms));
  await Promise.all(clients);
}

/** A fresh record with a data pool of random bytes (seeded) to slice object contents from. */
export function newRecord(options: WorkloadOptions, objects: WorkObject[], pgStates: PgState[]): WorkloadRecord {
  const poolBytes = Math.max(2 * options.objectSizeBytes, 1024 * 1024);
  const dataPool = Buffer.from(new Random(options.seed).bytes(poolBytes));
  return { ops: 0, dataBytes: 0, metaBytes: 0, trims: 0, latency: new LatencyRecorder(), objects, pgStates, dataPool, failure: undefined };
}
