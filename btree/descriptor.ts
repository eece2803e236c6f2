/**
 * The tree descriptor and root, and their persisted form (the "tree header").
 *
 * The owner of a tree (the engine's superblock, or an onode record for an xattr or omap tree)
 * stores the header bytes; `decodeTreeHeader` gives back the descriptor and the root, from
 * which `openTree` opens the tree. An inline (embedded) root travels inside the header.
 *
 * Header layout (little-endian):
 *
 * | offset | size | type | field                                                          |
 * | ------ | ---- | ---- | -------------------------------------------------------------- |
 * | 0      | 4    | u32  | magic 0x54424245 ("EBBT")                                      |
 * | 4      | 1    | u8   | format version (1)                                             |
 * | 5      | 1    | u8   | flags: bit 0 set (no values), bit 1 duplicates; others zero   |
 * | 6      | 1    | u8   | key length prefix bytes (1, 2, 4) or 0 for fixed-size keys     |
 * | 7      | 1    | u8   | value length prefix bytes (1, 2, 4) or 0 for fixed-size values |
 * | 8      | 2    | u16  | key size for fixed keys (else 0)                               |
 * | 10     | 2    | u16  | value size for fixed values (else 0)                           |
 * | 12     | 2    | u16  | inlineMaxBytes (0 = never inline)                              |
 * | 14     | 1    | u8   | root kind: 0 empty, 1 inline, 2 paged                          |
 * | 15     | 1    | u8   | depth (0 empty, 1 for inline, >= 1 paged)                      |
 * | 16     | 8    | u64  | entry count                                                    |
 * | 24     | 8    | u64  | root page id (0 unless paged)                                  |
 * | 32     | 1    | u8   | comparator name length a                                       |
 * | 33     | a    | ascii| comparator name                                                |
 * | 33+a   | 1    | u8   | value comparator name length b                                 |
 * | 34+a   | b    | ascii| value comparator name                                          |
 * | 34+a+b | 2    | u16  | inline root length c (0 unless inline)                         |
 * | 36+a+b | c    | bytes| inline root (inline.ts)                                        |
 * | ...    | 4    | u32  | xxh32 of every byte before it                                  |
 *
 * Invariants: the checksum matches; unknown flag bits are zero; kind 0 has count 0 and depth 0;
 * kind 1 has depth 1 and c > 0; kind 2 has a non-zero root page id and depth in [1, DEPTH_MAX].
 *
 * Versioning: a reader refuses a version it does not know (EFORMAT); unknown flag bits are
 * corruption. Why a header checksum: the header is stored by someone else (inside an onode),
 * and a bad root pointer must never send the tree into random pages.
 */
import { assert } from '../common/assert.js';
import { checksum32 } from '../common/checksum.js';
import { CorruptionError, EbofsError } from '../common/errors.js';
import { getComparator } from './comparators.js';
import { DEPTH_MAX, INLINE_SIZE_MAX_BYTES, KEY_SIZE_MAX_BYTES } from './format.js';
import { type PageId } from './store.js';

/** A key or value format: fixed size, or variable with a 1-, 2- or 4-byte length prefix. */
export type FieldFormat =
  | { readonly kind: 'fixed'; readonly sizeBytes: number }
  | { readonly kind: 'variable'; readonly prefixBytes: 1 | 2 | 4 };

export interface TreeDescriptor {
  /** Name of a registered comparator for keys ('bytes' by default). */
  readonly comparator: string;
  readonly key: FieldFormat;
  /** Value format; null for a set (keys only). */
  readonly value: FieldFormat | null;
  /** Many values per key, kept sorted by `valueComparator` (LMDB DUPSORT). */
  readonly duplicates: boolean;
  /** Orders the values of one key in a duplicates tree ('bytes' by default). */
  readonly valueComparator: string;
  /** Largest inline (embedded) root in bytes; 0 keeps the tree in pages always. */
  readonly inlineMaxBytes: number;
}

/** A tree's root. Immutable; produced by commits and by decodeTreeHeader. */
export type TreeRoot =
  | { readonly kind: 'empty' }
  | { readonly kind: 'inline'; readonly bytes: Uint8Array; readonly count: number }
  | { readonly kind: 'paged'; readonly pageId: PageId; readonly depth: number; readonly count: number };

export const EMPTY_ROOT: TreeRoot = Object.freeze({ kind: 'empty' });

export const TREE_HEADER_MAGIC = 0x54424245;
export const TREE_HEADER_VERSION = 1;
const FLAG_SET = 1;
const FLAG_DUPLICATES = 2;

/** Fills in defaults: bytes comparator, variable 2-byte-prefixed keys and values. */
export function makeDescriptor(options: Partial<TreeDescriptor> = {}): TreeDescriptor {
  const descriptor: TreeDescriptor = {
    comparator: options.comparator ?? 'bytes',
    key: options.key ?? { kind: 'variable', prefixBytes: 2 },
    value: options.value === undefined ? { kind: 'variable', prefixBytes: 2 } : options.value,
    duplicates: options.duplicates ?? false,
    valueComparator: options.valueComparator ?? 'bytes',
    inlineMaxBytes: options.inlineMaxBytes ?? 0,
  };
  validateDescriptor(descriptor);
  return descriptor;
}

/** EINVAL for an inconsistent descriptor, ENOTSUP for an unregistered comparator. */
export function validateDescriptor(d: TreeDescriptor): void {
  const cmp = getComparator(d.comparator);
  getComparator(d.valueComparator);
  checkFormat(d.key, 'key');
  if (d.key.kind === 'fixed' && (d.key.sizeBytes < 1 || d.key.sizeBytes > KEY_SIZE_MAX_BYTES)) {
    throw new EbofsError('EINVAL', `fixed key size ${d.key.sizeBytes} outside [1, ${KEY_SIZE_MAX_BYTES}]`);
  }
  if (cmp.keySizeBytes !== undefined &&
      (d.key.kind !== 'fixed' || d.key.sizeBytes !== cmp.keySizeBytes)) {
    throw new EbofsError('EINVAL', `comparator ${cmp.name} needs fixed ${cmp.keySizeBytes}-byte keys`);
  }
  if (d.value !== null) checkFormat(d.value, 'value');
  if (d.duplicates && d.value === null) {
    throw new EbofsError('EINVAL', 'a duplicates tree needs a value format');
  }
  const valueCmp = getComparator(d.valueComparator);
  if (d.duplicates && valueCmp.keySizeBytes !== undefined &&
      (d.value?.kind !== 'fixed' || d.value.sizeBytes !== valueCmp.keySizeBytes)) {
    throw new EbofsError('EINVAL', `value comparator ${valueCmp.name} needs fixed values`);
  }
  if (!Number.isInteger(d.inlineMaxBytes) || d.inlineMaxBytes < 0 ||
      d.inlineMaxBytes > INLINE_SIZE_MAX_BYTES) {
    throw new EbofsError('EINVAL', `inlineMaxBytes ${d.inlineMaxBytes} outside [0, ${INLINE_SIZE_MAX_BYTES}]`);
  }
}

function checkFormat(f: FieldFormat, what: string): void {
  if (f.kind === 'fixed') {
    if (!Number.isInteger(f.sizeBytes) || f.sizeBytes < 0 || f.sizeBytes > 0xffff) {
      throw new EbofsError('EINVAL', `fixed ${what} size ${f.sizeBytes} is invalid`);
    }
  } else if (f.kind === 'variable') {
    if (f.prefixBytes !== 1 && f.prefixBytes !== 2 && f.prefixBytes !== 4) {
      throw new EbofsError('EINVAL', `${what} prefix must be 1, 2 or 4 bytes`);
    }
  } else {
    throw new EbofsError('EINVAL', `unknown ${what} format`);
  }
}

/** Encodes descriptor and root as the persisted tree header. */
export function encodeTreeHeader(d: TreeDescriptor, root: TreeRoot): Uint8Array {
  const cmpName = Buffer.from(d.comparator, 'latin1');
  const valueCmpName = Buffer.from(d.valueComparator, 'latin1');
  const inline = root.kind === 'inline' ? root.bytes : new Uint8Array(0);
  assert(inline.length <= 0xffff, 'inline root too large');
  const size = 36 + cmpName.length + valueCmpName.length + inline.length + 4;
  const out = Buffer.alloc(size);
  out.writeUInt32LE(TREE_HEADER_MAGIC, 0);
  out[4] = TREE_HEADER_VERSION;
  out[5] = (d.value === null ? FLAG_SET : 0) | (d.duplicates ? FLAG_DUPLICATES : 0);
  out[6] = d.key.kind === 'fixed' ? 0 : d.key.prefixBytes;
  out[7] = d.value === null || d.value.kind === 'fixed' ? 0 : d.value.prefixBytes;
  out.writeUInt16LE(d.key.kind === 'fixed' ? d.key.sizeBytes : 0, 8);
  out.writeUInt16LE(d.value?.kind === 'fixed' ? d.value.sizeBytes : 0, 10);
  out.writeUInt16LE(d.inlineMaxBytes, 12);
  out[14] = root.kind === 'empty' ? 0 : root.kind === 'inline' ? 1 : 2;
  out[15] = root.kind === 'empty' ? 0 : root.kind === 'inline' ? 1 : root.depth;
  const count = root.kind === 'empty' ? 0 : root.count;
  out.writeUInt32LE(count >>> 0, 16);
  out.writeUInt32LE(Math.floor(count / 0x1_0000_0000), 20);
  const pageId = root.kind === 'paged' ? root.pageId : 0;
  out.writeUInt32LE(pageId >>> 0, 24);
  out.writeUInt32LE(Math.floor(pageId / 0x1_0000_0000), 28);
  let at = 32;
  out[at++] = cmpName.length;
  at += cmpName.copy(out, at);
  out[at++] = valueCmpName.length;
  at += valueCmpName.copy(out, at);
  out.writeUInt16LE(inline.length, at);
  at += 2;
  out.set(inline, at);
  at += inline.length;
  out.writeUInt32LE(checksum32(out.subarray(0, at)), at);
  assert(at + 4 === size, 'tree header size');
  return out;
}

/**
 * Decodes a tree header. Bad bytes are a CorruptionError (`location` names `where`); an
 * unregistered comparator is ENOTSUP; a newer format is EFORMAT.
 */
export function decodeTreeHeader(
  bytes: Uint8Array, where = 'tree header',
): { descriptor: TreeDescriptor; root: TreeRoot } {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const bad = (msg: string): CorruptionError => new CorruptionError('ECORRUPT', msg, { location: where });
  if (buf.length < 40) throw bad(`tree header too short (${buf.length} bytes)`);
  if (buf.readUInt32LE(0) !== TREE_HEADER_MAGIC) throw bad('bad tree header magic');
  const stored = buf.readUInt32LE(buf.length - 4);
  const actual = checksum32(buf.subarray(0, buf.length - 4));
  if (stored !== actual) {
    throw new CorruptionError('ECHECKSUM', 'tree header checksum mismatch', {
      location: where, expected: String(stored), actual: String(actual),
    });
  }
  if (buf[4] !== TREE_HEADER_VERSION) {
    throw new EbofsError('EFORMAT', `tree header version ${buf[4]} is not supported`);
  }
  const flags = buf[5]!;
  if ((flags & ~(FLAG_SET | FLAG_DUPLICATES)) !== 0) throw bad(`unknown tree flags ${flags}`);
  const field = (prefix: number, size: number): FieldFormat => {
    if (prefix === 0) return { kind: 'fixed', sizeBytes: size };
    if (prefix === 1 || prefix === 2 || prefix === 4) return { kind: 'variable', prefixBytes: prefix };
    throw bad(`bad length prefix ${prefix}`);
  };
  let at = 32;
  const cmpLength = buf[at++]!;
  if (at + cmpLength + 3 > buf.length - 4) throw bad('tree header truncated');
  const comparator = buf.toString('latin1', at, at + cmpLength);
  at += cmpLength;
  const valueCmpLength = buf[at++]!;
  if (at + valueCmpLength + 2 > buf.length - 4) throw bad('tree header truncated');
  const valueComparator = buf.toString('latin1', at, at + valueCmpLength);
  at += valueCmpLength;
  const inlineLength = buf.readUInt16LE(at);
  at += 2;
  if (at + inlineLength !== buf.length - 4) throw bad('tree header length mismatch');
  const descriptor: TreeDescriptor = {
    comparator,
    key: field(buf[6]!, buf.readUInt16LE(8)),
    value: (flags & FLAG_SET) !== 0 ? null : field(buf[7]!, buf.readUInt16LE(10)),
    duplicates: (flags & FLAG_DUPLICATES) !== 0,
    valueComparator,
    inlineMaxBytes: buf.readUInt16LE(12),
  };
  validateDescriptor(descriptor);
  const root = decodeRoot(buf, at, inlineLength, bad);
  return { descriptor, root };
}

function decodeRoot(
  buf: Buffer, inlineAt: number, inlineLength: number, bad: (msg: string) => CorruptionError,
): TreeRoot {
  const kind = buf[14]!;
  const depth = buf[15]!;
  const countHi = buf.readUInt32LE(20);
  const pageHi = buf.readUInt32LE(28);
  if (countHi >= 2 ** 21 || pageHi >= 2 ** 21) throw bad('u64 field out of range');
  const count = buf.readUInt32LE(16) + countHi * 0x1_0000_0000;
  const pageId = buf.readUInt32LE(24) + pageHi * 0x1_0000_0000;
  if (kind === 0) {
    if (count !== 0 || depth !== 0 || pageId !== 0 || inlineLength !== 0) throw bad('bad empty root');
    return EMPTY_ROOT;
  }
  if (kind === 1) {
    if (depth !== 1 || pageId !== 0 || inlineLength === 0) throw bad('bad inline root');
    const bytes = Uint8Array.prototype.slice.call(buf, inlineAt, inlineAt + inlineLength);
    return { kind: 'inline', bytes, count };
  }
  if (kind === 2) {
    if (depth < 1 || depth > DEPTH_MAX || pageId === 0 || inlineLength !== 0) throw bad('bad paged root');
    return { kind: 'paged', pageId: pageId as PageId, depth, count };
  }
  throw bad(`bad root kind ${kind}`);
}

/** Entry count of a root. */
export function rootCount(root: TreeRoot): number {
  return root.kind === 'empty' ? 0 : root.count;
}
