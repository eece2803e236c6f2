/**
 * engine/refs.ts: reference counts of shared data blocks (clone, cloneRange).
 *
 * Data blocks are copy-on-write and never change once written, so two extent records may map
 * the same physical block: clone and cloneRange share the source's blocks instead of copying
 * them, and the first write to a shared range allocates new blocks for just what it touches
 * (data.ts). The refs tree says how many extent records map each shared block:
 *
 *   key                      value
 *   ----------------------   ---------------------------------------------------------
 *   u64be first pblock       u32 block count n (1..2^32-1), u32 references r (>= 2)
 *
 * Blocks are data blocks (engine/geometry.ts: 4 KiB by default, the larger of the allocation
 * unit and the checksum block), the unit extent records share in.
 *
 * A block mapped by exactly one record has no entry, so an unshared store keeps an empty tree
 * and pays nothing. Ranges never overlap; adjacent ranges with the same count are merged when a
 * change touches them, so a clone of a contiguous object costs one entry, not one per extent
 * record. Dropping the last reference frees the block; dropping from r = 2 deletes the entry.
 *
 * Invariants (fsck): for every block, r = the number of extent records (live or awaiting
 * reclamation, reclaim.ts) that map it whenever that number is 2 or more, and there is no entry
 * otherwise.
 */
import { assert } from '../common/assert.js';
import { CorruptionError } from '../common/errors.js';
import type { TreeReader, WriteBatch } from '../btree/index.js';
import { readU64BE, writeU64BE } from './meta-keys.js';

/** A run of physical blocks. */
export interface BlockRun {
  start: number;
  count: number;
}

/** A shared run and its reference count. */
export interface RefRun extends BlockRun {
  refs: number;
}

const COUNT_MAX = 0xffffffff;

export function refKey(pblock: number): Buffer {
  const key = Buffer.alloc(8);
  writeU64BE(key, 0, pblock);
  return key;
}

export function encodeRef(count: number, refs: number): Buffer {
  assert(count >= 1 && count <= COUNT_MAX && refs >= 2 && refs <= COUNT_MAX, 'ref entry out of range');
  const value = Buffer.alloc(8);
  value.writeUInt32LE(count, 0);
  value.writeUInt32LE(refs, 4);
  return value;
}

export function decodeRef(key: Uint8Array, value: Uint8Array): RefRun {
  const v = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  const start = readU64BE(key, 0);
  const count = v.byteLength === 8 ? v.readUInt32LE(0) : 0;
  const refs = v.byteLength === 8 ? v.readUInt32LE(4) : 0;
  if (count < 1 || refs < 2) {
    throw new CorruptionError('ECORRUPT', `bad reference-count entry (${count} blocks, ${refs} references)`,
      { location: `refs tree at block ${start}` });
  }
  return { start, count, refs };
}

/** Shared runs overlapping [p0, p1), in order. */
export function refsIn(reader: TreeReader, p0: number, p1: number): RefRun[] {
  const out: RefRun[] = [];
  if (reader.count === 0 || p1 <= p0) return out;
  const cursor = reader.cursor();
  if (cursor.seekLast(refKey(p0))) {
    const run = decodeRef(cursor.keyView(), cursor.valueView());
    if (run.start < p0 && run.start + run.count > p0) out.push(run);
  }
  for (const entry of reader.range({ start: refKey(p0), end: refKey(p1) })) out.push(decodeRef(entry.key, entry.value));
  return out;
}

/** The reference count of one block (1 when it has no entry: mapped once, or not at all). */
export function refsOf(reader: TreeReader, pblock: number): number {
  const [run] = refsIn(reader, pblock, pblock + 1);
  return run === undefined ? 1 : run.refs;
}

/**
 * Adds one reference to every block of [start, start + count): blocks without an entry (one
 * reference) get an entry of 2, entries split at the edges and count up.
 */
export function addRefs(batch: WriteBatch, start: number, count: number): void {
  const end = start + count;
  let pos = start;
  for (const run of refsIn(batch, start, end)) {
    if (run.start > pos) batch.put(refKey(pos), encodeRef(run.start - pos, 2));
    pos = reshape(batch, run, start, end, run.refs + 1);
  }
  if (pos < end) batch.put(refKey(pos), encodeRef(end - pos, 2));
  coalesce(batch, start, end);
}

/**
 * Drops one reference from every block of [start, start + count); returns the runs that lost
 * their last reference (the caller frees them).
 */
export function dropRefs(batch: WriteBatch, start: number, count: number): BlockRun[] {
  const end = start + count;
  const freed: BlockRun[] = [];
  if (batch.count === 0) return [{ start, count }];
  let pos = start;
  for (const run of refsIn(batch, start, end)) {
    if (run.start > pos) freed.push({ start: pos, count: run.start - pos });
    pos = reshape(batch, run, start, end, run.refs - 1);
  }
  if (pos < end) freed.push({ start: pos, count: end - pos });
  coalesce(batch, start, end);
  return freed;
}

/**
 * Replaces `run` by its parts outside [start, end) (unchanged) and its part inside with
 * `refs` references (no entry when that is 1). Returns the end of the inside part.
 */
function reshape(batch: WriteBatch, run: RefRun, start: number, end: number, refs: number): number {
  const lo = Math.max(run.start, start);
  const hi = Math.min(run.start + run.count, end);
  batch.delete(refKey(run.start));
  if (run.start < lo) batch.put(refKey(run.start), encodeRef(lo - run.start, run.refs));
  if (refs >= 2) batch.put(refKey(lo), encodeRef(hi - lo, refs));
  if (run.start + run.count > hi) batch.put(refKey(hi), encodeRef(run.start + run.count - hi, run.refs));
  return hi;
}

/** Merges adjacent runs with equal counts in and around [start, end). */
function coalesce(batch: WriteBatch, start: number, end: number): void {
  if (batch.count < 2) return;
  const runs = refsIn(batch, Math.max(0, start - 1), end + 1);
  let prev: RefRun | undefined;
  for (const run of runs) {
    if (prev !== undefined && prev.start + prev.count === run.start && prev.refs === run.refs && prev.count + run.count <= COUNT_MAX) {
      batch.delete(refKey(run.start));
      prev = { start: prev.start, count: prev.count + run.count, refs: prev.refs };
      batch.put(refKey(prev.start), encodeRef(prev.count, prev.refs));
    } else {
      prev = run;
    }
  }
}
