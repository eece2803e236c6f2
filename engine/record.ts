/**
 * engine/record.ts: the payload of one journal event — a transaction vector as queued, with
 * the placement of its large writes.
 *
 *   offset size type  field
 *        0    4 u32   magic 0x58544245 ("EBTX")
 *        4    2 u16   version (1; 2 for a cancel record, which a reader from before cancel
 *                      records would take for an empty vector and so must refuse)
 *        6    2 u16   flags: bit 0 CANCELS_PREVIOUS (version 2 only, then T = 0 and P = 0)
 *        8    4 u32   transaction count T
 *       12         T times: u32 length, then encodeTransaction() bytes (engine/transaction.ts);
 *                  a large write's data is left out (empty), its length is in the placement
 *             4 u32   placement count P
 *                  P times: u32 transaction index, u32 op index, u64 data length,
 *                           u32 extent count E, E times (u64 offset, u64 length),
 *                           u32 checksum count C, C times u32 (xxh32 per checksum block of
 *                           the store's geometry, engine/geometry.ts: 4 KiB by default)
 *
 * Invariants: the journal checksums the whole payload; placements name write ops of the
 * vector (at most one each); their extents were written before this record and flushed with
 * it; replay refuses the event unless every placed block matches its checksum.
 * Replay applies the ops again; a placed write maps its extents instead of allocating.
 *
 * Cancel records: a vector without large writes is appended before it is applied (so its
 * journal write overlaps the apply, engine/store.ts). When the apply then rejects it, the very
 * next event is a cancel record (flag CANCELS_PREVIOUS, no transactions), appended in the same
 * synchronous step, and the caller hears of the rejection only once the cancel is durable.
 * Replay skips an event followed by a cancel; an event that fails to apply is skipped only
 * when it is the last one (its cancel did not survive the crash, and it was never
 * acknowledged) — anywhere else that is corruption.
 */
import { CorruptionError, EbofsError } from '../common/errors.js';
import { readU64, writeU64 } from '../common/ints.js';
import { assert } from '../common/assert.js';
import { Transaction } from './transaction.js';
import { TransactionEncoder, decodeTransaction } from './transaction-codec.js';
import type { Placement } from './txn-context.js';

const MAGIC = 0x58544245;
const VERSION = 1;
const CANCEL_VERSION = 2;
const FLAG_CANCELS_PREVIOUS = 1;
/** Payload bytes of a cancel record (header, transaction count 0, placement count 0). */
export const CANCEL_RECORD_BYTES = 16;

/** The record that cancels the event appended right before it (see the head comment). */
export function encodeCancelRecord(): Buffer {
  const buf = Buffer.alloc(CANCEL_RECORD_BYTES);
  buf.writeUInt32LE(MAGIC, 0);
  buf.writeUInt16LE(CANCEL_VERSION, 4);
  buf.writeUInt16LE(FLAG_CANCELS_PREVIOUS, 6);
  return buf;
}

/**
 * Encodes the record of a vector into one buffer from `alloc` (every byte is written, so it
 * may be uninitialised memory: the journal lends a buffer it appends without copying).
 */
export function encodeRecord(
  ts: readonly Transaction[], placements: readonly Placement[], alloc: (bytes: number) => Buffer = Buffer.allocUnsafe,
): Buffer {
  const encoders = ts.map((t, ti) => {
    const placed = placements.length === 0 ? undefined : new Set(placements.filter((p) => p.transactionIndex === ti).map((p) => p.opIndex));
    if (placed === undefined || placed.size === 0) return new TransactionEncoder(t);
    return new TransactionEncoder(t, (oi) => placed.has(oi) && t.ops[oi]?.type === 'write');
  });
  let size = 12 + 4;
  for (const e of encoders) size += 4 + e.byteLength;
  for (const p of placements) size += 24 + p.extents.length * 16 + p.csums.length * 4;
  const buf = alloc(size);
  buf.writeUInt32LE(MAGIC, 0);
  buf.writeUInt16LE(VERSION, 4);
  buf.writeUInt16LE(0, 6);
  buf.writeUInt32LE(ts.length, 8);
  let at = 12;
  for (const e of encoders) {
    buf.writeUInt32LE(e.byteLength, at);
    e.writeTo(buf, at + 4);
    at += 4 + e.byteLength;
  }
  buf.writeUInt32LE(placements.length, at);
  at += 4;
  for (const p of placements) {
    const op = ts[p.transactionIndex]?.ops[p.opIndex];
    const length = op !== undefined && op.type === 'write' ? op.data.byteLength : 0;
    buf.writeUInt32LE(p.transactionIndex, at);
    buf.writeUInt32LE(p.opIndex, at + 4);
    writeU64(buf, at + 8, length);
    buf.writeUInt32LE(p.extents.length, at + 16);
    at += 20;
    for (const e of p.extents) {
      writeU64(buf, at, e.offset);
      writeU64(buf, at + 8, e.length);
      at += 16;
    }
    buf.writeUInt32LE(p.csums.length, at);
    at += 4;
    for (const c of p.csums) {
      buf.writeUInt32LE(c, at);
      at += 4;
    }
  }
  assert(at === size, 'record encoding size mismatch');
  return buf;
}

export interface DecodedRecord {
  transactions: Transaction[];
  placements: Map<string, Placement>;
  /** A cancel record: the event before it is not applied (see the head comment). */
  cancelsPrevious: boolean;
}

export function decodeRecord(buf: Buffer, where: string): DecodedRecord {
  const bad = (msg: string): never => { throw new CorruptionError('ECORRUPT', `journal record: ${msg}`, { location: where }); };
  const need = (at: number, n: number): void => { if (at + n > buf.byteLength) bad('truncated'); };
  need(0, 12);
  if (buf.readUInt32LE(0) !== MAGIC) bad('bad magic');
  const version = buf.readUInt16LE(4);
  if (version !== VERSION && version !== CANCEL_VERSION) throw new EbofsError('EFORMAT', `journal record version ${version}`);
  const flags = buf.readUInt16LE(6);
  const cancelsPrevious = version === CANCEL_VERSION;
  if (flags !== (cancelsPrevious ? FLAG_CANCELS_PREVIOUS : 0)) bad(`flags ${flags} in a version ${version} record`);
  const count = buf.readUInt32LE(8);
  if (cancelsPrevious && (count !== 0 || buf.byteLength !== CANCEL_RECORD_BYTES)) bad('a cancel record carries transactions');
  let at = 12;
  const bodies: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    need(at, 4);
    const length = buf.readUInt32LE(at);
    need(at + 4, length);
    bodies.push(buf.subarray(at + 4, at + 4 + length));
    at += 4 + length;
  }
  need(at, 4);
  const placementCount = buf.readUInt32LE(at);
  at += 4;
  const placements = new Map<string, Placement>();
  const lengths = new Map<string, number>();
  for (let i = 0; i < placementCount; i++) {
    need(at, 20);
    const transactionIndex = buf.readUInt32LE(at);
    const opIndex = buf.readUInt32LE(at + 4);
    const dataLength = readU64(buf, at + 8, where);
    const extentCount = buf.readUInt32LE(at + 16);
    at += 20;
    need(at, extentCount * 16 + 4);
    const extents = [];
    for (let e = 0; e < extentCount; e++) {
      extents.push({ offset: readU64(buf, at, where), length: readU64(buf, at + 8, where) });
      at += 16;
    }
    const csumCount = buf.readUInt32LE(at);
    at += 4;
    need(at, csumCount * 4);
    const csums = new Uint32Array(csumCount);
    for (let c = 0; c < csumCount; c++) csums[c] = buf.readUInt32LE(at + 4 * c);
    at += csumCount * 4;
    placements.set(`${transactionIndex}:${opIndex}`, { transactionIndex, opIndex, extents, csums });
    lengths.set(`${transactionIndex}:${opIndex}`, dataLength);
  }
  if (at !== buf.byteLength) bad('trailing bytes');
  const transactions = bodies.map((body, ti) => restoreLengths(decodeTransaction(body, `${where} transaction ${ti}`), ti, lengths));
  return { transactions, placements, cancelsPrevious };
}

/** Gives each placed write a zero buffer of its original length (replay maps, never reads it). */
function restoreLengths(t: Transaction, ti: number, lengths: Map<string, number>): Transaction {
  if (![...lengths.keys()].some((k) => k.startsWith(`${ti}:`))) return t;
  return Transaction.fromOps(t.ops.map((op, oi) => {
    const length = lengths.get(`${ti}:${oi}`);
    return length !== undefined && op.type === 'write' ? { ...op, data: new Uint8Array(length) } : op;
  }), t.epoch);
}
