/**
 * engine/reclaim.ts: lazy reclamation — remove and truncate commit in O(1) and the space they
 * release is freed later, in bounded steps, by the checkpointer.
 *
 * The dead tree names objects (by nid) with extent records that no longer hold live data:
 *
 *   key          value
 *   ----------   --------------------------------------------------------------------
 *   u64be nid    u64 first dead block D, u32 flags (bit 0: removed — the onode is gone and
 *                every xattr and omap key of the nid is garbage too)
 *
 * Meaning: every extent record block of `nid` at logical block >= D is garbage (still
 * allocated and counted in the refs tree, never read). Blocks are data blocks (geometry.ts,
 * B bytes: 4096 by default). A live object keeps size <= D * B,
 * so reads never reach garbage; an op that grows the object past D first punches the garbage
 * in its way and raises D (prepareExtend) — that work is the op's own span, and each garbage
 * record is removed exactly once, by that op or by the reclaimer.
 *
 * Crash safety: a reclaim step runs synchronously just before a checkpoint takes its snapshot,
 * so its changes are in that checkpoint and in no journal event. If the checkpoint is lost,
 * replay rebuilds a state without the step: the same garbage awaits the next step (freed
 * blocks are reused only after the checkpoint that frees them is durable — alloc's deferred
 * frees), so there is no leak and no double free.
 *
 * Invariants (fsck): a removed nid has no onode; a live nid with an entry has no record in
 * [ceil(size / B), D); a live nid without one has no record past ceil(size / B).
 */
import type { Where } from './types.js';
import { assert } from '../common/assert.js';
import { CorruptionError } from '../common/errors.js';
import type { TreeReader } from '../btree/index.js';
import { readU64, writeU64 } from '../common/ints.js';
import { decodeExtent, extentKey, nidRange, readU64BE, writeU64BE } from './meta-keys.js';
import { punch } from './data.js';
import { TxnContext } from './txn-context.js';
import type { EngineState } from './state.js';

export const DEAD_FLAG_REMOVED = 1;
/** Below this many extent records (or omap keys), remove and truncate work at once. */
export const LAZY_RECORDS_MIN = 32;
/** Records (extent records or keys) one reclaim step removes at most. */
export const RECLAIM_STEP_RECORDS = 4096;

export interface DeadEntry {
  nid: number;
  from: number;
  removed: boolean;
}

export function deadKey(nid: number): Buffer {
  const key = Buffer.alloc(8);
  writeU64BE(key, 0, nid);
  return key;
}

function encodeDead(from: number, removed: boolean): Buffer {
  const value = Buffer.alloc(12);
  writeU64(value, 0, from);
  value.writeUInt32LE(removed ? DEAD_FLAG_REMOVED : 0, 8);
  return value;
}

export function decodeDead(key: Uint8Array, value: Uint8Array): DeadEntry {
  const nid = readU64BE(key, 0);
  const v = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  const where = `dead tree entry of object number ${nid}`;
  if (v.byteLength !== 12 || (v.readUInt32LE(8) & ~DEAD_FLAG_REMOVED) !== 0) {
    throw new CorruptionError('ECORRUPT', 'bad dead-object entry', { location: where });
  }
  return { nid, from: readU64(v, 0, where), removed: (v.readUInt32LE(8) & DEAD_FLAG_REMOVED) !== 0 };
}

export function getDead(reader: TreeReader, nid: number): DeadEntry | undefined {
  const value = reader.get(deadKey(nid));
  return value === undefined ? undefined : decodeDead(deadKey(nid), value);
}

/** Marks blocks >= `from` of `nid` as garbage (and, when `removed`, the whole object). */
export function markDead(ctx: TxnContext, nid: number, from: number, removed: boolean): void {
  const prev = getDead(ctx.dead, nid);
  const at = prev === undefined ? from : Math.min(prev.from, from);
  ctx.dead.put(deadKey(nid), encodeDead(at, removed || (prev?.removed ?? false)));
}

/** Whether `nid` has at least `limit` extent records ending past logical block `block`. */
export function manyRecordsAbove(reader: TreeReader, nid: number, block: number, limit: number): boolean {
  const cursor = reader.cursor();
  let n = 0;
  for (let ok = cursor.seekLast(extentKey(nid, Number.MAX_SAFE_INTEGER)); ok; ok = cursor.prev()) {
    if (readU64BE(cursor.keyView(), 0) !== nid) break;
    const lblock = readU64BE(cursor.keyView(), 8);
    const rec = decodeExtent(cursor.valueView(), `object number ${nid}`);
    if (lblock + rec.count <= block) break;
    if (++n >= limit) return true;
  }
  return false;
}

/** Whether a nid-keyed tree holds at least `limit` keys of `nid`. */
export function manyKeys(reader: TreeReader, nid: number, limit: number): boolean {
  const range = nidRange(nid);
  let n = 0;
  for (const _ of reader.range({ start: range.start, end: range.end, limit })) n++;
  return n >= limit;
}

/**
 * Before an op makes object `nid` `newSize` bytes long: garbage below the new end is punched
 * and the dead mark raised, so the grown range reads as holes.
 */
export function prepareExtend(ctx: TxnContext, nid: number, newSize: number, where: Where): void {
  if (ctx.dead.count === 0) return;
  const dead = getDead(ctx.dead, nid);
  const end = Math.ceil(newSize / ctx.state.geometry.blockBytes);
  if (dead === undefined || end <= dead.from) return;
  punch(ctx, nid, dead.from, end, where);
  ctx.dead.put(deadKey(nid), encodeDead(end, false));
}

/**
 * One bounded reclaim step: removes up to `budget` garbage records (extent records first,
 * then the keys of removed objects) and drops dead entries with nothing left. Returns whether
 * garbage remains.
 */
export function reclaimStep(ctx: TxnContext, budget: number): boolean {
  let left = budget;
  for (const entry of [...ctx.dead.range({ limit: 64 })]) {
    const dead = decodeDead(entry.key, entry.value);
    const where = `object number ${dead.nid} (reclaiming)`;
    const cursor = ctx.extents.cursor();
    let done = true;
    while (cursor.seekLast(extentKey(dead.nid, Number.MAX_SAFE_INTEGER)) && readU64BE(cursor.keyView(), 0) === dead.nid) {
      const lblock = readU64BE(cursor.keyView(), 8);
      const rec = decodeExtent(cursor.valueView(), where);
      if (lblock + rec.count <= dead.from) break;
      if (left-- <= 0) { done = false; break; }
      punch(ctx, dead.nid, Math.max(lblock, dead.from), lblock + rec.count, where);
    }
    if (done && dead.removed) {
      for (const tree of [ctx.xattrs, ctx.omap]) {
        const range = nidRange(dead.nid);
        const keys = [...tree.range({ start: range.start, end: range.end, limit: Math.max(0, left) + 1 })].map((e) => e.key);
        if (keys.length > left) { done = false; keys.length = Math.max(0, left); }
        for (const key of keys) tree.delete(key);
        left -= keys.length;
        if (!done) break;
      }
    }
    if (done) ctx.dead.delete(entry.key);
    if (left <= 0) break;
  }
  return ctx.dead.count > 0;
}

/** Runs one reclaim step on `state` and publishes it (not journaled: see the head comment). */
export function runReclaimStep(state: EngineState, budget: number): boolean {
  const ctx = new TxnContext(state);
  let more: boolean;
  try {
    more = reclaimStep(ctx, budget);
  } catch (err) {
    ctx.abort();
    throw err;
  }
  assert(ctx.largeBlocks() === undefined, 'a reclaim step wrote data');
  state.commit(ctx);
  return more;
}
