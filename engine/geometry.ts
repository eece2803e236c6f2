/**
 * engine/geometry.ts: the data geometry of a store — allocation unit and checksum block, fixed
 * at mkfs, recorded in the superblock (bytes 44 and 56) and honoured by every later mount.
 *
 * They play BlueStore's bluestore_min_alloc_size and bluestore_csum_block_size:
 *
 * - allocation unit (A): the smallest piece of device space an object's data takes; data
 *   extents start on a multiple of it and are a multiple of it long.
 * - checksum block (C): the bytes one xxh32 covers. Every read verifies each whole checksum
 *   block that holds a byte it returns; deep fsck and replay verify them all.
 *
 * Rules (EINVAL at mkfs, nothing written; a superblock breaking them is ECORRUPT):
 * - both are powers of two in [GEOMETRY_BYTES_MIN, GEOMETRY_BYTES_MAX] = [4 KiB, 1 MiB];
 * - being powers of two, one divides the other. The store-wide **data block** is the larger,
 *   D = max(A, C): the unit of extent records (logical and physical block numbers count data
 *   blocks), of copy-on-write (a write of less than D rewrites the whole data block, read-
 *   modify-write of its old bytes, every checksum block of it verified first), of clone
 *   sharing (cloneRange shares whole data blocks when the offsets agree modulo D), of lazy
 *   reclamation marks and of the statfs `allocated` counter. When C > A the data block is C:
 *   a checksum block is rewritten whole, so space is taken in checksum blocks (A then only
 *   bounds nothing smaller than C; documented, not refused);
 * - D / C <= CSUMS_PER_BLOCK_MAX (64): one extent record holds at most 64 checksums (it must
 *   fit a btree cell), so a 1 MiB allocation unit needs checksum blocks of 16 KiB or more.
 *
 * The device block stays 4096 (DEVICE_BLOCK_SIZE_BYTES): superblocks, journal, metadata
 * pages and the free-map blob are unaffected. The default, 4096/4096, is exactly the format of
 * stores made before geometry was configurable (data block = device block), so they mount
 * unchanged.
 */
import { EbofsError, CorruptionError } from '../common/errors.js';
import { assert } from '../common/assert.js';
import { isPowerOfTwo } from '../common/ints.js';

/** Smallest allocation unit or checksum block (the device block). */
export const GEOMETRY_BYTES_MIN = 4096;
/** Largest allocation unit or checksum block. */
export const GEOMETRY_BYTES_MAX = 1024 * 1024;
/** Default allocation unit (bluestore_min_alloc_size for SSDs). */
export const ALLOC_UNIT_BYTES_DEFAULT = 4096;
/** Default checksum block (bluestore_csum_block_size). */
export const CSUM_BLOCK_BYTES_DEFAULT = 4096;
/** Most checksum blocks in one data block (an extent record's checksums must fit a cell). */
export const CSUMS_PER_BLOCK_MAX = 64;

assert(isPowerOfTwo(GEOMETRY_BYTES_MIN) && isPowerOfTwo(GEOMETRY_BYTES_MAX), 'geometry limits are powers of two');
assert(GEOMETRY_BYTES_MAX / GEOMETRY_BYTES_MIN >= CSUMS_PER_BLOCK_MAX, 'the ratio limit binds');

/** The data geometry of a mounted store. */
export interface DataGeometry {
  readonly allocUnitBytes: number;
  readonly csumBlockBytes: number;
  /** max(allocUnitBytes, csumBlockBytes): the unit of extent records, copy-on-write and sharing. */
  readonly blockBytes: number;
  /** blockBytes / csumBlockBytes: checksums per data block. */
  readonly csumsPerBlock: number;
}

/** Why (allocUnit, csumBlock) is not a valid geometry, or undefined when it is. */
export function geometryProblem(allocUnitBytes: number, csumBlockBytes: number): string | undefined {
  for (const [name, v] of [['allocation unit', allocUnitBytes], ['checksum block', csumBlockBytes]] as const) {
    if (!Number.isSafeInteger(v) || !isPowerOfTwo(v) || v < GEOMETRY_BYTES_MIN || v > GEOMETRY_BYTES_MAX) {
      return `${name} ${v} is not a power of two in [${GEOMETRY_BYTES_MIN}, ${GEOMETRY_BYTES_MAX}]`;
    }
  }
  if (allocUnitBytes / csumBlockBytes > CSUMS_PER_BLOCK_MAX) {
    return `allocation unit ${allocUnitBytes} holds more than ${CSUMS_PER_BLOCK_MAX} checksum blocks of ${csumBlockBytes}`;
  }
  return undefined;
}

function make(allocUnitBytes: number, csumBlockBytes: number): DataGeometry {
  const blockBytes = Math.max(allocUnitBytes, csumBlockBytes);
  return Object.freeze({ allocUnitBytes, csumBlockBytes, blockBytes, csumsPerBlock: blockBytes / csumBlockBytes });
}

/** mkfs: the geometry the options ask for (defaults 4096/4096); EINVAL when not valid. */
export function chooseGeometry(options: { allocUnitBytes?: number; csumBlockBytes?: number }): DataGeometry {
  const a = options.allocUnitBytes ?? ALLOC_UNIT_BYTES_DEFAULT;
  const c = options.csumBlockBytes ?? CSUM_BLOCK_BYTES_DEFAULT;
  const problem = geometryProblem(a, c);
  if (problem !== undefined) throw new EbofsError('EINVAL', problem);
  return make(a, c);
}

/** Mount: the geometry a (checksummed) superblock records; ECORRUPT when not valid. */
export function geometryOf(sb: { allocUnitBytes: number; csumBlockBytes: number }, where: string): DataGeometry {
  const problem = geometryProblem(sb.allocUnitBytes, sb.csumBlockBytes);
  if (problem !== undefined) throw new CorruptionError('ECORRUPT', `superblock geometry: ${problem}`, { location: where });
  return make(sb.allocUnitBytes, sb.csumBlockBytes);
}

/** The default geometry (4096/4096): the format of every store made before it was configurable. */
export const DEFAULT_GEOMETRY: DataGeometry = make(ALLOC_UNIT_BYTES_DEFAULT, CSUM_BLOCK_BYTES_DEFAULT);
