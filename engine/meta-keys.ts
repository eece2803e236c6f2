/**
 * engine/meta-keys.ts: the keys and records of the engine's metadata trees.
 *
 * Five B+trees (btree/) on one page store hold all metadata; the superblock names their roots.
 * Object parts are keyed by a per-object number (nid) rather than by the object id, so a
 * rename or a collection split moves one onode record and nothing else. Big-endian numbers in
 * keys (byte order = numeric order); little-endian in values, like every other ebofs format.
 *
 *   tree         key                                                   value
 *   ----------   ---------------------------------------------------   ------------------------
 *   collections  cid bytes (latin1)                                    u32 bits
 *   onodes       escaped cid, then the ghobject key (engine/oid-key)   onode record (below)
 *   extents      u64be nid, u64be logical block                        extent record (below)
 *   xattrs       u64be nid, u8 name length, name, u16be chunk          chunk (chunked value)
 *   omap         u64be nid, u8 0 (header) | u8 1 + escaped key, u16be chunk   chunk
 *
 *   names        u64be nid, u16be chunk                                 chunk: the full onode key
 *
 * Onode record (48 bytes, then inline data): u64 nid, u64 size, u32 xattr count, u32 xattr
 * bytes, u64 alloc hint object size, u64 alloc hint write size, u32 alloc hint flags, u32 flags
 * (bit 0: long key; bit 1: inline data). With the inline flag the record is followed by the
 * object's `size` data bytes and the object has no live extent record (object-data.ts): small
 * objects cost no data block, no extent record and no checkpoint data write.
 *
 * Long keys. Ceph allows 2048-byte names (and keys), so an encoded onode key can reach
 * several KiB, beyond a btree key. A key longer than ONODE_KEY_INLINE_MAX is stored as its
 * first LONG_KEY_PREFIX_BYTES bytes, 0xFF, and the xxh64 of the whole key (onode-keys.ts); the
 * full key lives in the names tree under the object's nid. Every stored key of
 * LONG_KEY_PREFIX_BYTES or more is listed through its prefix group, re-sorted by full key, so
 * listing order stays exactly Ceph's.
 *
 * Extent record: u64 physical block, u16 block count n (1..EXTENT_BLOCKS_MAX), then n * k u32
 * xxh32 checksums, k = data block / checksum block (engine/geometry.ts), one per checksum
 * block in order; n * k <= EXTENT_CSUMS_MAX. Blocks (the key's logical block, the physical
 * block, n) count data blocks of the store's size, max(allocation unit, checksum block): with
 * the default geometry (4096/4096, k = 1) this is exactly the record of stores made before
 * geometry was configurable. The decoder needs no geometry (k = checksums / n); fsck checks
 * that k matches the superblock's. Records of one object never overlap.
 *
 * Chunked values: a value longer than one cell is split over consecutive chunk keys; chunk 0
 * starts with a u32 total length. Chunk sizes adapt to the key length so every cell fits a
 * page (btree's cellSizeMax).
 *
 * Invariants (fsck): every extents/xattrs/omap key's nid belongs to exactly one onode; chunks
 * of one value are numbered 0..k-1 with no gaps and their lengths add up to chunk 0's total.
 */
import { CorruptionError, EbofsError } from '../common/errors.js';
import { readU64, writeU64 } from '../common/ints.js';
import { writeEscaped } from './oid-key.js';
import type { Where } from './types.js';

/** Checksums one extent record holds (keeps records small: 10 + 4 * 64 bytes fits a cell). */
export const EXTENT_CSUMS_MAX = 64;
/** Data blocks one extent record may cover (EXTENT_CSUMS_MAX / checksums per block of them). */
export const EXTENT_BLOCKS_MAX = EXTENT_CSUMS_MAX;
export const ONODE_RECORD_BYTES = 48;
/** Onode flag: the stored key is the long form (full key in the names tree). */
export const ONODE_FLAG_LONG_KEY = 1;
/** Onode flag: the object's data follows the record (inline). */
export const ONODE_FLAG_INLINE = 2;
const ONODE_FLAGS_KNOWN = ONODE_FLAG_LONG_KEY | ONODE_FLAG_INLINE;
/** Largest key the metadata trees accept (btree KEY_SIZE_MAX_BYTES leaves room for values). */
export const META_KEY_BYTES_MAX = 960;

export interface OnodeRecord {
  nid: number;
  size: number;
  xattrCount: number;
  xattrBytes: number;
  hintObjectSize: number;
  hintWriteSize: number;
  hintFlags: number;
  flags: number;
  /** The data of an inline object (exactly `size` bytes; ONODE_FLAG_INLINE set). */
  inline?: Buffer;
}

export function encodeOnode(o: OnodeRecord): Buffer {
  const inline = (o.flags & ONODE_FLAG_INLINE) !== 0 ? o.inline : undefined;
  const buf = Buffer.alloc(ONODE_RECORD_BYTES + (inline?.byteLength ?? 0));
  if (inline !== undefined) inline.copy(buf, ONODE_RECORD_BYTES);
  writeU64(buf, 0, o.nid);
  writeU64(buf, 8, o.size);
  buf.writeUInt32LE(o.xattrCount, 16);
  buf.writeUInt32LE(o.xattrBytes, 20);
  writeU64(buf, 24, o.hintObjectSize);
  writeU64(buf, 32, o.hintWriteSize);
  buf.writeUInt32LE(o.hintFlags, 40);
  buf.writeUInt32LE(o.flags, 44);
  return buf;
}

/** readU64 (common/ints.ts) with its error, `where` formatted only when it throws. */
function u64(buf: Buffer, offset: number, where: Where): number {
  const hi = buf.readUInt32LE(offset + 4);
  if (hi >= 2 ** 21) return readU64(buf, offset, String(where));
  return hi * 2 ** 32 + buf.readUInt32LE(offset);
}

export function decodeOnode(bytes: Uint8Array, where: Where): OnodeRecord {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const flags = buf.byteLength >= ONODE_RECORD_BYTES ? buf.readUInt32LE(44) : 0;
  const size = buf.byteLength >= ONODE_RECORD_BYTES ? u64(buf, 8, where) : 0;
  const inline = (flags & ONODE_FLAG_INLINE) !== 0;
  if (buf.byteLength !== ONODE_RECORD_BYTES + (inline ? size : 0) || (flags & ~ONODE_FLAGS_KNOWN) !== 0) {
    throw new CorruptionError('ECORRUPT', `onode record of ${bytes.byteLength} bytes (flags ${flags})`, { location: String(where) });
  }
  const o: OnodeRecord = {
    nid: u64(buf, 0, where), size, xattrCount: buf.readUInt32LE(16),
    xattrBytes: buf.readUInt32LE(20), hintObjectSize: u64(buf, 24, where), hintWriteSize: u64(buf, 32, where),
    hintFlags: buf.readUInt32LE(40), flags,
  };
  if (inline) o.inline = Buffer.from(buf.subarray(ONODE_RECORD_BYTES));
  return o;
}

export interface ExtentRecord {
  /** First physical data block. */
  pblock: number;
  /** Data blocks mapped. */
  count: number;
  /** One checksum per checksum block: count * (data block / checksum block) of them. */
  csums: Uint32Array;
}

export function encodeExtent(e: ExtentRecord): Buffer {
  const n = e.csums.length;
  const buf = Buffer.alloc(10 + 4 * n);
  writeU64(buf, 0, e.pblock);
  buf.writeUInt16LE(e.count, 8);
  for (let i = 0; i < n; i++) buf.writeUInt32LE(e.csums[i]!, 10 + 4 * i);
  return buf;
}

export function decodeExtent(bytes: Uint8Array, where: Where): ExtentRecord {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = buf.byteLength >= 10 ? buf.readUInt16LE(8) : 0;
  const csumCount = (buf.byteLength - 10) / 4;
  if (count < 1 || count > EXTENT_BLOCKS_MAX || !Number.isInteger(csumCount) || csumCount < count ||
    csumCount > EXTENT_CSUMS_MAX || csumCount % count !== 0) {
    throw new CorruptionError('ECORRUPT', `bad extent record (${buf.byteLength} bytes, ${count} blocks)`, { location: String(where) });
  }
  const csums = new Uint32Array(csumCount);
  for (let i = 0; i < csumCount; i++) csums[i] = buf.readUInt32LE(10 + 4 * i);
  return { pblock: u64(buf, 0, where), count, csums };
}

/** u64 big-endian (keys sort numerically). */
export function writeU64BE(buf: Buffer, at: number, value: number): void {
  buf.writeUInt32BE(Math.floor(value / 2 ** 32), at);
  buf.writeUInt32BE(value >>> 0, at + 4);
}

export function readU64BE(buf: Uint8Array, at: number): number {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  return b.readUInt32BE(at) * 2 ** 32 + b.readUInt32BE(at + 4);
}

export function extentKey(nid: number, lblock: number): Buffer {
  const key = Buffer.alloc(16);
  writeU64BE(key, 0, nid);
  writeU64BE(key, 8, lblock);
  return key;
}

/** [start, end) of every key of `nid` in a nid-prefixed tree. */
export function nidRange(nid: number): { start: Buffer; end: Buffer } {
  const start = Buffer.alloc(8);
  writeU64BE(start, 0, nid);
  const end = Buffer.alloc(8);
  writeU64BE(end, 0, nid + 1);
  return { start, end };
}

/** Base key of an object's full onode key in the names tree. */
export function nameBase(nid: number): Buffer {
  const key = Buffer.alloc(8);
  writeU64BE(key, 0, nid);
  return key;
}

/** Base key (without the chunk suffix) of xattr `name`. */
export function xattrBase(nid: number, name: Uint8Array): Buffer {
  if (name.byteLength > 255) throw new EbofsError('E2BIG', `xattr name of ${name.byteLength} bytes`);
  const key = Buffer.alloc(9 + name.byteLength);
  writeU64BE(key, 0, nid);
  key[8] = name.byteLength;
  key.set(name, 9);
  return key;
}

export function xattrNameOf(base: Uint8Array): Buffer {
  return Buffer.from(base.subarray(9, 9 + base[8]!));
}

export const OMAP_KIND_HEADER = 0;
export const OMAP_KIND_ENTRY = 1;

export function omapHeaderBase(nid: number): Buffer {
  const key = Buffer.alloc(9);
  writeU64BE(key, 0, nid);
  key[8] = OMAP_KIND_HEADER;
  return key;
}

/** Base key of omap entry `key`: escaped and terminated, so byte order = omap key order. */
export function omapEntryBase(nid: number, omapKey: Uint8Array): Buffer {
  let zeros = 0;
  for (const b of omapKey) if (b === 0) zeros++;
  const out = Buffer.alloc(9 + omapKey.byteLength + zeros + 2);
  writeU64BE(out, 0, nid);
  out[8] = OMAP_KIND_ENTRY;
  writeEscaped(out, 9, omapKey);
  if (out.byteLength + 2 > META_KEY_BYTES_MAX) {
    throw new EbofsError('E2BIG', `omap key of ${omapKey.byteLength} bytes exceeds the ${META_KEY_BYTES_MAX - 13}-byte key limit`);
  }
  return out;
}
