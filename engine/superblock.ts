/**
 * engine/superblock.ts: the two superblocks at the start of every ebofs device.
 *
 * Device layout (all offsets in bytes, little-endian everywhere):
 *
 *   block 0          superblock copy A (written for even generations)
 *   block 1          superblock copy B (written for odd generations)
 *   [2, 2+J)         journal ring (journal/format.ts), J blocks
 *   [2+J, end)       data extents, metadata pages and the free-map blob, managed by alloc/
 *
 * Superblock (one 4096-byte block):
 *
 *   offset size type   field
 *   ------ ---- ----   ---------------------------------------------------------------
 *        0    4 u32    magic 0x42534245 ("EBSB")
 *        4    2 u16    format version (1)
 *        6    2 u16    flags: bit 0 = scrub freed space (zeroed before reuse); bit 1 = the
 *                      free-map blob has an extent table (free-map-blob.ts); unknown bits: EFORMAT
 *        8    8 u64    generation: +1 per checkpoint; the valid copy with the highest wins
 *       16   16 bytes  fsid (random at mkfs)
 *       32    8 u64    device size in bytes (as formatted)
 *       40    4 u32    block size (4096)
 *       44    4 u32    allocation unit bytes: power of two, 4 KiB..1 MiB (engine/geometry.ts)
 *       48    4 u32    stripe unit bytes
 *       52    4 u32    stripe width (data disks)
 *       56    4 u32    checksum block bytes: power of two, 4 KiB..1 MiB; the data block (extent
 *                      records' unit) is max(allocation unit, checksum block)
 *       60    4 u32    free-map blob's first extent, bytes
 *       64    8 u64    journal ring offset
 *       72    8 u64    journal ring bytes
 *       80    8 u64    journal id
 *       88    8 u64    replay cursor offset (first record not in this checkpoint)
 *       96    8 u64    replay cursor seq
 *      104    8 u64    fencing floor (epoch)
 *      112    8 u64    next object number (nid) to hand out
 *      120    8 u64    free-map blob offset: its first extent (0 = none)
 *      128    4 u32    free-map bytes (the encoded map, without the extent table)
 *      132    4 u32    tree header count T
 *      136    ...      T times: u16 length, then a btree tree header (btree/descriptor.ts)
 *     4052    4 u32    1 when the replay cursor link below is recorded (0: a store made before it)
 *     4056    8 u64    replay cursor link: xxh64 of the journal record header just before the
 *                      cursor (journal/types.ts), so a stale record of an earlier incarnation
 *                      sitting exactly at the cursor never replays
 *     4064    8 u64    space counters (space-accounting.ts): data blocks (of the data block size)
 *     4072    8 u64    stored bytes (sum of object sizes)
 *     4080    8 u64    omap bytes
 *     4088    4 u32    1 when the counters are valid (0: a store made before them; mount recounts)
 *     4092    4 u32    xxh32 of bytes 0..4091
 *
 * Invariants: the checksum matches; version is known; the geometry agrees with the device and
 * obeys engine/geometry.ts (stores made before it was configurable hold 4096/4096 there, the
 * default, so they decode and mount unchanged); the journal ring lies between the superblocks and the data region; the tree headers decode.
 * A checkpoint writes the copy the current generation does not use, so a torn superblock
 * write can never destroy the last good one: mount takes the valid copy with the highest
 * generation and ignores a damaged one (fsck reports it).
 */
import { checksum32 } from '../common/checksum.js';
import { CorruptionError, EbofsError } from '../common/errors.js';
import { readU64, writeU64 } from '../common/ints.js';
import type { SpaceCounters } from './space-accounting.js';
import { geometryOf } from './geometry.js';

export const SUPERBLOCK_MAGIC = 0x42534245;
export const SUPERBLOCK_VERSION = 1;
export const SUPERBLOCK_BYTES = 4096;
export const SUPERBLOCK_OFFSETS = [0, 4096] as const;
/** Most trees a superblock names (bounds its decoder). */
export const SUPERBLOCK_TREES_MAX = 16;
/** Superblock flag: freed space is zeroed before the allocator hands it out again (mkfs option). */
export const SUPERBLOCK_FLAG_SCRUB_FREED = 1;
/** Superblock flag: the free-map blob starts with a table of its extents (free-map-blob.ts). */
export const SUPERBLOCK_FLAG_FREE_MAP_TABLE = 2;
const SUPERBLOCK_FLAGS_KNOWN = SUPERBLOCK_FLAG_SCRUB_FREED | SUPERBLOCK_FLAG_FREE_MAP_TABLE;

export interface Superblock {
  generation: number;
  /** SUPERBLOCK_FLAG_* bits. */
  flags: number;
  fsid: Buffer;
  deviceBytes: number;
  blockBytes: number;
  allocUnitBytes: number;
  stripeUnitBytes: number;
  stripeWidth: number;
  csumBlockBytes: number;
  journalOffset: number;
  journalBytes: number;
  journalId: bigint;
  replayOffset: number;
  replaySeq: number;
  floor: number;
  nextNid: number;
  freeMapOffset: number;
  freeMapBytes: number;
  freeMapAllocBytes: number;
  trees: Uint8Array[];
  /** Link of the replay cursor (undefined: not recorded — replay cannot check the first record). */
  replayLink: bigint | undefined;
  /** statfs counters as of this checkpoint (undefined: not recorded; mount recounts). */
  counters: SpaceCounters | undefined;
}

/** Where the replay cursor link starts (validity word first); tree headers must end before it. */
const LINK_OFFSET = 4052;
/** Where the space counters start. */
const COUNTERS_OFFSET = 4064;

export function encodeSuperblock(sb: Superblock): Buffer {
  const buf = Buffer.alloc(SUPERBLOCK_BYTES);
  buf.writeUInt32LE(SUPERBLOCK_MAGIC, 0);
  buf.writeUInt16LE(SUPERBLOCK_VERSION, 4);
  buf.writeUInt16LE(sb.flags, 6);
  writeU64(buf, 8, sb.generation);
  sb.fsid.copy(buf, 16, 0, 16);
  writeU64(buf, 32, sb.deviceBytes);
  buf.writeUInt32LE(sb.blockBytes, 40);
  buf.writeUInt32LE(sb.allocUnitBytes, 44);
  buf.writeUInt32LE(sb.stripeUnitBytes, 48);
  buf.writeUInt32LE(sb.stripeWidth, 52);
  buf.writeUInt32LE(sb.csumBlockBytes, 56);
  buf.writeUInt32LE(sb.freeMapAllocBytes, 60);
  writeU64(buf, 64, sb.journalOffset);
  writeU64(buf, 72, sb.journalBytes);
  buf.writeBigUInt64LE(sb.journalId, 80);
  writeU64(buf, 88, sb.replayOffset);
  writeU64(buf, 96, sb.replaySeq);
  writeU64(buf, 104, sb.floor);
  writeU64(buf, 112, sb.nextNid);
  writeU64(buf, 120, sb.freeMapOffset);
  buf.writeUInt32LE(sb.freeMapBytes, 128);
  buf.writeUInt32LE(sb.trees.length, 132);
  let at = 136;
  for (const tree of sb.trees) {
    if (at + 2 + tree.byteLength > LINK_OFFSET) throw new EbofsError('E2BIG', 'tree headers overflow the superblock');
    buf.writeUInt16LE(tree.byteLength, at);
    buf.set(tree, at + 2);
    at += 2 + tree.byteLength;
  }
  if (sb.replayLink !== undefined) {
    buf.writeUInt32LE(1, LINK_OFFSET);
    buf.writeBigUInt64LE(sb.replayLink, LINK_OFFSET + 4);
  }
  if (sb.counters !== undefined) {
    writeU64(buf, COUNTERS_OFFSET, sb.counters.dataBlocks);
    writeU64(buf, COUNTERS_OFFSET + 8, sb.counters.storedBytes);
    writeU64(buf, COUNTERS_OFFSET + 16, sb.counters.omapBytes);
    buf.writeUInt32LE(1, COUNTERS_OFFSET + 24);
  }
  buf.writeUInt32LE(checksum32(buf.subarray(0, SUPERBLOCK_BYTES - 4)), SUPERBLOCK_BYTES - 4);
  return buf;
}

/** Decodes one copy; CorruptionError (ECHECKSUM/ECORRUPT) or EFORMAT when it is not valid. */
export function decodeSuperblock(buf: Buffer, where: string): Superblock {
  if (buf.readUInt32LE(0) !== SUPERBLOCK_MAGIC) {
    throw new CorruptionError('ECORRUPT', 'not an ebofs superblock (bad magic)', { location: where });
  }
  const stored = buf.readUInt32LE(SUPERBLOCK_BYTES - 4);
  const actual = checksum32(buf.subarray(0, SUPERBLOCK_BYTES - 4));
  if (stored !== actual) {
    throw new CorruptionError('ECHECKSUM', 'superblock checksum mismatch', {
      location: where, expected: stored.toString(16), actual: actual.toString(16),
    });
  }
  const version = buf.readUInt16LE(4);
  if (version !== SUPERBLOCK_VERSION || (buf.readUInt16LE(6) & ~SUPERBLOCK_FLAGS_KNOWN) !== 0) {
    throw new EbofsError('EFORMAT', `superblock format version ${version} is not supported`, { location: where });
  }
  geometryOf({ allocUnitBytes: buf.readUInt32LE(44), csumBlockBytes: buf.readUInt32LE(56) }, where);
  const count = buf.readUInt32LE(132);
  if (count > SUPERBLOCK_TREES_MAX) throw new CorruptionError('ECORRUPT', `tree count ${count}`, { location: where });
  const trees: Uint8Array[] = [];
  let at = 136;
  for (let i = 0; i < count; i++) {
    const length = buf.readUInt16LE(at);
    if (at + 2 + length > LINK_OFFSET) throw new CorruptionError('ECORRUPT', 'tree header overflow', { location: where });
    trees.push(Buffer.from(buf.subarray(at + 2, at + 2 + length)));
    at += 2 + length;
  }
  return {
    generation: readU64(buf, 8, where), flags: buf.readUInt16LE(6), fsid: Buffer.from(buf.subarray(16, 32)),
    deviceBytes: readU64(buf, 32, where), blockBytes: buf.readUInt32LE(40), allocUnitBytes: buf.readUInt32LE(44),
    stripeUnitBytes: buf.readUInt32LE(48), stripeWidth: buf.readUInt32LE(52), csumBlockBytes: buf.readUInt32LE(56),
    journalOffset: readU64(buf, 64, where), journalBytes: readU64(buf, 72, where), journalId: buf.readBigUInt64LE(80),
    replayOffset: readU64(buf, 88, where), replaySeq: readU64(buf, 96, where), floor: readU64(buf, 104, where),
    nextNid: readU64(buf, 112, where), freeMapOffset: readU64(buf, 120, where), freeMapBytes: buf.readUInt32LE(128), freeMapAllocBytes: buf.readUInt32LE(60),
    trees,
    replayLink: buf.readUInt32LE(LINK_OFFSET) === 1 ? buf.readBigUInt64LE(LINK_OFFSET + 4) : undefined,
    counters: buf.readUInt32LE(COUNTERS_OFFSET + 24) === 1 ? {
      dataBlocks: readU64(buf, COUNTERS_OFFSET, where), storedBytes: readU64(buf, COUNTERS_OFFSET + 8, where),
      omapBytes: readU64(buf, COUNTERS_OFFSET + 16, where),
    } : undefined,
  };
}

/** The copy a given generation is written to. */
export function superblockOffset(generation: number): number {
  return SUPERBLOCK_OFFSETS[generation % 2] as number;
}

/** What mount found in the two copies. */
export interface SuperblockChoice {
  chosen: Superblock;
  /** Problems with the other copy (empty when both are valid). */
  damaged: { offset: number; error: EbofsError }[];
}

/** Picks the valid copy with the highest generation; throws if neither is valid. */
export function chooseSuperblock(copies: { offset: number; bytes: Buffer }[]): SuperblockChoice {
  const valid: Superblock[] = [];
  const damaged: { offset: number; error: EbofsError }[] = [];
  for (const copy of copies) {
    try {
      valid.push(decodeSuperblock(copy.bytes, `superblock at offset ${copy.offset}`));
    } catch (err) {
      if (!(err instanceof EbofsError)) throw err;
      damaged.push({ offset: copy.offset, error: err });
    }
  }
  if (valid.length === 0) {
    const formatError = damaged.find((d) => d.error.code === 'EFORMAT');
    if (formatError !== undefined) throw formatError.error;
    const allBlank = damaged.every((d) => d.error.message.includes('bad magic'));
    if (allBlank) throw new EbofsError('EFORMAT', 'not an ebofs store (no superblock)');
    throw new CorruptionError('ECORRUPT', 'both superblock copies are damaged', { location: 'superblocks', cause: damaged[0]?.error });
  }
  valid.sort((a, b) => b.generation - a.generation);
  return { chosen: valid[0]!, damaged };
}
