/**
 * tools/verify.ts: after `ebofs run` closes and reopens the store, checks that what the
 * workload last committed is what the store returns — object bytes and object-info xattrs of
 * the objects written (up to a read budget), and each PG's log: exactly the entries of this
 * run's epoch from the last trim point to the last version, and `_fastinfo` naming the last.
 * It complements fsck (structure) with content: fsck cannot know what the bytes should be.
 */
import type { EbofsStore } from '../engine/index.js';
import { pgLogKey, pgLogVersion } from './pg.js';
import type { PgState, WorkloadRecord } from './workload.js';
import { objectData, objectInfoVersion } from './osd-txn.js';

/** Most object bytes and objects verify reads back (keeps the check to a second or so). */
export const VERIFY_READ_BYTES_MAX = 64 * 1024 * 1024;
export const VERIFY_OBJECT_COUNT_MAX = 1024;

export interface VerifyResult {
  objectsChecked: number;
  pgsChecked: number;
  problems: string[];
  seconds: number;
}

/** Checks the objects and pg logs `record` says were written last. */
export async function verifyRun(
  store: EbofsStore, record: WorkloadRecord, objectSizeBytes: number,
): Promise<VerifyResult> {
  const started = performance.now();
  const result: VerifyResult = { objectsChecked: 0, pgsChecked: 0, problems: [], seconds: 0 };
  let budget = VERIFY_READ_BYTES_MAX;
  for (const object of record.objects) {
    if (result.objectsChecked >= VERIFY_OBJECT_COUNT_MAX) break;
    if (object.version === 0 || budget < objectSizeBytes) continue;
    budget -= objectSizeBytes;
    const cid = record.pgStates[object.pgIndex]!.layout.cid;
    const expected = objectData(record.dataPool, object.poolOffset, objectSizeBytes, object.name, object.version);
    const actual = await store.read(cid, object.oid);
    const where = `${cid}/${object.name}`;
    if (!actual.equals(expected)) result.problems.push(`${where}: data differs from version ${object.version}`);
    const infoVersion = objectInfoVersion(await store.getattr(cid, object.oid, '_'));
    if (infoVersion !== object.version) {
      result.problems.push(`${where}: object info names version ${infoVersion}, expected ${object.version}`);
    }
    result.objectsChecked++;
  }
  for (const pg of record.pgStates) {
    result.problems.push(...await verifyPgLog(store, pg));
    result.pgsChecked++;
  }
  result.seconds = (performance.now() - started) / 1000;
  return result;
}

async function verifyPgLog(store: EbofsStore, pg: PgState): Promise<string[]> {
  const { cid, metaOid } = pg.layout;
  const last = pg.version - 1;
  if (last < pg.logFirst) return []; // nothing written to this PG in this run
  const problems: string[] = [];
  const versions: number[] = [];
  const range = { start: pgLogKey(pg.epoch, 0), end: pgLogKey(pg.epoch + 1, 0) };
  for await (const [key] of store.omapIterate(cid, metaOid, range)) {
    const version = pgLogVersion(key.toString('latin1'));
    if (version !== undefined) versions.push(version);
  }
  const expectedCount = last - pg.logFirst + 1;
  if (versions.length !== expectedCount || versions[0] !== pg.logFirst || versions[versions.length - 1] !== last) {
    const found = `${versions.length} entries ${versions[0]}..${versions[versions.length - 1]}`;
    problems.push(`${cid} pg log: ${found}, expected ${pg.logFirst}..${last}`);
  }
  const info = (await store.omapGetValues(cid, metaOid, ['_fastinfo'])).get('_fastinfo');
  if (info?.toString('latin1') !== `last_update ${pg.epoch}'${last}`) {
    const found = JSON.stringify(info?.toString('latin1'));
    problems.push(`${cid} _fastinfo is ${found}, expected last_update ${pg.epoch}'${last}`);
  }
  return problems;
}
