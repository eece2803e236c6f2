/**
 * Building an allocator from persisted state: from an encoded map (mount) or from the list of
 * used extents (fsck, repair).
 */
import { EbofsError } from '../common/errors.js';
import { Allocator, type Extent } from './allocator.js';
import { decodeMap, imageGeometry } from './codec.js';
import type { Run } from './free-map.js';
import { makeGeometry, type AllocatorOptions } from './geometry.js';

/** Policy options that may differ between the map's writer and its reader. */
export type DecodeOptions = Pick<AllocatorOptions, 'slackBytes' | 'extentsPerAllocationMax' | 'freeExtentCountCap'>;

/**
 * Rebuilds an allocator from `encode()` output. Throws CorruptionError (ECHECKSUM, ECORRUPT)
 * for damaged bytes and EbofsError EFORMAT for a newer format. Reservations are not persisted.
 */
export function decodeAllocator(bytes: Uint8Array, options: DecodeOptions = {}): Allocator {
  const image = decodeMap(bytes);
  const stored = imageGeometry(image);
  const geometry = makeGeometry({
    ...options,
    capacityBytes: stored.capacityBytes,
    unitBytes: stored.unitBytes,
    stripeUnitBytes: stored.stripeUnitBytes,
    stripeWidth: stored.stripeWidth,
  });
  const u = geometry.unitBytes;
  const runs = image.free.map((e) => ({ start: e.offset / u, length: e.length / u }));
  const allocator = new Allocator(geometry, runs);
  for (const d of image.deferred) allocator.deferred.add(d.offset / u, d.length / u, d.generation);
  allocator.durableGeneration = image.durableGeneration;
  allocator.placer.cursor = image.cursorBytes / u;
  return allocator;
}

/**
 * Rebuilds the free map as the complement of `used` (fsck). Used extents may overlap or repeat
 * (clones share extents); their union is what is used. Every used extent must be aligned and
 * inside the device (EINVAL otherwise). Nothing is deferred; the durable generation is
 * `durableGeneration`.
 */
export function rebuildAllocator(
  options: AllocatorOptions, used: Iterable<Extent>, durableGeneration = 0,
): Allocator {
  const geometry = makeGeometry(options);
  const u = geometry.unitBytes;
  const runs: Run[] = [];
  for (const e of used) {
    const ok = Number.isSafeInteger(e.offset) && Number.isSafeInteger(e.length) && e.length > 0
      && e.offset >= 0 && e.offset % u === 0 && e.length % u === 0
      && e.offset + e.length <= geometry.capacityBytes;
    if (!ok) throw new EbofsError('EINVAL', `used extent [${e.offset}, +${e.length}) unaligned or outside the device`);
    runs.push({ start: e.offset / u, length: e.length / u });
  }
  runs.sort((a, b) => a.start - b.start);
  const free: Run[] = [];
  let position = 0;
  for (const run of runs) {
    if (run.start > position) free.push({ start: position, length: run.start - position });
    position = Math.max(position, run.start + run.length);
  }
  if (position < geometry.unitCount) free.push({ start: position, length: geometry.unitCount - position });
  if (!Number.isSafeInteger(durableGeneration) || durableGeneration < 0) {
    throw new EbofsError('EINVAL', `durable generation ${durableGeneration}`);
  }
  const allocator = new Allocator(geometry, free);
  allocator.durableGeneration = durableGeneration;
  return allocator;
}
