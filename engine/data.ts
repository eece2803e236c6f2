/**
 * engine/data.ts: object data as extent records (meta-keys.ts) — write, zero, truncate, punch,
 * and the read path with per-block checksum verification.
 *
 * Data is copy-on-write at data-block granularity (max(allocation unit, checksum block),
 * engine/geometry.ts; "block" below): a write never changes a block in place; it builds the
 * new content of every block it touches (reading the old content of partial edge blocks, every
 * checksum block of them verified), puts it in freshly allocated blocks with a checksum per
 * checksum block and remaps the range. A write smaller than a block costs a whole block. Small writes keep the new
 * blocks in memory until the next checkpoint writes them (their bytes are in the journal
 * record); large writes (LARGE_WRITE_BYTES or more) are written to the device before the
 * journal record that maps them, and the record carries only their placement.
 */
import type { Where } from './types.js';
import { checksum32 } from '../common/checksum.js';
import { assert } from '../common/assert.js';
import type { Extent } from '../alloc/index.js';
import { EXTENT_CSUMS_MAX, type ExtentRecord, decodeExtent, encodeExtent, extentKey, readU64BE } from './meta-keys.js';
import { type TxnContext, type Placement } from './txn-context.js';
import type { TreeReader } from '../btree/index.js';

/** Writes of at least this many bytes go to the device before their journal record. */
export const LARGE_WRITE_BYTES = 64 * 1024;

/**
 * Whether write data takes the large path: written to the device before its record, borrowed
 * rather than copied by Transaction.write, and placed at apply (so its record needs the apply).
 */
export function isLargeWrite(data: Uint8Array): boolean {
  return data.byteLength >= LARGE_WRITE_BYTES;
}

/** An extent record with its logical block. */
export interface MappedExtent extends ExtentRecord {
  lblock: number;
}

/** Extent records of `nid` overlapping logical blocks [b0, b1), in order. */
export function extentsIn(reader: TreeReader, nid: number, b0: number, b1: number, where: Where): MappedExtent[] {
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
export function punch(ctx: TxnContext, nid: number, b0: number, b1: number, where: Where): void {
  if (b1 <= b0) return;
  for (const e of extentsIn(ctx.extents, nid, b0, b1, where)) {
    const k = ctx.state.geometry.csumsPerBlock;
    ctx.extents.delete(extentKey(nid, e.lblock));
    const end = e.lblock + e.count;
    if (e.lblock < b0) putRecord(ctx, nid, e.lblock, e.pblock, e.csums.subarray(0, (b0 - e.lblock) * k));
    if (end > b1) putRecord(ctx, nid, b1, e.pblock + (b1 - e.lblock), e.csums.subarray((b1 - e.lblock) * k));
    const from = Math.max(e.lblock, b0);
    const to = Math.min(end, b1);
    ctx.releaseBlocks(e.pblock + (from - e.lblock), to - from);
  }
}

/** Puts the record mapping blocks from `lblock` to `pblock` on with `csums` (k per block). */
function putRecord(ctx: TxnContext, nid: number, lblock: number, pblock: number, csums: Uint32Array): void {
  const count = csums.length / ctx.state.geometry.csumsPerBlock;
  assert(Number.isInteger(count) && count >= 1 && csums.length <= EXTENT_CSUMS_MAX, 'extent record size');
  ctx.extents.put(extentKey(nid, lblock), encodeExtent({ pblock, count, csums: Uint32Array.from(csums) }));
}

/** Maps logical blocks from `lblock` onto `extents` (in order) with their checksums. */
function mapExtents(ctx: TxnContext, nid: number, lblock: number, extents: Extent[], csums: Uint32Array): void {
  const { blockBytes, csumsPerBlock: k } = ctx.state.geometry;
  const perRecord = EXTENT_CSUMS_MAX / k;
  let l = lblock;
  let c = 0;
  for (const extent of extents) {
    const first = extent.offset / blockBytes;
    const count = extent.length / blockBytes;
    assert(Number.isInteger(first) && Number.isInteger(count), 'data extent not aligned to the data block');
    for (let done = 0; done < count; done += perRecord) {
      const n = Math.min(perRecord, count - done);
      putRecord(ctx, nid, l, first + done, csums.subarray(c * k, (c + n) * k));
      l += n;
      c += n;
    }
  }
  assert(c * k === csums.length, 'placement does not cover its checksums');
}

/** The current bytes of logical block `lblock` (zeros for a hole), every checksum verified. */
export function readLogicalBlockSync(ctx: TxnContext, nid: number, lblock: number, where: Where): Buffer {
  const { blockBytes, csumsPerBlock: k } = ctx.state.geometry;
  const [e] = extentsIn(ctx.extents, nid, lblock, lblock + 1, where);
  if (e === undefined) return Buffer.alloc(blockBytes);
  const i = lblock - e.lblock;
  return Buffer.from(ctx.readBlockSync(e.pblock + i, e.csums.subarray(i * k, (i + 1) * k),
    (at) => `${where} offset ${lblock * blockBytes + at}`));
}

/**
 * Writes `data` at byte `offset` of object `nid` (copy-on-write). Only the data of a write op
 * may take the large path (`journaled` false): its placement is journaled under the op's index,
 * so there must be one per op. Copies made by clone and cloneRange go the small path; replay
 * recomputes them from the source, which replay has restored by then.
 */
export function writeRange(ctx: TxnContext, nid: number, offset: number, data: Uint8Array, where: Where, largeAllowed = true): void {
  if (data.byteLength === 0) return;
  const B = ctx.state.geometry.blockBytes;
  const b0 = Math.floor(offset / B);
  const b1 = Math.ceil((offset + data.byteLength) / B);
  const key = `${ctx.transactionIndex}:${ctx.opIndex}`;
  const replayed = largeAllowed ? ctx.replayPlacements?.get(key) : undefined;
  if (replayed !== undefined) {
    punch(ctx, nid, b0, b1, where);
    mapExtents(ctx, nid, b0, replayed.extents, replayed.csums);
    // allocated at mount (markUsed), not here
    ctx.dataBlocksDelta += replayed.csums.length / ctx.state.geometry.csumsPerBlock;
    return;
  }
  const large = largeAllowed && isLargeWrite(data);
  if (offset % B === 0 && data.byteLength % B === 0) {
    // Whole blocks: the blocks are views of `data` itself, no copy. Callers hand over bytes
    // nobody modifies while the store needs them: a Transaction's own copy, a fresh buffer, or
    // (large writes) the caller's borrowed buffer, which is durable on the device before the
    // transaction settles (store.ts writeLargeBlocks).
    placeBlocks(ctx, nid, b0, Buffer.from(data.buffer, data.byteOffset, data.byteLength), large, where);
    return;
  }
  // Every byte of `merged` is set below: the edge blocks from their old content, then the data.
  const merged = Buffer.allocUnsafe((b1 - b0) * B);
  const head = offset - b0 * B;
  if (head !== 0) readLogicalBlockSync(ctx, nid, b0, where).copy(merged, 0);
  const tailEnd = offset + data.byteLength;
  if (tailEnd % B !== 0 && (b1 - 1 > b0 || head === 0)) {
    readLogicalBlockSync(ctx, nid, b1 - 1, where).copy(merged, (b1 - 1 - b0) * B);
  }
  merged.set(data, head);
  placeBlocks(ctx, nid, b0, merged, large, where);
}

/** Puts whole blocks `merged` at logical block `b0`, replacing what was mapped there. */
function placeBlocks(ctx: TxnContext, nid: number, b0: number, merged: Buffer, large: boolean, where: Where): void {
  const { blockBytes: B, csumBlockBytes: C, csumsPerBlock: k } = ctx.state.geometry;
  const count = merged.byteLength / B;
  const csums = new Uint32Array(count * k);
  for (let i = 0; i < count * k; i++) csums[i] = checksum32(merged.subarray(i * C, (i + 1) * C));
  punch(ctx, nid, b0, b0 + count, where);
  const extents = ctx.allocateBlocks(count);
  let i = 0;
  for (const extent of extents) {
    for (let p = extent.offset / B; p < (extent.offset + extent.length) / B; p++, i++) {
      ctx.newBlocks.set(p, { bytes: merged.subarray(i * B, (i + 1) * B), large });
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
export function zeroRange(ctx: TxnContext, nid: number, offset: number, length: number, where: Where): void {
  if (length === 0) return;
  const B = ctx.state.geometry.blockBytes;
  const end = offset + length;
  const b0 = Math.floor(offset / B);
  const b1 = Math.ceil(end / B);
  const whole0 = Math.ceil(offset / B);
  const whole1 = Math.floor(end / B);
  if (whole1 > whole0) punch(ctx, nid, whole0, whole1, where);
  const edges = new Set<number>();
  if (offset % B !== 0) edges.add(b0);
  if (end % B !== 0) edges.add(b1 - 1);
  for (const lblock of edges) {
    const [e] = extentsIn(ctx.extents, nid, lblock, lblock + 1, where);
    if (e === undefined) continue; // a hole reads as zeros already
    const block = readLogicalBlockSync(ctx, nid, lblock, where);
    const from = Math.max(offset, lblock * B) - lblock * B;
    const to = Math.min(end, (lblock + 1) * B) - lblock * B;
    block.fill(0, from, to);
    placeBlocks(ctx, nid, lblock, block, false, where);
  }
}

/** Drops data at and beyond `size` (zeroing the tail of a partial last block). */
export function truncateData(ctx: TxnContext, nid: number, oldSize: number, size: number, where: Where): void {
  if (size >= oldSize) return;
  const B = ctx.state.geometry.blockBytes;
  const keep = Math.ceil(size / B);
  punch(ctx, nid, keep, Math.ceil(oldSize / B) + 1, where);
  if (size % B !== 0) zeroRange(ctx, nid, size, keep * B - size, where);
}

/**
 * Maps logical blocks [sb0, sb0 + n) of `src` onto [db0, db0 + n) of `dst` by sharing their
 * physical blocks (refs.ts): metadata only, no data I/O. Holes stay holes. The source's
 * records are read before the target range is punched, so overlapping ranges of one object
 * behave like memmove.
 */
export function shareRange(ctx: TxnContext, src: number, sb0: number, dst: number, db0: number, n: number, where: Where): void {
  if (n <= 0) return;
  const k = ctx.state.geometry.csumsPerBlock;
  const pieces = extentsIn(ctx.extents, src, sb0, sb0 + n, where).map((e) => {
    const from = Math.max(e.lblock, sb0);
    const to = Math.min(e.lblock + e.count, sb0 + n);
    return { lblock: from, pblock: e.pblock + (from - e.lblock), count: to - from,
      csums: e.csums.subarray((from - e.lblock) * k, (to - e.lblock) * k) };
  });
  for (const p of pieces) ctx.shareBlocks(p.pblock, p.count);
  punch(ctx, dst, db0, db0 + n, where);
  for (const p of pieces) putRecord(ctx, dst, p.lblock - sb0 + db0, p.pblock, p.csums);
}

/** Removes every extent of `nid`. */
export function removeData(ctx: TxnContext, nid: number, size: number, where: Where): void {
  punch(ctx, nid, 0, Math.ceil(size / ctx.state.geometry.blockBytes) + 1, where);
  // Blocks past the size cannot exist (truncate punches them), but sweep the whole nid range
  // so a damaged size can never leak extents.
  const rest = extentsIn(ctx.extents, nid, 0, Number.MAX_SAFE_INTEGER, where);
  for (const e of rest) punch(ctx, nid, e.lblock, e.lblock + e.count, where);
}
