/**
 * alloc/ constants, limits and the serialized free-map format (the one home of every layout
 * number of this folder; alloc/codec.ts reads and writes it).
 *
 * The engine persists the free map at every checkpoint (`Allocator.encode`) and loads it at mount
 * (`Allocator.decode`); fsck can instead rebuild it from the used extents (`rebuildFromUsed`).
 * Reservations and the open stripe are deliberately not persisted: reservations are an in-memory
 * promise to a running OSD, and a fresh open stripe is chosen after mount.
 *
 * Byte layout, version 1. All integers little-endian (as everywhere in ebofs). Byte offsets and
 * lengths are stored in bytes, not allocation units, so a reader never has to know the unit to
 * interpret an extent.
 *
 * ```
 *  offset      size  type  meaning
 *  0           4     u32   magic 0x4c414245 (the bytes "EBAL")
 *  4           2     u16   format version (1)
 *  6           2     u16   flags; no flag is defined, any set bit -> EFORMAT
 *  8           4     u32   allocation unit, bytes (power of two, 4 KiB .. 1 MiB)
 *  12          4     u32   stripe unit, bytes (multiple of the allocation unit)
 *  16          4     u32   stripe width (data disks, 1 = no striping)
 *  20          4     u32   reserved, zero
 *  24          8     u64   capacity, bytes (multiple of the allocation unit)
 *  32          8     u64   durable generation (last generation passed to markDurable)
 *  40          8     u64   next-fit cursor, byte offset (< capacity)
 *  48          8     u64   F = number of free extents
 *  56          8     u64   D = number of deferred (freed, not yet durable) extents
 *  64          16*F        free extents: u64 offset, u64 length
 *  64+16F      24*D        deferred extents: u64 offset, u64 length, u64 generation
 *  64+16F+24D  4     u32   checksum32 (xxh32, seed 0) of every byte before it
 * ```
 *
 * Invariants (decode rejects a map that breaks one with CorruptionError ECORRUPT):
 * - total length is exactly 68 + 16F + 24D;
 * - every offset and length is a multiple of the allocation unit, every length > 0, every
 *   extent ends at or before the capacity;
 * - free extents are sorted by offset and neither overlap nor touch (they are maximal);
 * - deferred extents overlap neither each other nor a free extent; their generation is greater
 *   than the durable generation.
 *
 * Versioning: a reader refuses a version greater than its own, or any unknown flag bit, with
 * EbofsError EFORMAT (it cannot know what the new fields mean). Version 0 is invalid. A change
 * of layout takes a new version number; retired numbers are listed here and never reused.
 * Every version keeps the magic and version at offsets 0 and 4 and the trailing checksum32 over
 * all bytes before it, so an old reader (which verifies the checksum first) reports a newer map
 * as EFORMAT rather than as damage.
 *
 * Why: one trailing checksum over the whole map (rather than per-extent) because the map is
 * read and written as one unit at checkpoint time; fixed 16-byte records (rather than varints)
 * so a decoder can validate the length before parsing and a corrupt count can never make it
 * read past the end. The geometry is recorded so a map is never applied to a device formatted
 * with a different unit or stripe.
 */
import { assert } from '../common/assert.js';
import { isPowerOfTwo } from '../common/ints.js';

/** "EBAL" as a little-endian u32. */
export const MAP_MAGIC = 0x4c414245;
/** The format version this code writes and the newest it reads. */
export const MAP_VERSION = 1;
/** Size of the fixed header. */
export const MAP_HEADER_BYTES = 64;
/** Size of one free-extent record (offset, length). */
export const MAP_FREE_RECORD_BYTES = 16;
/** Size of one deferred-extent record (offset, length, generation). */
export const MAP_DEFERRED_RECORD_BYTES = 24;
/** Size of the trailing checksum. */
export const MAP_CHECKSUM_BYTES = 4;

/** Header field offsets (see the table above). */
export const MAP_OFFSET = {
  magic: 0,
  version: 4,
  flags: 6,
  unitBytes: 8,
  stripeUnitBytes: 12,
  stripeWidth: 16,
  reserved: 20,
  capacityBytes: 24,
  durableGeneration: 32,
  cursorBytes: 40,
  freeCount: 48,
  deferredCount: 56,
} as const;

/** Default allocation unit. */
export const ALLOCATION_UNIT_BYTES_DEFAULT = 4096;
/** Smallest allocation unit. */
export const ALLOCATION_UNIT_BYTES_MIN = 4096;
/** Largest allocation unit. */
export const ALLOCATION_UNIT_BYTES_MAX = 1024 * 1024;
/** Largest device (1 PiB); keeps unit counts and their sums far inside safe integers. */
export const CAPACITY_BYTES_MAX = 2 ** 50;
/** Most data disks in a stripe. */
export const STRIPE_WIDTH_MAX = 256;
/** Largest full stripe (stripe unit x width). */
export const STRIPE_BYTES_MAX = 256 * 1024 * 1024;
/** Largest single allocation request; bigger requests fail with E2BIG. */
export const ALLOCATION_BYTES_MAX = 2 ** 32;
/** Default most extents returned for one unreserved, unprivileged allocation. */
export const EXTENTS_PER_ALLOCATION_DEFAULT = 64;
/** Largest value accepted for `extentsPerAllocationMax`. */
export const EXTENTS_PER_ALLOCATION_LIMIT = 65536;
/** Most live reservations; more fail with E2BIG. */
export const RESERVATION_COUNT_MAX = 65536;
/** Default slack: this share of capacity ... */
export const SLACK_SHARE_DEFAULT = 1 / 64;
/** ... but at most this many bytes. */
export const SLACK_BYTES_DEFAULT_MAX = 256 * 1024 * 1024;
/**
 * Next-fit accepts a candidate within this share of the device ahead of the cursor; further
 * means the forward region is fragmented, and placement switches to best-fit.
 */
export const NEXT_FIT_WINDOW_SHARE = 1 / 8;
/**
 * With striping, small requests that fit no hole go next-fit across stripe boundaries only
 * while whole free stripes hold at least this share of free space; below it they take a new
 * whole stripe (the open stripe) rather than nibbling at the remaining whole stripes' edges.
 */
export const FRAGMENTED_STRIPE_SHARE_MIN = 1 / 2;
/**
 * Next-fit runs only while at least this share of the device is free; below it every request
 * is placed best-fit (smallest run that fits, aligned for stripes), because on a full device
 * keeping large extents whole matters more than writing sequentially (BlueStore's AVL
 * allocator switches the same way). bench/alloc.ts measures the effect in its aging run.
 */
export const NEXT_FIT_FREE_SHARE_MIN = 1 / 4;
/** Candidates examined for an aligned fit before falling back to a guaranteed-fit search. */
export const ALIGNED_SCAN_STEPS_MAX = 16;
/** Deepest treap level tolerated before the index is declared broken (expected ~2.5 log2 n). */
export const ORDERED_INDEX_DEPTH_MAX = 1024;
/** Initial node slots of an ordered index (it doubles as needed). */
export const ORDERED_INDEX_INITIAL_CAPACITY = 64;
/** Default most findings `check` returns. */
export const CHECK_FINDINGS_MAX_DEFAULT = 100;
/**
 * Default memory cap, in free extents. Past it the free map switches to the compact bitmap
 * representation (one bit per unit plus a small summary) until fragmentation falls below half.
 */
export const FREE_EXTENT_COUNT_CAP_DEFAULT = 2 * 1024 * 1024;
/** Units summarised by one bitmap summary entry (a power of two, multiple of 32). */
export const BITMAP_CHUNK_UNITS = 4096;

assert(isPowerOfTwo(ALLOCATION_UNIT_BYTES_DEFAULT), 'default unit must be a power of two');
assert(ALLOCATION_UNIT_BYTES_MIN <= ALLOCATION_UNIT_BYTES_MAX, 'unit bounds inverted');
assert(MAP_HEADER_BYTES === MAP_OFFSET.deferredCount + 8, 'header layout and size disagree');
assert(CAPACITY_BYTES_MAX * 2 < Number.MAX_SAFE_INTEGER, 'capacity sums must stay safe');
assert(isPowerOfTwo(BITMAP_CHUNK_UNITS) && BITMAP_CHUNK_UNITS % 32 === 0, 'bitmap chunk shape');
assert(EXTENTS_PER_ALLOCATION_DEFAULT <= EXTENTS_PER_ALLOCATION_LIMIT, 'extent limits inverted');
