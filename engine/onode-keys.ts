/**
 * engine/onode-keys.ts: stored onode keys, including the long-key form (meta-keys.ts explains
 * the format), and the lookups that hide it from the rest of the engine.
 */
import { assert } from '../common/assert.js';
import { checksum64 } from '../common/checksum.js';
import type { Entry, TreeReader, WriteBatch } from '../btree/index.js';
import { deleteChunked, getChunked, putChunked } from './chunked.js';
import type { Where } from './types.js';
import { ONODE_FLAG_LONG_KEY, type OnodeRecord, decodeOnode, encodeOnode, nameBase } from './meta-keys.js';

/** Longest full key stored as itself. */
export const ONODE_KEY_INLINE_MAX = 960;
/** Bytes of a long key kept in its stored form; stored keys this long are listed by group. */
export const LONG_KEY_PREFIX_BYTES = 900;

export function isLongKey(full: Uint8Array): boolean {
  return full.byteLength > ONODE_KEY_INLINE_MAX;
}

/** The key the onode tree stores for full key `full`. */
export function storedOnodeKey(full: Uint8Array): Uint8Array {
  if (!isLongKey(full)) return full;
  const out = Buffer.alloc(LONG_KEY_PREFIX_BYTES + 9);
  out.set(full.subarray(0, LONG_KEY_PREFIX_BYTES), 0);
  out[LONG_KEY_PREFIX_BYTES] = 0xff;
  out.writeBigUInt64BE(checksum64(full), LONG_KEY_PREFIX_BYTES + 1);
  return out;
}

/** The full key of a stored onode entry. */
export function fullKeyOf(names: TreeReader, stored: Uint8Array, onode: OnodeRecord): Uint8Array {
  if ((onode.flags & ONODE_FLAG_LONG_KEY) === 0) return stored;
  const full = getChunked(names, nameBase(onode.nid));
  assert(full !== undefined, `long onode key of object number ${onode.nid} has no name record`);
  return full;
}

/** Reads the onode stored for `full` (undefined if absent). */
export function getOnode(onodes: TreeReader, names: TreeReader, full: Uint8Array, where: Where): OnodeRecord | undefined {
  const value = onodes.get(storedOnodeKey(full));
  if (value === undefined) return undefined;
  const onode = decodeOnode(value, where);
  if (isLongKey(full)) {
    const stored = fullKeyOf(names, full, onode);
    if (Buffer.compare(stored, full) !== 0) assert(false, `onode key hash collision at ${where}`);
  }
  return onode;
}

/** Stores `onode` under full key `full` (and its name record if the key is long). */
export function putOnode(onodes: WriteBatch, names: WriteBatch, full: Uint8Array, onode: OnodeRecord, cellSizeMax: number): Uint8Array {
  const stored = storedOnodeKey(full);
  onode.flags = isLongKey(full) ? onode.flags | ONODE_FLAG_LONG_KEY : onode.flags & ~ONODE_FLAG_LONG_KEY;
  onodes.put(stored, encodeOnode(onode));
  if (isLongKey(full)) putChunked(names, nameBase(onode.nid), full, cellSizeMax);
  else deleteChunked(names, nameBase(onode.nid));
  return stored;
}

export function deleteOnode(onodes: WriteBatch, names: WriteBatch, stored: Uint8Array, onode: OnodeRecord): void {
  onodes.delete(stored);
  if ((onode.flags & ONODE_FLAG_LONG_KEY) !== 0) deleteChunked(names, nameBase(onode.nid));
}

/** The smallest key greater than every key starting with `prefix` (undefined: none). */
export function prefixEnd(prefix: Uint8Array): Uint8Array | undefined {
  const out = Buffer.from(prefix);
  for (let i = out.byteLength - 1; i >= 0; i--) {
    if (out[i]! < 0xff) {
      out[i]!++;
      return out.subarray(0, i + 1);
    }
  }
  return undefined;
}

/** A listed onode: its stored entry and full key. */
export interface ListedOnode {
  stored: Uint8Array;
  full: Uint8Array;
  onode: OnodeRecord;
}

/**
 * Onode entries in [start, end) of full-key order, in full-key order (long-key groups are
 * gathered and sorted). `visit` returns false to stop.
 */
export function scanOnodes(
  onodes: TreeReader, names: TreeReader, start: Uint8Array, end: Uint8Array, visit: (item: ListedOnode) => boolean,
): void {
  let from: Uint8Array | undefined = start.byteLength >= LONG_KEY_PREFIX_BYTES ? start.subarray(0, LONG_KEY_PREFIX_BYTES) : start;
  const emit = (entry: Entry): ListedOnode => {
    const onode = decodeOnode(entry.value, 'onode tree');
    return { stored: entry.key, full: fullKeyOf(names, entry.key, onode), onode };
  };
  const inRange = (full: Uint8Array): number => (Buffer.compare(full, start) < 0 ? -1 : Buffer.compare(full, end) >= 0 ? 1 : 0);
  while (from !== undefined) {
    let restart: Uint8Array | undefined;
    for (const entry of onodes.range({ start: from, end: prefixEnd(end.subarray(0, Math.min(end.byteLength, LONG_KEY_PREFIX_BYTES))) ?? end })) {
      if (entry.key.byteLength >= LONG_KEY_PREFIX_BYTES) {
        const prefix = entry.key.subarray(0, LONG_KEY_PREFIX_BYTES);
        const group = [...onodes.range({ start: prefix, ...(prefixEnd(prefix) === undefined ? {} : { end: prefixEnd(prefix)! }) })].map(emit);
        group.sort((a, b) => Buffer.compare(a.full, b.full));
        for (const item of group) {
          const where = inRange(item.full);
          if (where < 0) continue;
          if (where > 0 || !visit(item)) return;
        }
        restart = prefixEnd(prefix);
        break;
      }
      const item = emit(entry);
      const where = inRange(item.full);
      if (where < 0) continue;
      if (where > 0 || !visit(item)) return;
    }
    from = restart;
  }
}
