/**
 * engine/data.ts: object data as extent records (meta-keys.ts) — write, zero, truncate, punch,
 * and the read path with per-block checksum verification.
 *
 * Data is copy-on-write at block granularity: a write never changes a block in place; it
 * builds the new content of every block it touches (reading the old content of partial edge
 * blocks), puts it in freshly allocated blocks and remaps the range. Small writes keep the new
 * blocks in memory until the next checkpoint writes them (their bytes are in the journal
 * record); large writes (LARGE_WRITE_BYTES or more) are written to the device before the
 * journal record that maps them, and the record carries only their placement.
 */
import { checksum32 } from '../common/checksum.js';
import { assert } from '../common/assert.js';
import type { Extent } from '../alloc/index.js';
import { EXTENT_BLOCKS_MAX, type ExtentRecord, decodeExtent, encodeExtent, extentKey, readU64BE } from './meta-keys.js';
import { BLOCK_BYTES, type TxnContext, type Placement } from './txn-context.js';
import type { TreeReader } from '../btree/index.js';

/** Writes of at least this many bytes go to the device before their journal record. */
export const LARGE_WRITE_BYTES = 64 * 1024;

/** An extent record with its logical block. */
export interface MappedExtent extends ExtentRecord {
  lblock: number;
}

/** Extent records of `nid` overlapping logical blocks [b0, b1), in order. */
export function extentsIn(reader: TreeReader, nid: number, b0: number, b1: number, where: string): MappedExtent[] {
  const out: MappedExtent[] = [];
  const cursor = reader.cursor();
  if (cursor.seekLast(extentKey(nid, b0))) {
    const key = cursor.key();
    if (readU64BE(key, 0) === nid) {
      const rec = decodeExtent(cursor.value(), where);
      const lblock = readU64BE(key, 8);
      if (lblock + rec.count > b0 && lblock < b0) out.push({ ...rec, lblock });
    }
  }
  for (const entry of reader.range({ start: extentKey(nid, b0), end: extentKey(nid, b1) })) {
    out.push({ ...decodeExtent(entry.value, where), lblock: readU64BE(entry.key, 8) });
  }
  return out;
}

/** Removes the mapping of logical blocks [b0, b1) of `nid`, freeing the physical blocks. */
export function punch(ctx: TxnContext, nid: number, b0: number, b1: number, where: string): void {
  if (b1 <= b0) return;
  for (const e of extentsIn(ctx.extents, nid, b0, b1, where)) {
    ctx.extents.delete(extentKey(nid, e.lblock));
    const end = e.lblock + e.count;
    if (e.lblock < b0) putRecord(ctx, nid, e.lblock, e.pblock, e.csums.subarray(0, b0 - e.lblock));
    if (end > b1) putRecord(ctx, nid, b1, e.pblock + (b1 - e.lblock), e.csums.subarray(b1 - e.lblock));
    const from = Math.max(e.lblock, b0);
    const to = Math.min(end, b1);
    ctx.releaseBlocks(e.pblock + (from - e.lblock), to - from);
  }
}

function putRecord(ctx: TxnContext, nid: number, lblock: number, pblock: number, csums: Uint32Array): void {
  assert(csums.length >= 1 && csums.length <= EXTENT_BLOCKS_MAX, 'extent record size');
  ctx.extents.put(extentKey(nid, lblock), encodeExtent({ pblock, count: csums.length, csums: Uint32Array.from(csums) }));
}

/** Maps logical blocks from `lblock` onto `extents` (in order) with their checksums. */
function mapExtents(ctx: TxnContext, nid: number, lblock: number, extents: Extent[], csums: Uint32Array): void {
  let l = lblock;
  let c = 0;
  for (const extent of extents) {
    const first = extent.offset / BLOCK_BYTES;
    const count = extent.length / BLOCK_BYTES;
    for (let done = 0; done < count; done += EXTENT_BLOCKS_MAX) {
      const n = Math.min(EXTENT_BLOCKS_MAX, count - done);
      putRecord(ctx, nid, l, first + done, csums.subarray(c, c + n));
      l += n;
      c += n;
    }
  }
  assert(c === csums.length, 'placement does not cover its checksums');
}

/** The current bytes of logical block `lblock` (zeros for a hole). */
export function readLogicalBlockSync(ctx: TxnContext, nid: number, lblock: number, where: string): Buffer {
  const [e] = extentsIn(ctx.extents, nid, lblock, lblock + 1, where);
  if (e === undefined) return Buffer.alloc(BLOCK_BYTES);
  const i = lblock - e.lblock;
  return Buffer.from(ctx.readBlockSync(e.pblock + i, e.csums[i]!, () => `${where} offset ${lblock * BLOCK_BYTES}`));
}

/**
 * Writes `data` at byte `offset` of object `nid` (copy-on-write). Only the data of a write op
 * may take the large path (`journaled` false): its placement is journaled under the op's index,
 * so there must be one per op. Copies made by clone and cloneRange go the small path; replay
 * recomputes them from the source, which replay has restored by then.
 */
export function writeRange(ctx: TxnContext, nid: number, offset: number, data: Uint8Array, where: string, largeAllowed = true): void {
  if (data.byteLength === 0) return;
  const b0 = Math.floor(offset / BLOCK_BYTES);
  const b1 = Math.ceil((offset + data.byteLength) / BLOCK_BYTES);
  const key = `${ctx.transactionIndex}:${ctx.opIndex}`;
  const replayed = largeAllowed ? ctx.replayPlacements?.get(key) : undefined;
  if (replayed !== undefined) {
    punch(ctx, nid, b0, b1, where);
    mapExtents(ctx, nid, b0, replayed.extents, replayed.csums);
    ctx.dataBlocksDelta += replayed.csums.length; // allocated at mount (markUsed), not here
    return;
  }
  const large = largeAllowed && data.byteLength >= LARGE_WRITE_BYTES;
  if (offset % BLOCK_BYTES === 0 && data.byteLength % BLOCK_BYTES === 0) {
    // Whole blocks: the blocks are views of `data` itself, no copy. Every caller hands over
    // bytes nobody modifies afterwards (a Transaction's own copy, or a fresh buffer).
    placeBlocks(ctx, nid, b0, Buffer.from(data.buffer, data.byteOffset, data.byteLength), large, where);
    return;
  }
  // Every byte of `merged` is set below: the edge blocks from their old content, then the data.
  const merged = Buffer.allocUnsafe((b1 - b0) * BLOCK_BYTES);
  const head = offset - b0 * BLOCK_BYTES;
  if (head !== 0) readLogicalBlockSync(ctx, nid, b0, where).copy(merged, 0);
  const tailEnd = offset + data.byteLength;
  if (tailEnd % BLOCK_BYTES !== 0 && (b1 - 1 > b0 || head === 0)) {
    readLogicalBlockSync(ctx, nid, b1 - 1, where).copy(merged, (b1 - 1 - b0) * BLOCK_BYTES);
  }
  merged.set(data, head);
  placeBlocks(ctx, nid, b0, merged, large, where);
}

/** Puts whole blocks `merged` at logical block `b0`, replacing what was mapped there. */
function placeBlocks(ctx: TxnContext, nid: number, b0: number, merged: Buffer, large: boolean, where: string): void {
  const count = merged.byteLength / BLOCK_BYTES;
  const csums = new Uint32Array(count);
  for (let i = 0; i < count; i++) csums[i] = checksum32(merged.subarray(i * BLOCK_BYTES, (i + 1) * BLOCK_BYTES));
  punch(ctx, nid, b0, b0 + count, where);
  const extents = ctx.allocateBlocks(count);
  let i = 0;
  for (const extent of extents) {
    for (let p = extent.offset / BLOCK_BYTES; p < (extent.offset + extent.length) / BLOCK_BYTES; p++, i++) {
      ctx.newBlocks.set(p, { bytes: merged.subarray(i * BLOCK_BYTES, (i + 1) * BLOCK_BYTES), large });
    }
  }
  mapExtents(ctx, nid, b0, extents, csums);
  if (large) {
    assert(!ctx.placements.some((p) => p.transactionIndex === ctx.transactionIndex && p.opIndex === ctx.opIndex),
      'two large placements for one op');
    const placement: Placement = { transactionIndex: ctx.transactionIndex, opIndex: ctx.opIndex, extents, csums };
    ctx.placements.push(placement);
  }
}

/** Zeroes [offset, offset+length): whole blocks become holes, partial edges are rewritten. */
export function zeroRange(ctx: TxnContext, nid: number, offset: number, length: number, where: string): void {
  if (length === 0) return;
  const end = offset + length;
  const b0 = Math.floor(offset / BLOCK_BYTES);
  const b1 = Math.ceil(end / BLOCK_BYTES);
  const whole0 = Math.ceil(offset / BLOCK_BYTES);
  const whole1 = Math.floor(end / BLOCK_BYTES);
  if (whole1 > whole0) punch(ctx, nid, whole0, whole1, where);
  const edges = new Set<number>();
  if (offset % BLOCK_BYTES !== 0) edges.add(b0);
  if (end % BLOCK_BYTES !== 0) edges.add(b1 - 1);
  for (const lblock of edges) {
    const [e] = extentsIn(ctx.extents, nid, lblock, lblock + 1, where);
    if (e === undefined) continue; // a hole reads as zeros already
    const block = readLogicalBlockSync(ctx, nid, lblock, where);
    const from = Math.max(offset, lblock * BLOCK_BYTES) - lblock * BLOCK_BYTES;
    const to = Math.min(end, (lblock + 1) * BLOCK_BYTES) - lblock * BLOCK_BYTES;
    block.fill(0, from, to);
    placeBlocks(ctx, nid, lblock, block, false, where);
  }
}

/** Drops data at and beyond `size` (zeroing the tail of a partial last block). */
export function truncateData(ctx: TxnContext, nid: number, oldSize: number, size: number, where: string): void {
  if (size >= oldSize) return;
  const keep = Math.ceil(size / BLOCK_BYTES);
  punch(ctx, nid, keep, Math.ceil(oldSize / BLOCK_BYTES) + 1, where);
  if (size % BLOCK_BYTES !== 0) zeroRange(ctx, nid, size, keep * BLOCK_BYTES - size, where);
}

/**
 * Maps logical blocks [sb0, sb0 + n) of `src` onto [db0, db0 + n) of `dst` by sharing their
 * physical blocks (refs.ts): metadata only, no data I/O. Holes stay holes. The source's
 * records are read before the target range is punched, so overlapping ranges of one object
 * behave like memmove.
 */
export function shareRange(ctx: TxnContext, src: number, sb0: number, dst: number, db0: number, n: number, where: string): void {
  if (n <= 0) return;
  const pieces = extentsIn(ctx.extents, src, sb0, sb0 + n, where).map((e) => {
    const from = Math.max(e.lblock, sb0);
    const to = Math.min(e.lblock + e.count, sb0 + n);
    return { lblock: from, pblock: e.pblock + (from - e.lblock), csums: e.csums.subarray(from - e.lblock, to - e.lblock) };
  });
  for (const p of pieces) ctx.shareBlocks(p.pblock, p.csums.length);
  punch(ctx, dst, db0, db0 + n, where);
  for (const p of pieces) putRecord(ctx, dst, p.lblock - sb0 + db0, p.pblock, p.csums);
}

/** Removes every extent of `nid`. */
export function removeData(ctx: TxnContext, nid: number, size: number, where: string): void {
  punch(ctx, nid, 0, Math.ceil(size / BLOCK_BYTES) + 1, where);
  // Blocks past the size cannot exist (truncate punches them), but sweep the whole nid range
  // so a damaged size can never leak extents.
  const rest = extentsIn(ctx.extents, nid, 0, Number.MAX_SAFE_INTEGER, where);
  for (const e of rest) punch(ctx, nid, e.lblock, e.lblock + e.count, where);
}
