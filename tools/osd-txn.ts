/**
 * tools/osd-txn.ts: the transaction of one client write in the `run` workload, shaped like
 * the one a Ceph OSD primary queues for a client write:
 * - the object data (a whole-object write of `objectSizeBytes`; on the object's first write
 *   of a run also a truncate to that size, as WRITEFULL cuts a longer object);
 * - the object-info xattr `_` (~250 bytes: name, version, size);
 * - on the PG's meta object: one pg-log omap entry (key = zero-padded epoch.version, value
 *   ~180 bytes) and the `_fastinfo` key (last update);
 * - every `trimEvery` versions of a PG, a log trim: `omapRmKeyRange` of the entries older
 *   than the last `logKeep`.
 * The contents are deterministic from the run's data pool, so verify.ts can rebuild them.
 */
import { Transaction } from '../engine/index.js';
import type { Random } from '../common/random.js';
import { pgLogKey } from './pg.js';
import type { WorkObject, WorkloadOptions, WorkloadRecord } from './workload.js';

/** Object-info xattr and pg-log value sizes (what a Ceph OSD writes, roughly). */
export const OBJECT_INFO_BYTES = 250;
export const PG_LOG_VALUE_BYTES = 180;
/** Granularity of the data pool offsets an object's contents start at. */
const POOL_OFFSET_ALIGN_BYTES = 64;

/** Text padded with spaces to exactly `bytes` (truncated if longer). */
function padded(text: string, bytes: number): Buffer {
  const out = Buffer.alloc(bytes, 0x20);
  out.write(text, 0, 'latin1');
  return out;
}

/** The `_fastinfo` value naming a PG's last update. */
export function fastInfo(epoch: number, version: number): string {
  return `last_update ${epoch}'${version}`;
}

/** Parses a `_fastinfo` value; undefined if it is not one. */
export function parseFastInfo(text: string): { epoch: number; version: number } | undefined {
  const m = /^last_update (\d+)'(\d+)$/.exec(text);
  return m === null ? undefined : { epoch: Number(m[1]), version: Number(m[2]) };
}

/** The object-info xattr of `object` at `version`. */
export function objectInfo(object: WorkObject, epoch: number, version: number, size: number): Buffer {
  return padded(`oi ${object.name} v ${epoch}'${version} size ${size}`, OBJECT_INFO_BYTES);
}

/** Parses the version out of an object-info xattr. */
export function objectInfoVersion(value: Buffer): number | undefined {
  const m = /^oi \S+ v \d+'(\d+) size \d+/.exec(value.toString('latin1'));
  return m === null ? undefined : Number(m[1]);
}

/** One object write's bytes: a slice of the data pool with name and version stamped in front. */
export function objectData(pool: Buffer, offset: number, size: number, name: string, version: number): Buffer {
  const data = Buffer.from(pool.subarray(offset, offset + size));
  data.write(`${name} ${version}\n`.slice(0, Math.min(size, 64)), 0, 'latin1');
  return data;
}

/** Builds the transaction of one client write; advances the PG's version and the object's. */
export function buildWrite(
  options: WorkloadOptions, record: WorkloadRecord, object: WorkObject, random: Random, client: number,
): Transaction {
  const pg = record.pgStates[object.pgIndex]!;
  const { cid, metaOid } = pg.layout;
  const version = pg.version++;
  const size = options.objectSizeBytes;
  const firstWrite = object.version === 0;
  object.version = version;
  const offsetCount = Math.floor((record.dataPool.byteLength - size) / POOL_OFFSET_ALIGN_BYTES) + 1;
  object.poolOffset = random.int(offsetCount) * POOL_OFFSET_ALIGN_BYTES;
  const data = objectData(record.dataPool, object.poolOffset, size, object.name, version);
  const info = objectInfo(object, pg.epoch, version, size);
  const logKey = pgLogKey(pg.epoch, version);
  const logText = `modify ${object.name} by client.${client} v ${pg.epoch}'${version} prior ${version - 1}`;
  const logValue = padded(logText, PG_LOG_VALUE_BYTES);
  const lastUpdate = fastInfo(pg.epoch, version);
  const t = new Transaction().write(cid, object.oid, 0, data);
  if (firstWrite) t.truncate(cid, object.oid, size);
  t.setattr(cid, object.oid, '_', info).omapSetKeys(cid, metaOid, [[logKey, logValue], ['_fastinfo', lastUpdate]]);
  record.metaBytes += 1 + info.byteLength + logKey.length + logValue.byteLength;
  record.metaBytes += '_fastinfo'.length + lastUpdate.length;
  if (version % options.trimEvery === 0 && version - options.logKeep + 1 > pg.logFirst) {
    pg.logFirst = version - options.logKeep + 1;
    t.omapRmKeyRange(cid, metaOid, pgLogKey(0, 0), pgLogKey(pg.epoch, pg.logFirst));
    record.trims++;
  }
  return t;
}
