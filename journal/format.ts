/**
 * journal/format.ts: the record format of the ebofs write-ahead journal.
 *
 * The journal is a ring region [ringStart, ringEnd) of a log device, block-aligned. It holds
 * a chain of records, each one or more whole blocks. A record never straddles ringEnd: when
 * the next record does not fit before ringEnd, the writer fills the rest of the ring with zeros
 * (the wrap pad) and continues at ringStart; the reader, finding an all-zero block where a
 * record header should be, continues at ringStart.
 *
 * Record = header (64 bytes) + payload + zero fill to the block boundary. Little-endian.
 *
 *   offset size type  field
 *   ------ ---- ----  -----------------------------------------------------------------
 *        0    4 u32   magic = 0x314a4245 ("EBJ1")
 *        4    2 u16   format version = 1
 *        6    2 u16   flags: 1 = FIRST fragment of an event, 2 = LAST fragment
 *        8    8 u64   journalId: chosen at mkfs; records of another journal never replay
 *       16    8 u64   nonce: chosen each time a journal is opened for writing
 *       24    8 u64   seq: record sequence number, +1 per record, never reused
 *       32    8 u64   prevLink: xxh64 of the previous record's 64 header bytes
 *       40    4 u32   payloadBytes
 *       44    4 u32   recordBlocks: blocks in this record, header included (>= 1)
 *       48    8 u64   payloadChecksum: xxh64 of the payload, seeded with seq
 *       56    4 u32   batch: number of the write+flush batch that wrote it (+1 per batch, wraps, never 0)
 *       60    4 u32   headerChecksum: xxh32 of bytes 0..59
 *       64    n       payload (payloadBytes), then zeros to recordBlocks * blockSize
 *
 * An event (what `append` was given) is one record flagged FIRST|LAST, or a run of records
 * with consecutive seqs: FIRST, zero or more middle fragments, LAST. Its id is the seq of its
 * FIRST record.
 *
 * Invariants (journal/check.ts verifies them):
 * - Replay starts at a cursor {offset, seq} the owner persisted and accepts record after record
 *   while each is valid: magic, version, header checksum, journalId, seq = expected,
 *   recordBlocks fits before ringEnd and agrees with payloadBytes, fragment flags continue the
 *   event in progress, prevLink = xxh64(previous header) (for the first record replayed: the
 *   cursor's link, when the owner kept it — see JournalCursor), payload checksum. The first record that fails ends the log: that is the valid write
 *   position. Replay yields only whole events; an event cut short ends the log at its FIRST.
 * - Stale records can never extend the chain: a record from an earlier lap has a lower seq; a
 *   record written by an earlier incarnation after the valid end links to a header that is not
 *   the one now before it, because every incarnation writes with a fresh nonce (so even a
 *   byte-identical payload gives a different header). That is how "what lies after the valid
 *   end is made unreplayable" without writing anything before new records go out. The record
 *   right after a persisted cursor has no header before it in the replay, so the cursor carries
 *   that header's link: an owner that trims up to the last durable event and crashes before the
 *   next one is durable must not see an earlier incarnation's record at that slot replayed.
 * - Everything in a record is covered by a checksum, so a torn write (any subset of its
 *   512-byte sectors) fails validation.
 * - Batches are written one after another, each after the previous one's flush completed. So a
 *   damaged record followed by a valid record of a later batch that links to it was durable:
 *   that is corruption (check.ts reports it), not a torn tail — a torn batch can leave a bad
 *   record followed by good ones of the same batch, which were never acknowledged.
 *
 * Versioning: a reader that finds a version it does not know treats the record as the end of
 * the log and reports EFORMAT through check(); flags bits other than 1 and 2 are reserved.
 *
 * Why xxh64 for payloads and links: one checksum covers up to a megabyte, and a false accept
 * would replay garbage; xxh32 suffices for the fixed 60-byte header, whose fields are also
 * cross-checked.
 */
import { assert } from '../common/assert.js';
import { checksum32, checksum64 } from '../common/checksum.js';
import { readU64, writeU64 } from '../common/ints.js';

export const RECORD_MAGIC = 0x314a4245;
export const RECORD_VERSION = 1;
export const RECORD_HEADER_BYTES = 64;
export const FLAG_FIRST = 1;
export const FLAG_LAST = 2;
const FLAGS_KNOWN = FLAG_FIRST | FLAG_LAST;

/** Smallest ring the journal accepts, in blocks (room for a few records and a wrap). */
export const RING_BLOCKS_MIN = 8;
/** Default largest record, payload and header included. Larger events are fragmented. */
export const RECORD_BYTES_DEFAULT = 1024 * 1024;
/** Largest record ever written (bounds a reader's buffer). */
export const RECORD_BYTES_MAX = 16 * 1024 * 1024;
/** Largest event by default; the configured maximum must leave the ring room to wrap. */
export const EVENT_BYTES_DEFAULT = 64 * 1024 * 1024;
/** Most appends written by one device write + flush (bounds a group-commit batch). */
export const BATCH_RECORDS_MAX = 4096;
/** Most bytes written by one group-commit batch. */
export const BATCH_BYTES_MAX = 32 * 1024 * 1024;

export interface RecordHeader {
  flags: number;
  journalId: bigint;
  nonce: bigint;
  seq: number;
  prevLink: bigint;
  /** The group-commit batch that wrote this record. */
  batch: number;
  payloadBytes: number;
  recordBlocks: number;
  payloadChecksum: bigint;
}

/** Blocks a record with `payloadBytes` of payload occupies. */
export function recordBlocksFor(payloadBytes: number, blockBytes: number): number {
  return Math.ceil((RECORD_HEADER_BYTES + payloadBytes) / blockBytes);
}

export function payloadChecksum(payload: Uint8Array, seq: number): bigint {
  return checksum64(payload, BigInt(seq));
}

/** Encodes `header` into the first 64 bytes of `target` (the rest is left alone). */
export function encodeHeader(header: RecordHeader, target: Uint8Array): void {
  assert(target.byteLength >= RECORD_HEADER_BYTES, 'header target too small');
  assert((header.flags & ~FLAGS_KNOWN) === 0, 'unknown record flags');
  const view = new DataView(target.buffer, target.byteOffset, RECORD_HEADER_BYTES);
  view.setUint32(0, RECORD_MAGIC, true);
  view.setUint16(4, RECORD_VERSION, true);
  view.setUint16(6, header.flags, true);
  view.setBigUint64(8, header.journalId, true);
  view.setBigUint64(16, header.nonce, true);
  writeU64(target, 24, header.seq);
  view.setBigUint64(32, header.prevLink, true);
  view.setUint32(40, header.payloadBytes, true);
  view.setUint32(44, header.recordBlocks, true);
  view.setBigUint64(48, header.payloadChecksum, true);
  view.setUint32(56, header.batch, true);
  view.setUint32(60, checksum32(target.subarray(0, 60)), true);
}

/** Why a block is not a valid header (for replay's stop reason and check()). */
export type HeaderProblem = 'zero' | 'magic' | 'version' | 'checksum' | 'fields';

/**
 * Decodes a header, or says why the bytes are not one. Never throws on bad bytes: replay treats
 * any problem as the end of the log.
 */
export function decodeHeader(block: Uint8Array, blockBytes: number): RecordHeader | HeaderProblem {
  const view = new DataView(block.buffer, block.byteOffset, RECORD_HEADER_BYTES);
  const magic = view.getUint32(0, true);
  if (magic !== RECORD_MAGIC) return isZero(block.subarray(0, RECORD_HEADER_BYTES)) ? 'zero' : 'magic';
  if (view.getUint32(60, true) !== checksum32(block.subarray(0, 60))) return 'checksum';
  if (view.getUint16(4, true) !== RECORD_VERSION) return 'version';
  const flags = view.getUint16(6, true);
  const payloadBytes = view.getUint32(40, true);
  const recordBlocks = view.getUint32(44, true);
  const hi = view.getUint32(28, true);
  const sane = (flags & ~FLAGS_KNOWN) === 0 && hi < 2 ** 21 && view.getUint32(56, true) !== 0 &&
    recordBlocks >= 1 && recordBlocks * blockBytes <= RECORD_BYTES_MAX &&
    recordBlocks === recordBlocksFor(payloadBytes, blockBytes);
  if (!sane) return 'fields';
  return {
    flags,
    journalId: view.getBigUint64(8, true),
    nonce: view.getBigUint64(16, true),
    seq: readU64(block, 24),
    prevLink: view.getBigUint64(32, true),
    batch: view.getUint32(56, true),
    payloadBytes,
    recordBlocks,
    payloadChecksum: view.getBigUint64(48, true),
  };
}

/** The link the next record stores: xxh64 of this record's 64 header bytes. */
export function headerLink(headerBytes: Uint8Array): bigint {
  return checksum64(headerBytes.subarray(0, RECORD_HEADER_BYTES));
}

export function isZero(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.byteLength; i++) if (bytes[i] !== 0) return false;
  return true;
}
