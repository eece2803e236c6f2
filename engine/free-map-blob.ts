/**
 * engine/free-map-blob.ts: where a checkpoint keeps the allocator's map (alloc/format.ts) — one
 * or more extents, so a checkpoint still finds room on a full, fragmented store.
 *
 * The superblock names the first extent (free-map offset, allocated bytes) and the map's
 * length; with SUPERBLOCK_FLAG_FREE_MAP_TABLE the first extent starts with a table of the rest:
 *
 *   offset  size   field
 *   0       4      u32 magic 0x54464245 ("EBFT")
 *   4       4      u32 n: further extents
 *   8       16n    n times: u64 offset, u64 length (multiples of 4096)
 *   8+16n   ...    the map's bytes, continued in the further extents in table order
 *
 * The map carries its own checksum (alloc/format.ts), so a damaged table or extent shows as a
 * map that does not decode. A superblock without the flag (an older store) names one extent
 * holding just the map.
 */
import { CorruptionError } from '../common/errors.js';
import { readU64, writeU64 } from '../common/ints.js';
import type { Extent } from '../alloc/index.js';
import type { BlockDevice } from './device/index.js';
import { SUPERBLOCK_FLAG_FREE_MAP_TABLE, type Superblock } from './superblock.js';

const TABLE_MAGIC = 0x54464245;

/** Bytes the table takes for `extents` (the first one holds it). */
export function tableBytes(extents: readonly Extent[]): number {
  return 8 + 16 * (extents.length - 1);
}

/** Whether `mapBytes` fit `extents` with the table, and the table fits the first extent. */
export function blobFits(extents: readonly Extent[], mapBytes: number): boolean {
  const total = extents.reduce((n, e) => n + e.length, 0);
  return extents.length > 0 && tableBytes(extents) <= extents[0]!.length && tableBytes(extents) + mapBytes <= total;
}

/** The device writes of a blob: one buffer per extent, in order. */
export function layoutBlob(extents: readonly Extent[], map: Uint8Array): Buffer[] {
  const whole = Buffer.alloc(extents.reduce((n, e) => n + e.length, 0));
  whole.writeUInt32LE(TABLE_MAGIC, 0);
  whole.writeUInt32LE(extents.length - 1, 4);
  extents.slice(1).forEach((e, i) => {
    writeU64(whole, 8 + 16 * i, e.offset);
    writeU64(whole, 16 + 16 * i, e.length);
  });
  whole.set(map, tableBytes(extents));
  const out: Buffer[] = [];
  let at = 0;
  for (const e of extents) {
    out.push(whole.subarray(at, at + e.length));
    at += e.length;
  }
  return out;
}

/** Reads the map a superblock names, and the extents its blob occupies. */
export async function readBlob(device: BlockDevice, sb: Superblock): Promise<{ map: Uint8Array; extents: Extent[] }> {
  const first: Extent = { offset: sb.freeMapOffset, length: sb.freeMapAllocBytes };
  const head = Buffer.alloc(first.length);
  await device.read(first.offset, head);
  if ((sb.flags & SUPERBLOCK_FLAG_FREE_MAP_TABLE) === 0) return { map: head.subarray(0, sb.freeMapBytes), extents: [first] };
  const where = `free-map table at offset ${first.offset}`;
  const n = head.readUInt32LE(4);
  if (head.readUInt32LE(0) !== TABLE_MAGIC || 8 + 16 * n > head.byteLength) {
    throw new CorruptionError('ECORRUPT', 'bad free-map table', { location: where });
  }
  const extents = [first];
  for (let i = 0; i < n; i++) {
    const e = { offset: readU64(head, 8 + 16 * i, where), length: readU64(head, 16 + 16 * i, where) };
    if (e.length === 0 || (e.offset + e.length) > device.sizeBytes) {
      throw new CorruptionError('ECORRUPT', `free-map extent ${i} out of range`, { location: where });
    }
    extents.push(e);
  }
  const parts: Buffer[] = [head];
  for (const e of extents.slice(1)) {
    const part = Buffer.alloc(e.length);
    await device.read(e.offset, part);
    parts.push(part);
  }
  const whole = Buffer.concat(parts);
  const start = tableBytes(extents);
  if (start + sb.freeMapBytes > whole.byteLength) throw new CorruptionError('ECORRUPT', 'free map longer than its blob', { location: where });
  return { map: whole.subarray(start, start + sb.freeMapBytes), extents };
}
