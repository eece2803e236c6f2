/**
 * Encodes and decodes the free map (layout, invariants and versioning: the head comment of
 * alloc/format.ts, the one home of the layout numbers). Summary, little-endian:
 *
 * ```
 *  [64-byte header: magic, version, flags, unit, stripe unit, width, capacity, durable gen,
 *   cursor, F, D] [F x (u64 offset, u64 length)] [D x (u64 offset, u64 length, u64 gen)]
 *  [u32 checksum32 of everything before]
 * ```
 *
 * Decoding never asserts on the bytes: a wrong checksum is CorruptionError ECHECKSUM, a broken
 * structure is CorruptionError ECORRUPT naming the byte offset, and a newer version or an
 * unknown flag is EbofsError EFORMAT. The checksum is verified before any field is trusted;
 * after that the structural checks still run, because a map can be consistent with its
 * checksum and still wrong (written by a buggy engine).
 */
import { assert } from '../common/assert.js';
import { checksum32 } from '../common/checksum.js';
import { CorruptionError, EbofsError } from '../common/errors.js';
import { readU64, writeU64 } from '../common/ints.js';
import {
  MAP_CHECKSUM_BYTES, MAP_DEFERRED_RECORD_BYTES, MAP_FREE_RECORD_BYTES, MAP_HEADER_BYTES,
  MAP_MAGIC, MAP_OFFSET, MAP_VERSION,
} from './format.js';
import { makeGeometry, type Geometry } from './geometry.js';

/** A byte range on the device. */
export interface ExtentRecord {
  readonly offset: number;
  readonly length: number;
}

/** A deferred free as stored. */
export interface DeferredRecord extends ExtentRecord {
  readonly generation: number;
}

/** Everything a map holds, in bytes. */
export interface MapImage {
  unitBytes: number;
  stripeUnitBytes: number;
  stripeWidth: number;
  capacityBytes: number;
  durableGeneration: number;
  cursorBytes: number;
  free: ExtentRecord[];
  deferred: DeferredRecord[];
}

/** Serialized size of an image. */
export function encodedBytes(freeCount: number, deferredCount: number): number {
  return MAP_HEADER_BYTES + freeCount * MAP_FREE_RECORD_BYTES
    + deferredCount * MAP_DEFERRED_RECORD_BYTES + MAP_CHECKSUM_BYTES;
}

/** Serializes a map image (layout: alloc/format.ts). */
export function encodeMap(image: MapImage): Uint8Array {
  const out = new Uint8Array(encodedBytes(image.free.length, image.deferred.length));
  const view = new DataView(out.buffer);
  view.setUint32(MAP_OFFSET.magic, MAP_MAGIC, true);
  view.setUint16(MAP_OFFSET.version, MAP_VERSION, true);
  view.setUint16(MAP_OFFSET.flags, 0, true);
  view.setUint32(MAP_OFFSET.unitBytes, image.unitBytes, true);
  view.setUint32(MAP_OFFSET.stripeUnitBytes, image.stripeUnitBytes, true);
  view.setUint32(MAP_OFFSET.stripeWidth, image.stripeWidth, true);
  view.setUint32(MAP_OFFSET.reserved, 0, true);
  writeU64(out, MAP_OFFSET.capacityBytes, image.capacityBytes);
  writeU64(out, MAP_OFFSET.durableGeneration, image.durableGeneration);
  writeU64(out, MAP_OFFSET.cursorBytes, image.cursorBytes);
  writeU64(out, MAP_OFFSET.freeCount, image.free.length);
  writeU64(out, MAP_OFFSET.deferredCount, image.deferred.length);
  let at = MAP_HEADER_BYTES;
  for (const e of image.free) {
    putU64(view, at, e.offset);
    putU64(view, at + 8, e.length);
    at += MAP_FREE_RECORD_BYTES;
  }
  for (const d of image.deferred) {
    putU64(view, at, d.offset);
    putU64(view, at + 8, d.length);
    putU64(view, at + 16, d.generation);
    at += MAP_DEFERRED_RECORD_BYTES;
  }
  assert(at === out.length - MAP_CHECKSUM_BYTES, 'encoded length mismatch');
  view.setUint32(at, checksum32(out.subarray(0, at)), true);
  return out;
}

function corrupt(message: string, byteOffset: number, extra: { expected?: string; actual?: string } = {}): CorruptionError {
  return new CorruptionError('ECORRUPT', `allocator map: ${message}`, {
    location: `allocator map byte ${byteOffset}`, ...extra,
  });
}

/** Decodes a map, verifying checksum, version and every structural invariant. */
export function decodeMap(bytes: Uint8Array): MapImage {
  if (bytes.length < MAP_HEADER_BYTES + MAP_CHECKSUM_BYTES) {
    throw corrupt(`too short (${bytes.length} bytes)`, 0);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(MAP_OFFSET.magic, true);
  if (magic !== MAP_MAGIC) {
    throw corrupt('bad magic', 0, { expected: MAP_MAGIC.toString(16), actual: magic.toString(16) });
  }
  const sumAt = bytes.length - MAP_CHECKSUM_BYTES;
  const stored = view.getUint32(sumAt, true);
  const actual = checksum32(bytes.subarray(0, sumAt));
  if (stored !== actual) {
    throw new CorruptionError('ECHECKSUM', 'allocator map checksum mismatch', {
      location: `allocator map byte ${sumAt}`, expected: stored.toString(16), actual: actual.toString(16),
    });
  }
  checkVersion(view);
  const image = readHeader(bytes, view);
  const freeCount = readU64(bytes, MAP_OFFSET.freeCount, 'allocator map free count');
  const deferredCount = readU64(bytes, MAP_OFFSET.deferredCount, 'allocator map deferred count');
  const maxRecords = bytes.length / MAP_FREE_RECORD_BYTES;
  if (freeCount > maxRecords || deferredCount > maxRecords
    || encodedBytes(freeCount, deferredCount) !== bytes.length) {
    throw corrupt(`length ${bytes.length} does not match ${freeCount} free, ${deferredCount} deferred`, MAP_OFFSET.freeCount);
  }
  readRecords(bytes, image, freeCount, deferredCount);
  checkImage(image);
  return image;
}

function checkVersion(view: DataView): void {
  const version = view.getUint16(MAP_OFFSET.version, true);
  if (version === 0) throw corrupt('version 0 is invalid', MAP_OFFSET.version);
  if (version > MAP_VERSION) {
    throw new EbofsError('EFORMAT', `allocator map version ${version} is newer than ${MAP_VERSION}`);
  }
  const flags = view.getUint16(MAP_OFFSET.flags, true);
  if (flags !== 0) throw new EbofsError('EFORMAT', `allocator map has unknown flags ${flags}`);
}

function readHeader(bytes: Uint8Array, view: DataView): MapImage {
  return {
    unitBytes: view.getUint32(MAP_OFFSET.unitBytes, true),
    stripeUnitBytes: view.getUint32(MAP_OFFSET.stripeUnitBytes, true),
    stripeWidth: view.getUint32(MAP_OFFSET.stripeWidth, true),
    capacityBytes: readU64(bytes, MAP_OFFSET.capacityBytes, 'allocator map capacity'),
    durableGeneration: readU64(bytes, MAP_OFFSET.durableGeneration, 'allocator map generation'),
    cursorBytes: readU64(bytes, MAP_OFFSET.cursorBytes, 'allocator map cursor'),
    free: [],
    deferred: [],
  };
}

/** u64 little-endian, as writeU64 in common/ints.ts, on one shared view (hot loop). */
function putU64(view: DataView, at: number, value: number): void {
  assert(Number.isSafeInteger(value) && value >= 0, 'u64 field not a safe non-negative integer');
  view.setUint32(at, value >>> 0, true);
  view.setUint32(at + 4, Math.floor(value / 2 ** 32), true);
}

/** u64 little-endian; above 2^53 only bad bytes can put it there, so it is corruption. */
function getU64(view: DataView, at: number): number {
  const hi = view.getUint32(at + 4, true);
  if (hi >= 2 ** 21) throw corrupt('u64 beyond 2^53', at);
  return hi * 2 ** 32 + view.getUint32(at, true);
}

function readRecords(bytes: Uint8Array, image: MapImage, freeCount: number, deferredCount: number): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = MAP_HEADER_BYTES;
  for (let i = 0; i < freeCount; i++) {
    image.free.push({ offset: getU64(view, at), length: getU64(view, at + 8) });
    at += MAP_FREE_RECORD_BYTES;
  }
  for (let i = 0; i < deferredCount; i++) {
    image.deferred.push({ offset: getU64(view, at), length: getU64(view, at + 8), generation: getU64(view, at + 16) });
    at += MAP_DEFERRED_RECORD_BYTES;
  }
}

/** The geometry an image declares; its option errors become corruption. */
export function imageGeometry(image: MapImage): Geometry {
  try {
    return makeGeometry({
      capacityBytes: image.capacityBytes, unitBytes: image.unitBytes,
      stripeUnitBytes: image.stripeUnitBytes, stripeWidth: image.stripeWidth, slackBytes: 0,
    });
  } catch (cause) {
    throw new CorruptionError('ECORRUPT', `allocator map geometry invalid: ${String(cause)}`, {
      location: `allocator map byte ${MAP_OFFSET.unitBytes}`, cause,
    });
  }
}

function checkImage(image: MapImage): void {
  const geometry = imageGeometry(image);
  if (geometry.capacityBytes !== image.capacityBytes) throw corrupt('capacity not unit-aligned', MAP_OFFSET.capacityBytes);
  if (image.cursorBytes >= image.capacityBytes || image.cursorBytes % image.unitBytes !== 0) {
    throw corrupt('cursor out of range', MAP_OFFSET.cursorBytes);
  }
  let previousFreeEnd = -1;
  for (let i = 0; i < image.free.length; i++) {
    const e = image.free[i]!;
    const at = MAP_HEADER_BYTES + i * MAP_FREE_RECORD_BYTES;
    checkExtent(e, image, at);
    if (e.offset <= previousFreeEnd) throw corrupt('free extents unsorted, overlapping or touching', at);
    previousFreeEnd = e.offset + e.length;
  }
  checkDeferred(image);
}

/** Deferred extents: valid, not yet durable, overlapping neither each other nor free space. */
function checkDeferred(image: MapImage): void {
  const base = MAP_HEADER_BYTES + image.free.length * MAP_FREE_RECORD_BYTES;
  const order = image.deferred.map((_, i) => i).sort((x, y) => image.deferred[x]!.offset - image.deferred[y]!.offset);
  let previousEnd = -1;
  for (const i of order) {
    const d = image.deferred[i]!;
    const at = base + i * MAP_DEFERRED_RECORD_BYTES;
    checkExtent(d, image, at);
    if (d.generation <= image.durableGeneration) throw corrupt('deferred generation already durable', at + 16);
    if (d.offset < previousEnd || overlapsFree(image.free, d)) throw corrupt('extents overlap', at);
    previousEnd = d.offset + d.length;
  }
}

/** Whether `e` overlaps any of `free` (sorted by offset, non-overlapping). */
function overlapsFree(free: readonly ExtentRecord[], e: ExtentRecord): boolean {
  let lo = 0;
  let hi = free.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (free[mid]!.offset < e.offset + e.length) lo = mid + 1;
    else hi = mid;
  }
  // free[lo - 1] is the last free extent starting before e's end.
  const last = free[lo - 1];
  return last !== undefined && last.offset + last.length > e.offset;
}

function checkExtent(e: ExtentRecord, image: MapImage, at: number): void {
  if (e.length === 0 || e.offset % image.unitBytes !== 0 || e.length % image.unitBytes !== 0) {
    throw corrupt('extent empty or not unit-aligned', at);
  }
  if (e.offset + e.length > image.capacityBytes) throw corrupt('extent beyond capacity', at);
}
