/**
 * engine/scrub.ts: zeroing freed space before reuse, for stores made with `scrubFreed` (a
 * superblock flag, so every mount honours it). Freed extents are zeroed and flushed after the
 * checkpoint that frees them is durable and before the allocator hands them out; at mount the
 * frees the last checkpoint left deferred are zeroed again (idempotent), so a power cut between
 * a checkpoint and its zeroing cannot leave deleted bytes in allocatable space — except the
 * blocks that journaled large writes took after that checkpoint (they hold live data now).
 *
 * Limit: small writes also live in the journal ring until it wraps over them; scrubbing covers
 * data, metadata and free-map extents, not the journal.
 */
import type { Extent } from '../alloc/index.js';
import type { BlockDevice } from './device/index.js';

const ZERO_CHUNK_BYTES = 1024 * 1024;
let zeros: Buffer | undefined;

/** Writes zeros over `extents` and flushes; returns the bytes zeroed. */
export async function zeroExtents(device: BlockDevice, extents: readonly Extent[]): Promise<number> {
  if (extents.length === 0) return 0;
  zeros ??= Buffer.alloc(ZERO_CHUNK_BYTES);
  let bytes = 0;
  for (const e of extents) {
    for (let at = 0; at < e.length; at += ZERO_CHUNK_BYTES) {
      const n = Math.min(ZERO_CHUNK_BYTES, e.length - at);
      await device.write(e.offset + at, zeros.subarray(0, n));
      bytes += n;
    }
  }
  await device.flush();
  return bytes;
}

/** The parts of `from` that no extent of `minus` covers. */
export function subtractExtents(from: readonly Extent[], minus: readonly Extent[]): Extent[] {
  const cuts = [...minus].sort((a, b) => a.offset - b.offset);
  const out: Extent[] = [];
  for (const e of from) {
    let at = e.offset;
    const end = e.offset + e.length;
    for (const c of cuts) {
      if (c.offset + c.length <= at || c.offset >= end) continue;
      if (c.offset > at) out.push({ offset: at, length: c.offset - at });
      at = Math.max(at, c.offset + c.length);
    }
    if (at < end) out.push({ offset: at, length: end - at });
  }
  return out;
}
