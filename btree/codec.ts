/**
 * Codec: how one tree's cells are encoded in page bytes (see format.ts for the cell layout)
 * and how encoded keys compare in place.
 *
 * Encoded field: fixed format = the bytes; variable format = a 1/2/4-byte little-endian length
 * then the bytes. `ikey` = encoded key (plus encoded value in a duplicates tree). A leaf cell is
 * the ikey plus, in a plain tree, the encoded value; a branch cell is an 8-byte child id plus
 * the ikey.
 *
 * Searches compare a *target* against stored ikeys. The target lives in a scratch buffer owned
 * by the codec (encoded once per operation, no allocation), along with its parsed offsets. In a
 * duplicates tree a key-only target sorts before (mode -1) or after (mode +1) every value of its
 * key, which gives lower and upper bounds of a key's run.
 */
import { assert } from '../common/assert.js';
import { EbofsError } from '../common/errors.js';
import { type CompareFn, compareBytes, getComparator } from './comparators.js';
import { type FieldFormat, type TreeDescriptor } from './descriptor.js';
import { CHILD_ID_SIZE_BYTES, ENTRIES_PER_PAGE_MIN, KEY_SIZE_MAX_BYTES, type PageLimits } from './format.js';

/** Target mode: compare the full ikey, or a key-only bound in a duplicates tree. */
export const TARGET_FULL = 0;
export const TARGET_KEY_LOW = -1;
export const TARGET_KEY_HIGH = 1;

function fieldSizeMax(f: FieldFormat): number {
  if (f.kind === 'fixed') return f.sizeBytes;
  return f.prefixBytes === 1 ? 0xff : f.prefixBytes === 2 ? 0xffff : 0xffff_ffff;
}

export class Codec {
  readonly descriptor: TreeDescriptor;
  readonly limits: PageLimits;
  readonly duplicates: boolean;
  /** Whether leaf cells carry a separate value (false for sets and duplicates trees). */
  readonly separateValue: boolean;
  readonly hasValue: boolean;
  readonly keyPrefix: number;
  readonly keyFixed: number;
  readonly valuePrefix: number;
  readonly valueFixed: number;
  readonly keyCompare: CompareFn;
  readonly valueCompare: CompareFn;
  /** Keys use the built-in `bytes` order: searches use an inlined copy of it. */
  readonly bytesOrder: boolean;
  /** Largest user key and value accepted (E2BIG beyond). */
  readonly keySizeMax: number;
  readonly valueSizeMax: number;

  /** The search target: an encoded ikey at offset 0. */
  readonly target: Uint8Array;
  targetKeyStart = 0;
  targetKeyLength = 0;
  targetValueStart = 0;
  targetValueLength = 0;
  targetSize = 0;
  targetMode = TARGET_FULL;

  constructor(descriptor: TreeDescriptor, limits: PageLimits) {
    this.descriptor = descriptor;
    this.limits = limits;
    this.duplicates = descriptor.duplicates;
    this.hasValue = descriptor.value !== null;
    this.separateValue = this.hasValue && !this.duplicates;
    const k = descriptor.key;
    const v = descriptor.value;
    this.keyPrefix = k.kind === 'fixed' ? 0 : k.prefixBytes;
    this.keyFixed = k.kind === 'fixed' ? k.sizeBytes : -1;
    this.valuePrefix = v === null || v.kind === 'fixed' ? 0 : v.prefixBytes;
    this.valueFixed = v === null ? 0 : v.kind === 'fixed' ? v.sizeBytes : -1;
    this.keyCompare = getComparator(descriptor.comparator).compare;
    this.bytesOrder = this.keyCompare === compareBytes;
    this.valueCompare = getComparator(descriptor.valueComparator).compare;
    const fixedValue = this.valueFixed > 0 ? this.valueFixed : 0;
    const fixedKey = this.keyFixed > 0 ? this.keyFixed : 0;
    const keyRoom = this.duplicates
      ? limits.ikeySizeMax - this.keyPrefix - this.valuePrefix - fixedValue
      : Math.min(limits.ikeySizeMax - this.keyPrefix, limits.cellSizeMax - this.keyPrefix - this.valuePrefix - fixedValue);
    this.keySizeMax = Math.min(KEY_SIZE_MAX_BYTES, fieldSizeMax(k), keyRoom);
    const valueRoom = this.duplicates
      ? limits.ikeySizeMax - this.keyPrefix - fixedKey - this.valuePrefix
      : limits.cellSizeMax - this.keyPrefix - fixedKey - this.valuePrefix;
    this.valueSizeMax = v === null ? 0 : Math.min(fieldSizeMax(v), valueRoom);
    if (this.keySizeMax < 1 || (this.keyFixed >= 0 && this.keyFixed > this.keySizeMax) ||
        (this.valueFixed >= 0 && this.valueFixed > this.valueSizeMax)) {
      throw new EbofsError('E2BIG', `key/value formats do not fit ${limits.pageSizeBytes}-byte pages ` +
        `(at least ${ENTRIES_PER_PAGE_MIN} entries must fit a page)`);
    }
    assert((this.keyPrefix === 0) === (this.keyFixed >= 0), 'key format is fixed xor prefixed');
    assert(this.keySizeMax <= limits.ikeySizeMax, 'key limit exceeds a branch cell');
    this.target = new Uint8Array(limits.cellSizeMax + 8);
  }

  /** Length of an encoded field's data and the encoded size, given its prefix/fixed size. */
  private static readLength(buf: Uint8Array, at: number, prefix: number): number {
    if (prefix === 2) return buf[at]! | (buf[at + 1]! << 8);
    if (prefix === 1) return buf[at]!;
    return (buf[at]! | (buf[at + 1]! << 8) | (buf[at + 2]! << 16) | (buf[at + 3]! << 24)) >>> 0;
  }

  keyLength(buf: Uint8Array, at: number): number {
    return this.keyPrefix === 0 ? this.keyFixed : Codec.readLength(buf, at, this.keyPrefix);
  }

  valueLength(buf: Uint8Array, at: number): number {
    return this.valuePrefix === 0 ? this.valueFixed : Codec.readLength(buf, at, this.valuePrefix);
  }

  /** Encoded size of the ikey at `at`. */
  ikeySize(buf: Uint8Array, at: number): number {
    const keySize = this.keyPrefix + this.keyLength(buf, at);
    if (!this.duplicates) return keySize;
    return keySize + this.valuePrefix + this.valueLength(buf, at + keySize);
  }

  leafCellSize(buf: Uint8Array, at: number): number {
    if (!this.separateValue) return this.ikeySize(buf, at);
    const keySize = this.keyPrefix + this.keyLength(buf, at);
    return keySize + this.valuePrefix + this.valueLength(buf, at + keySize);
  }

  branchCellSize(buf: Uint8Array, at: number): number {
    return CHILD_ID_SIZE_BYTES + this.ikeySize(buf, at + CHILD_ID_SIZE_BYTES);
  }

  /** Offset of the value bytes of the leaf cell at `at` (after its length prefix). */
  valueStart(buf: Uint8Array, at: number): number {
    return at + this.keyPrefix + this.keyLength(buf, at) + this.valuePrefix;
  }

  /** Validates a user key at the API boundary (EINVAL wrong type or fixed size, E2BIG). */
  checkKey(key: Uint8Array): void {
    if (!(key instanceof Uint8Array)) throw new EbofsError('EINVAL', 'key must be a Uint8Array');
    if (this.keyFixed >= 0) {
      if (key.length !== this.keyFixed) {
        throw new EbofsError('EINVAL', `key of ${key.length} bytes in a tree of fixed ${this.keyFixed}-byte keys`);
      }
    } else if (key.length > this.keySizeMax) {
      throw new EbofsError('E2BIG', `key of ${key.length} bytes exceeds the limit of ${this.keySizeMax}`);
    }
  }

  /** Validates a value (and the entry it makes with `key`); returns the value to store. */
  checkValue(key: Uint8Array, value: Uint8Array | undefined): Uint8Array {
    if (!this.hasValue) {
      if (value !== undefined && value.length !== 0) throw new EbofsError('EINVAL', 'a set stores no values');
      return EMPTY;
    }
    if (!(value instanceof Uint8Array)) throw new EbofsError('EINVAL', 'value must be a Uint8Array');
    if (this.valueFixed >= 0) {
      if (value.length !== this.valueFixed) {
        throw new EbofsError('EINVAL', `value of ${value.length} bytes in a tree of fixed ${this.valueFixed}-byte values`);
      }
    } else if (value.length > this.valueSizeMax) {
      throw new EbofsError('E2BIG', `value of ${value.length} bytes exceeds the limit of ${this.valueSizeMax}`);
    }
    const size = this.leafCellSizeFor(key, value);
    const room = this.duplicates ? this.limits.ikeySizeMax : this.limits.cellSizeMax;
    if (size > room) {
      throw new EbofsError('E2BIG', `entry of ${size} encoded bytes exceeds the limit of ${room}`);
    }
    return value;
  }

  /** Writes an encoded field; returns the offset after it. */
  static writeField(out: Uint8Array, at: number, prefix: number, data: Uint8Array): number {
    const n = data.length;
    if (prefix === 1) out[at] = n;
    else if (prefix === 2) { out[at] = n & 0xff; out[at + 1] = n >>> 8; }
    else if (prefix === 4) {
      out[at] = n & 0xff; out[at + 1] = (n >>> 8) & 0xff;
      out[at + 2] = (n >>> 16) & 0xff; out[at + 3] = n >>> 24;
    }
    const start = at + prefix;
    // Small copies are cheaper as a loop than as a TypedArray#set call.
    if (n <= SMALL_COPY_MAX) for (let i = 0; i < n; i++) out[start + i] = data[i]!;
    else out.set(data, start);
    return start + n;
  }

  /**
   * Encodes the search target. In a duplicates tree with `value` undefined, `mode` says
   * whether the key-only target sorts before or after the key's values.
   */
  setTarget(key: Uint8Array, value: Uint8Array | undefined, mode: number): void {
    const t = this.target;
    let at = Codec.writeField(t, 0, this.keyPrefix, key);
    this.targetKeyStart = this.keyPrefix;
    this.targetKeyLength = key.length;
    if (this.duplicates && value !== undefined) {
      at = Codec.writeField(t, at, this.valuePrefix, value);
      this.targetValueStart = at - value.length;
      this.targetValueLength = value.length;
      this.targetMode = TARGET_FULL;
    } else {
      this.targetMode = this.duplicates ? mode : TARGET_FULL;
    }
    this.targetSize = at;
  }

  /** Copies a stored ikey into the target (used to re-seek after structural changes). */
  setTargetFromIkey(buf: Uint8Array, at: number): void {
    const size = this.ikeySize(buf, at);
    this.target.set(buf.subarray(at, at + size), 0);
    this.targetKeyStart = this.keyPrefix;
    this.targetKeyLength = this.keyLength(buf, at);
    if (this.duplicates) {
      const v = this.keyPrefix + this.targetKeyLength;
      this.targetValueStart = v + this.valuePrefix;
      this.targetValueLength = this.valueLength(this.target, v);
    }
    this.targetMode = TARGET_FULL;
    this.targetSize = size;
  }

  /** Compares the target with the ikey stored at `at` in `buf`. */
  compareTarget(buf: Uint8Array, at: number): number {
    const keyLength = this.keyPrefix === 0 ? this.keyFixed : Codec.readLength(buf, at, this.keyPrefix);
    const keyStart = at + this.keyPrefix;
    const c = this.bytesOrder
      ? compareTargetBytes(this.target, this.targetKeyStart, this.targetKeyLength, buf, keyStart, keyLength)
      : this.keyCompare(this.target, this.targetKeyStart, this.targetKeyLength, buf, keyStart, keyLength);
    if (c !== 0 || !this.duplicates) return c;
    if (this.targetMode !== TARGET_FULL) return this.targetMode;
    const v = keyStart + keyLength;
    const valueLength = this.valuePrefix === 0 ? this.valueFixed : Codec.readLength(buf, v, this.valuePrefix);
    return this.valueCompare(this.target, this.targetValueStart, this.targetValueLength,
      buf, v + this.valuePrefix, valueLength);
  }

  /** Compares two stored ikeys. */
  compareIkeys(a: Uint8Array, aAt: number, b: Uint8Array, bAt: number): number {
    const al = this.keyLength(a, aAt);
    const bl = this.keyLength(b, bAt);
    const c = this.keyCompare(a, aAt + this.keyPrefix, al, b, bAt + this.keyPrefix, bl);
    if (c !== 0 || !this.duplicates) return c;
    const av = aAt + this.keyPrefix + al;
    const bv = bAt + this.keyPrefix + bl;
    return this.valueCompare(a, av + this.valuePrefix, this.valueLength(a, av),
      b, bv + this.valuePrefix, this.valueLength(b, bv));
  }

  /** Whether the stored ikey at `at` has the target's key (ignoring values). */
  sameKeyAsTarget(buf: Uint8Array, at: number): boolean {
    const keyLength = this.keyLength(buf, at);
    return this.keyCompare(this.target, this.targetKeyStart, this.targetKeyLength,
      buf, at + this.keyPrefix, keyLength) === 0;
  }

  /** Encodes a leaf cell into `out` at `at` (default 0); returns the offset after it. */
  encodeLeafCell(out: Uint8Array, key: Uint8Array, value: Uint8Array, at = 0): number {
    let end = Codec.writeField(out, at, this.keyPrefix, key);
    if (this.hasValue) end = Codec.writeField(out, end, this.valuePrefix, value);
    return end;
  }

  /** Size of the leaf cell for `key` and `value`. */
  leafCellSizeFor(key: Uint8Array, value: Uint8Array): number {
    return this.keyPrefix + key.length + (this.hasValue ? this.valuePrefix + value.length : 0);
  }

  /** The key bytes of the leaf cell at `at` (a view). */
  keyView(buf: Uint8Array, at: number): Uint8Array {
    const start = at + this.keyPrefix;
    return buf.subarray(start, start + this.keyLength(buf, at));
  }

  /**
   * A copy of the value of the leaf cell at `at`. Uses Buffer's pooled allocation: a fresh
   * ArrayBuffer per value (Uint8Array#slice) costs several times more than the lookup.
   */
  copyValue(buf: Uint8Array, at: number): Uint8Array {
    if (!this.hasValue) return new Uint8Array(0);
    const v = at + this.keyPrefix + this.keyLength(buf, at);
    const start = v + this.valuePrefix;
    return copyRange(buf, start, this.valueLength(buf, v));
  }

  /** A copy of the key of the leaf cell at `at`. */
  copyKey(buf: Uint8Array, at: number): Uint8Array {
    return copyRange(buf, at + this.keyPrefix, this.keyLength(buf, at));
  }

  /** The value bytes of the leaf cell at `at` (a view; empty in a set). */
  valueView(buf: Uint8Array, at: number): Uint8Array {
    if (!this.hasValue) return EMPTY;
    const v = at + this.keyPrefix + this.keyLength(buf, at);
    const start = v + this.valuePrefix;
    return buf.subarray(start, start + this.valueLength(buf, v));
  }
}

const EMPTY = new Uint8Array(0);

/** compareBytes, as a module-local function the search loop can inline. */
function compareTargetBytes(
  a: Uint8Array, aOffset: number, aLength: number, b: Uint8Array, bOffset: number, bLength: number,
): number {
  const n = aLength < bLength ? aLength : bLength;
  for (let i = 0; i < n; i++) {
    const d = a[aOffset + i]! - b[bOffset + i]!;
    if (d !== 0) return d;
  }
  return aLength - bLength;
}

/** Copies `length` bytes of `source` from `start` into a new (pooled) Buffer. */
export function copyRange(source: Uint8Array, start: number, length: number): Uint8Array {
  const out = Buffer.allocUnsafe(length);
  if (length <= 128) for (let i = 0; i < length; i++) out[i] = source[start + i]!;
  else out.set(source.subarray(start, start + length));
  return out;
}
const SMALL_COPY_MAX = 48;
