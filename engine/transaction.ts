/**
 * `Transaction`: an ordered list of ops (`types-ops.ts`) built with validated builder methods,
 * plus its binary encoding (what the on-disk engine journals).
 *
 * Builders validate arguments at once (typed `EbofsError`: EINVAL for a malformed value, E2BIG
 * for an exceeded limit) and copy every byte array, so a caller may reuse its buffers and a
 * queued transaction never changes under the store.
 *
 * Encoding (little-endian throughout):
 *
 * | offset | size | field                                                         |
 * |--------|------|---------------------------------------------------------------|
 * | 0      | 4    | magic "EBTX" (0x45 0x42 0x54 0x58)                            |
 * | 4      | 2    | u16 version = 1                                               |
 * | 6      | 2    | u16 flags: bit 0 = epoch present; others must be 0            |
 * | 8      | 8    | u64 epoch (0 when absent)                                     |
 * | 16     | 4    | u32 collection-table count C                                  |
 * | 20     | 4    | u32 object-table count O                                      |
 * | 24     | 4    | u32 op count N                                                |
 * | 28     | var  | C x (u16 length, latin-1 collection id)                       |
 * | ..     | var  | O x (u32 length, object key from oid-key.ts)                  |
 * | ..     | var  | N x (u8 tag, u32 body length, body)                           |
 *
 * Op bodies, in field order: a collection is a u32 index into the collection table, an object
 * a u32 index into the object table, a number a u64, bytes a (u32 length, bytes), a pair list
 * a (u32 count, count x (bytes, bytes)), a key list a (u32 count, count x bytes).
 *
 * Invariants: tags are `OP_TAGS` values (0 invalid, never reused); every index is in range;
 * each body is consumed exactly; the decoder re-validates through the builder, so a decoded
 * transaction satisfies every limit an encoded one did.
 *
 * Versioning: an unknown version, flag or tag is `EFORMAT` (written by newer code). The body
 * length lets a future reader skip ops it knows to be ignorable; v1 knows none.
 *
 * Why: the tables make repeated collection and object ids (Ceph's habit) cost 4 bytes each;
 * integrity (checksums) is the journal record's job, not this format's.
 */
import { EbofsError, CorruptionError, type ErrorCode } from '../common/errors.js';
import { checkCollectionBits, parseCollectionId, type CollectionId } from './collection.js';
import {
  OBJECT_SIZE_BYTES_MAX, OMAP_HEADER_BYTES_MAX, OMAP_KEY_BYTES_MAX, OMAP_VALUE_BYTES_MAX,
  TRANSACTION_BYTES_MAX, TRANSACTION_OPS_MAX, XATTR_NAME_BYTES_MAX, XATTR_VALUE_BYTES_MAX,
} from './limits.js';
import { type BytesPair, type Op, type OpType, OP_TAGS, describeOp } from './types-ops.js';
import { type ByteInput, type Ghobject, type ObjectRef, POOL_MIN, normalizeObjectId, toBytes } from './types.js';
import { LARGE_WRITE_BYTES } from './data.js';
import { decodeOidKey, encodeOidKey } from './oid-key.js';
import { assert, assertNever } from '../common/assert.js';

/** Key/value input: a Map, or an iterable of pairs, or a plain object (string keys). */
export type PairsInput =
  | ReadonlyMap<ByteInput, ByteInput>
  | Iterable<readonly [ByteInput, ByteInput]>
  | { readonly [key: string]: ByteInput };

/**
 * A transaction was rejected: `code` is the cause, `opIndex` the failing op (within its
 * transaction), `transactionIndex` its position in a `queueTransactions` vector. `opIndex` is
 * -1 when no single op failed: a stale epoch (ESTALE_EPOCH, the whole transaction) or a vector
 * that does not fit (ENOSPC, reported on the last transaction). Nothing of the vector was
 * applied, and the store remains usable.
 */
export class TransactionError extends EbofsError {
  readonly opIndex: number;
  readonly opType: OpType | undefined;
  readonly transactionIndex: number;
  /** The failing op itself, when known (Ceph dumps it before aborting). */
  readonly op: Op | undefined;

  constructor(code: ErrorCode, message: string, where: {
    opIndex: number; opType?: OpType; op?: Op; transactionIndex?: number; cause?: unknown;
  }) {
    const tx = where.transactionIndex ?? 0;
    const what = where.op === undefined ? (where.opType ?? '-') : describeOp(where.op);
    super(code, `transaction ${tx} op ${where.opIndex} ${what}: ${message}`,
      { cause: where.cause, location: `transaction ${tx} op ${where.opIndex}` });
    this.opIndex = where.opIndex;
    this.opType = where.opType ?? where.op?.type;
    this.transactionIndex = tx;
    this.op = where.op;
  }
}

/** The last collection id checkCid accepted: a client writes to one PG after another. */
let lastCid: string | undefined;

function checkCid(cid: unknown): CollectionId {
  if (cid === lastCid) return cid as CollectionId;
  parseCollectionId(cid);
  lastCid = cid as CollectionId;
  return cid as CollectionId;
}

function checkOid(oid: ObjectRef): Ghobject {
  const g = normalizeObjectId(oid);
  if (g.max) throw new EbofsError('EINVAL', 'the MAX sentinel is not an object');
  // INT64_MIN is the minimum sentinel's pool (GHOBJECT_MIN must sort before every object).
  if (g.pool === POOL_MIN) throw new EbofsError('EINVAL', 'pool INT64_MIN is reserved');
  return g;
}

function checkUint(value: unknown, what: string, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new EbofsError('EINVAL', `${what} must be a non-negative integer, got ${String(value)}`);
  }
  if (value > max) throw new EbofsError('E2BIG', `${what} ${value} exceeds ${max}`);
  return value;
}

function checkExtent(offset: unknown, length: unknown, what: string): [number, number] {
  const o = checkUint(offset, `${what} offset`);
  const l = checkUint(length, `${what} length`);
  if (o + l > OBJECT_SIZE_BYTES_MAX) {
    throw new EbofsError('E2BIG', `${what} end ${o + l} exceeds max object size ${OBJECT_SIZE_BYTES_MAX}`);
  }
  return [o, l];
}

function checkBytes(input: ByteInput, what: string, max: number): Uint8Array {
  const bytes = toBytes(input);
  if (bytes.length > max) throw new EbofsError('E2BIG', `${what} is ${bytes.length} bytes (max ${max})`);
  return bytes;
}

function pairsOf(input: PairsInput): Array<readonly [ByteInput, ByteInput]> {
  if (input instanceof Map) return [...input.entries()];
  if (Symbol.iterator in input) return [...(input as Iterable<readonly [ByteInput, ByteInput]>)];
  return Object.entries(input as { readonly [key: string]: ByteInput });
}

function opBytes(op: Op): number {
  switch (op.type) {
    case 'write': return op.data.length;
    case 'setattr': return op.name.length + op.value.length;
    case 'setattrs': case 'omapSetKeys': {
      const list = op.type === 'setattrs' ? op.attrs : op.entries;
      return list.reduce((n, [k, v]) => n + k.length + v.length, 0);
    }
    case 'rmattr': return op.name.length;
    case 'omapRmKeys': return op.keys.reduce((n, k) => n + k.length, 0);
    case 'omapRmKeyRange': return op.first.length + op.last.length;
    case 'omapSetHeader': return op.header.length;
    default: return 0;
  }
}

/** Slab that small write data is copied into (one ArrayBuffer per many writes, not one each). */
const SLAB_BYTES = 256 * 1024;
/** Largest copy carved from a slab; bigger (but still small) data gets its own buffer. */
const SLAB_COPY_BYTES_MAX = 16 * 1024;
let slab = new Uint8Array(0);
let slabUsed = 0;

/**
 * A private copy of small write data, carved from a shared slab: allocating a fresh
 * ArrayBuffer per 4 KiB write costs more than the copy. A slab stays alive while any copy
 * in it does (until the checkpoint writes the last of its blocks); copies start 8-aligned.
 */
function copyToSlab(data: Uint8Array): Uint8Array {
  const n = data.byteLength;
  if (n > SLAB_COPY_BYTES_MAX) return new Uint8Array(data);
  if (slabUsed + n > slab.byteLength) {
    slab = new Uint8Array(SLAB_BYTES);
    slabUsed = 0;
  }
  const copy = slab.subarray(slabUsed, slabUsed + n);
  copy.set(data);
  slabUsed += (n + 7) & ~7;
  return copy;
}

/**
 * An ordered list of ops applied atomically. Build it, then hand it to
 * `ObjectStore.queueTransaction(s)`. Ops see the effects of earlier ops in the same
 * transaction. Reusing a transaction after queueing it is allowed (it is not consumed).
 */
export class Transaction {
  private readonly ops_: Op[] = [];
  private bytes_ = 0;
  private epoch_: number | undefined;

  /** The ops, in order. */
  get ops(): readonly Op[] {
    return this.ops_;
  }

  /** Number of ops. */
  get opCount(): number {
    return this.ops_.length;
  }

  /** Payload bytes carried (data, names, keys, values). */
  get byteCount(): number {
    return this.bytes_;
  }

  /** The fencing epoch this transaction is stamped with, if any. */
  get epoch(): number | undefined {
    return this.epoch_;
  }

  /** True when the transaction has no ops. */
  isEmpty(): boolean {
    return this.ops_.length === 0;
  }

  /**
   * Stamps the transaction with a fencing epoch: a store whose floor is above `epoch` rejects
   * it with ESTALE_EPOCH, nothing applied.
   */
  setEpoch(epoch: number): this {
    this.epoch_ = checkUint(epoch, 'epoch');
    return this;
  }

  /** Appends a validated op (from a builder or another Transaction); checks the limits. */
  private push(op: Op): this {
    if (this.ops_.length >= TRANSACTION_OPS_MAX) {
      throw new EbofsError('E2BIG', `transaction exceeds ${TRANSACTION_OPS_MAX} ops`);
    }
    const bytes = opBytes(op);
    if (this.bytes_ + bytes > TRANSACTION_BYTES_MAX) {
      throw new EbofsError('E2BIG', `transaction exceeds ${TRANSACTION_BYTES_MAX} payload bytes`);
    }
    this.ops_.push(op);
    this.bytes_ += bytes;
    return this;
  }

  /** Appends every op of `other` (Ceph `Transaction::append`); the epoch is kept if unset. */
  append(other: Transaction): this {
    for (const op of other.ops) this.push(op);
    if (this.epoch_ === undefined && other.epoch !== undefined) this.epoch_ = other.epoch;
    return this;
  }

  /** Creates collection `cid` with `bits` significant hash bits. EEXIST if it exists. */
  createCollection(cid: CollectionId, bits: number): this {
    return this.push({ type: 'createCollection', cid: checkCid(cid), bits: checkCollectionBits(bits) });
  }

  /** Removes an empty collection (ENOTEMPTY / ENOENT reject the transaction). */
  removeCollection(cid: CollectionId): this {
    return this.push({ type: 'removeCollection', cid: checkCid(cid) });
  }

  /**
   * Moves every object of `cid` whose hash matches `rem` in the low `bits` bits into
   * `targetCid` (which must exist with the same `bits`), then sets `cid`'s bits to `bits`.
   */
  splitCollection(cid: CollectionId, bits: number, rem: number, targetCid: CollectionId): this {
    const b = checkCollectionBits(bits);
    const r = checkUint(rem, 'split rem', 0xffff_ffff);
    if (b < 32 && r >= 2 ** b) throw new EbofsError('EINVAL', `split rem ${r} has bits above ${b}`);
    if (cid === targetCid) throw new EbofsError('EINVAL', 'split into the same collection');
    return this.push({ type: 'splitCollection', cid: checkCid(cid), bits: b, rem: r, targetCid: checkCid(targetCid) });
  }

  /** Moves every object of `cid` into `targetCid`, sets its bits, and removes `cid`. */
  mergeCollection(cid: CollectionId, targetCid: CollectionId, bits: number): this {
    if (cid === targetCid) throw new EbofsError('EINVAL', 'merge into the same collection');
    return this.push({
      type: 'mergeCollection', cid: checkCid(cid), targetCid: checkCid(targetCid), bits: checkCollectionBits(bits),
    });
  }

  /** Ensures the object exists (created empty if missing). */
  touch(cid: CollectionId, oid: ObjectRef): this {
    return this.push({ type: 'touch', cid: checkCid(cid), oid: checkOid(oid) });
  }

  /**
   * Writes `data` at `offset`; size becomes max(size, offset + length) when length > 0.
   *
   * Data of LARGE_WRITE_BYTES (64 KiB) or more is borrowed, not copied (Ceph's bufferlist
   * rule): the store writes it to the device from the caller's memory, so the caller must not
   * modify it until the promise of the queueTransaction call carrying it settles. Smaller data
   * (and strings) is copied here. The store keeps no reference to borrowed bytes once that
   * promise has settled.
   */
  write(cid: CollectionId, oid: ObjectRef, offset: number, data: Uint8Array | string): this {
    const bytes = data instanceof Uint8Array
      ? (data.byteLength >= LARGE_WRITE_BYTES ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : copyToSlab(data))
      : toBytes(data);
    const [o] = checkExtent(offset, bytes.length, 'write');
    return this.push({ type: 'write', cid: checkCid(cid), oid: checkOid(oid), offset: o, data: bytes });
  }

  /** Zero-fills [offset, offset + length); grows the size like a write of zeros. */
  zero(cid: CollectionId, oid: ObjectRef, offset: number, length: number): this {
    const [o, l] = checkExtent(offset, length, 'zero');
    return this.push({ type: 'zero', cid: checkCid(cid), oid: checkOid(oid), offset: o, length: l });
  }

  /** Sets the size exactly; bytes past it are forgotten, a grown tail reads as zeros. */
  truncate(cid: CollectionId, oid: ObjectRef, size: number): this {
    const [s] = checkExtent(size, 0, 'truncate');
    return this.push({ type: 'truncate', cid: checkCid(cid), oid: checkOid(oid), size: s });
  }

  /** Removes the object (data, xattrs, omap). A missing object is tolerated. */
  remove(cid: CollectionId, oid: ObjectRef): this {
    return this.push({ type: 'remove', cid: checkCid(cid), oid: checkOid(oid) });
  }

  /** Sets one xattr. */
  setattr(cid: CollectionId, oid: ObjectRef, name: ByteInput, value: ByteInput): this {
    return this.push({
      type: 'setattr', cid: checkCid(cid), oid: checkOid(oid),
      name: checkBytes(name, 'xattr name', XATTR_NAME_BYTES_MAX),
      value: checkBytes(value, 'xattr value', XATTR_VALUE_BYTES_MAX),
    });
  }

  /** Sets several xattrs (merging: others keep their values). */
  setattrs(cid: CollectionId, oid: ObjectRef, attrs: PairsInput): this {
    const list: BytesPair[] = pairsOf(attrs).map(([k, v]) => [
      checkBytes(k, 'xattr name', XATTR_NAME_BYTES_MAX), checkBytes(v, 'xattr value', XATTR_VALUE_BYTES_MAX),
    ]);
    return this.push({ type: 'setattrs', cid: checkCid(cid), oid: checkOid(oid), attrs: list });
  }

  /** Removes one xattr (a missing attribute is tolerated). */
  rmattr(cid: CollectionId, oid: ObjectRef, name: ByteInput): this {
    return this.push({
      type: 'rmattr', cid: checkCid(cid), oid: checkOid(oid),
      name: checkBytes(name, 'xattr name', XATTR_NAME_BYTES_MAX),
    });
  }

  /** Removes every xattr. */
  rmattrs(cid: CollectionId, oid: ObjectRef): this {
    return this.push({ type: 'rmattrs', cid: checkCid(cid), oid: checkOid(oid) });
  }

  /** Upserts omap keys. */
  omapSetKeys(cid: CollectionId, oid: ObjectRef, entries: PairsInput): this {
    const list: BytesPair[] = pairsOf(entries).map(([k, v]) => [
      checkBytes(k, 'omap key', OMAP_KEY_BYTES_MAX), checkBytes(v, 'omap value', OMAP_VALUE_BYTES_MAX),
    ]);
    return this.push({ type: 'omapSetKeys', cid: checkCid(cid), oid: checkOid(oid), entries: list });
  }

  /** Removes the listed omap keys (absent keys are ignored). */
  omapRmKeys(cid: CollectionId, oid: ObjectRef, keys: Iterable<ByteInput>): this {
    const list = [...keys].map((k) => checkBytes(k, 'omap key', OMAP_KEY_BYTES_MAX));
    return this.push({ type: 'omapRmKeys', cid: checkCid(cid), oid: checkOid(oid), keys: list });
  }

  /** Removes the omap keys in [first, last) by byte order. */
  omapRmKeyRange(cid: CollectionId, oid: ObjectRef, first: ByteInput, last: ByteInput): this {
    return this.push({
      type: 'omapRmKeyRange', cid: checkCid(cid), oid: checkOid(oid),
      first: checkBytes(first, 'omap key', OMAP_KEY_BYTES_MAX), last: checkBytes(last, 'omap key', OMAP_KEY_BYTES_MAX),
    });
  }

  /** Removes every omap key and the omap header. */
  omapClear(cid: CollectionId, oid: ObjectRef): this {
    return this.push({ type: 'omapClear', cid: checkCid(cid), oid: checkOid(oid) });
  }

  /** Replaces the omap header. */
  omapSetHeader(cid: CollectionId, oid: ObjectRef, header: ByteInput): this {
    return this.push({
      type: 'omapSetHeader', cid: checkCid(cid), oid: checkOid(oid),
      header: checkBytes(header, 'omap header', OMAP_HEADER_BYTES_MAX),
    });
  }

  /**
   * Renames `oid` to `targetOid` (data, xattrs and omap move). Both collections must be the
   * same (EINVAL otherwise, as in Ceph). A missing source is a no-op; an existing target
   * rejects the transaction with EEXIST.
   */
  collectionMoveRename(cid: CollectionId, oid: ObjectRef, targetCid: CollectionId, targetOid: ObjectRef): this {
    if (cid !== targetCid) throw new EbofsError('EINVAL', 'collectionMoveRename across collections');
    return this.push({
      type: 'collectionMoveRename', cid: checkCid(cid), oid: checkOid(oid),
      targetCid: checkCid(targetCid), targetOid: checkOid(targetOid),
    });
  }

  /** Advisory allocation hint; does not create the object; a missing object is tolerated. */
  setAllocHint(cid: CollectionId, oid: ObjectRef, expectedObjectSize: number, expectedWriteSize: number,
    flags = 0): this {
    return this.push({
      type: 'setAllocHint', cid: checkCid(cid), oid: checkOid(oid),
      expectedObjectSize: checkUint(expectedObjectSize, 'expected object size'),
      expectedWriteSize: checkUint(expectedWriteSize, 'expected write size'),
      flags: checkUint(flags, 'alloc hint flags', 0xffff_ffff),
    });
  }

  /**
   * Makes `targetOid` a full copy of `oid` (data, xattrs, omap header and keys), replacing
   * it. The two ids must have the same hash (EINVAL, as BlueStore) and differ.
   */
  clone(cid: CollectionId, oid: ObjectRef, targetOid: ObjectRef): this {
    const source = checkOid(oid);
    const target = checkOid(targetOid);
    if (source.hash !== target.hash) throw new EbofsError('EINVAL', 'clone needs equal hashes');
    if (Buffer.compare(encodeOidKey(source), encodeOidKey(target)) === 0) {
      throw new EbofsError('EINVAL', 'clone onto itself');
    }
    return this.push({ type: 'clone', cid: checkCid(cid), oid: source, targetOid: target });
  }

  /**
   * Copies data [sourceOffset, sourceOffset + length) of `oid` to `targetOffset` of
   * `targetOid` (data only; creates the target; grows it to targetOffset + length). The source
   * range must lie inside the source object (EINVAL when the transaction runs).
   */
  cloneRange(cid: CollectionId, oid: ObjectRef, targetOid: ObjectRef, sourceOffset: number, length: number,
    targetOffset: number): this {
    const source = checkOid(oid);
    const target = checkOid(targetOid);
    if (Buffer.compare(encodeOidKey(source), encodeOidKey(target)) === 0) {
      throw new EbofsError('EINVAL', 'cloneRange onto itself');
    }
    const [so, l] = checkExtent(sourceOffset, length, 'cloneRange source');
    const [to] = checkExtent(targetOffset, length, 'cloneRange target');
    return this.push({
      type: 'cloneRange', cid: checkCid(cid), oid: source, targetOid: target, sourceOffset: so, length: l,
      targetOffset: to,
    });
  }

  /** Raises the store's fencing floor to `epoch` (never lowers it). */
  setFloor(epoch: number): this {
    return this.push({ type: 'setFloor', epoch: checkUint(epoch, 'epoch') });
  }

  /** The binary encoding (see the module head). */
  encode(): Uint8Array {
    return encodeTransaction(this);
  }

  /** Decodes `encode()` output; bad bytes are CorruptionError, newer formats EFORMAT. */
  static decode(bytes: Uint8Array, where = 'transaction'): Transaction {
    return decodeTransaction(bytes, where);
  }

  /**
   * A transaction of already-normalised ops (the engine rebuilds journaled transactions with a
   * large write's data left out); limits are checked as for the builder methods.
   */
  static fromOps(ops: readonly Op[], epoch?: number): Transaction {
    const t = new Transaction();
    for (const op of ops) t.push(op);
    if (epoch !== undefined) t.setEpoch(epoch);
    return t;
  }
}


const MAGIC = 0x5854_4245; // "EBTX" read as a little-endian u32
const VERSION = 1;
const FLAG_EPOCH = 1;
const TAG_TO_TYPE: ReadonlyMap<number, OpType> = new Map(
  (Object.entries(OP_TAGS) as Array<[OpType, number]>).map(([type, tag]) => [tag, type]),
);

/** Where encoded fields go: a `Sizer` counts them, a `Writer` stores them. */
interface Sink {
  u8(v: number): void;
  u16(v: number): void;
  u32(v: number): void;
  u64(v: number): void;
  raw(bytes: Uint8Array): void;
  bytes(bytes: Uint8Array): void;
}

/** Counts the bytes an encoding takes (the first of the encoder's two passes). */
class Sizer implements Sink {
  length = 0;
  u8(_v: number): void { this.length += 1; }
  u16(_v: number): void { this.length += 2; }
  u32(_v: number): void { this.length += 4; }
  u64(_v: number): void { this.length += 8; }
  raw(bytes: Uint8Array): void { this.length += bytes.length; }
  bytes(bytes: Uint8Array): void { this.length += 4 + bytes.length; }
}

/** A little-endian writer into a buffer the `Sizer` pass sized exactly. */
class Writer implements Sink {
  constructor(private readonly buf: Uint8Array, public at: number) {}

  u8(v: number): void { this.buf[this.at++] = v; }
  u16(v: number): void {
    const b = this.buf;
    const at = this.at;
    b[at] = v; b[at + 1] = v >>> 8;
    this.at = at + 2;
  }
  u32(v: number): void {
    const b = this.buf;
    const at = this.at;
    b[at] = v; b[at + 1] = v >>> 8; b[at + 2] = v >>> 16; b[at + 3] = v >>> 24;
    this.at = at + 4;
  }
  u64(v: number): void {
    this.u32(v >>> 0);
    this.u32(Math.floor(v / 0x1_0000_0000));
  }
  raw(bytes: Uint8Array): void {
    this.buf.set(bytes, this.at);
    this.at += bytes.length;
  }
  bytes(bytes: Uint8Array): void { this.u32(bytes.length); this.raw(bytes); }
}

/** A bounds-checked little-endian reader; overruns are CorruptionError. */
class Reader {
  private readonly view: DataView;
  at = 0;
  constructor(private readonly buf: Uint8Array, private readonly where: string) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  need(n: number): void {
    if (this.at + n > this.buf.length) this.fail(`truncated at ${this.at} (+${n})`);
  }

  fail(what: string): never {
    throw new CorruptionError('ECORRUPT', `transaction: ${what}`, { location: this.where });
  }

  u8(): number { this.need(1); return this.view.getUint8(this.at++); }
  u16(): number { this.need(2); const v = this.view.getUint16(this.at, true); this.at += 2; return v; }
  u32(): number { this.need(4); const v = this.view.getUint32(this.at, true); this.at += 4; return v; }
  u64(): number {
    this.need(8);
    const v = this.view.getBigUint64(this.at, true);
    this.at += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) this.fail(`u64 ${v} beyond 2^53`);
    return Number(v);
  }
  raw(n: number): Uint8Array { this.need(n); const v = this.buf.slice(this.at, this.at + n); this.at += n; return v; }
  bytes(): Uint8Array { return this.raw(this.u32()); }
}

/** Tables up to this size are searched linearly (no string keys built). */
const TABLE_SCAN_MAX = 8;

/** Interns collection and object ids into the encoding's tables. */
class Tables {
  readonly cids: string[] = [];
  readonly oids: Uint8Array[] = [];
  /** Ids already interned, by identity (the write pass looks every id up again). */
  private readonly byObject = new Map<Ghobject, number>();
  private oidIndex: Map<string, number> | undefined;

  cid(cid: string): number {
    const cids = this.cids;
    for (let i = 0; i < cids.length; i++) if (cids[i] === cid) return i;
    cids.push(cid);
    return cids.length - 1;
  }

  oid(oid: Ghobject): number {
    let i = this.byObject.get(oid);
    if (i !== undefined) return i;
    const key = encodeOidKey(oid);
    const oids = this.oids;
    if (this.oidIndex === undefined) {
      for (let j = 0; j < oids.length; j++) if (equalBytes(oids[j]!, key)) { i = j; break; }
      if (i === undefined && oids.length >= TABLE_SCAN_MAX) {
        this.oidIndex = new Map(oids.map((k, j) => [Buffer.from(k).toString('latin1'), j]));
      }
    }
    if (this.oidIndex !== undefined && i === undefined) {
      const text = Buffer.from(key).toString('latin1');
      i = this.oidIndex.get(text);
      if (i === undefined) this.oidIndex.set(text, oids.length);
    }
    if (i === undefined) { i = oids.length; oids.push(key); }
    this.byObject.set(oid, i);
    return i;
  }
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function writePairs(w: Sink, pairs: readonly BytesPair[]): void {
  w.u32(pairs.length);
  for (const [k, v] of pairs) { w.bytes(k); w.bytes(v); }
}

/**
 * Writes the body of `op` (everything after tag and body length). `omitData`: a write op's
 * data is encoded as empty bytes (a large write's data lives at its placement).
 */
function writeOpBody(w: Sink, t: Tables, op: Op, omitData: boolean): void {
  if (op.type === 'setFloor') { w.u64(op.epoch); return; }
  w.u32(t.cid(op.cid));
  switch (op.type) {
    case 'createCollection': w.u32(op.bits); return;
    case 'removeCollection': return;
    case 'splitCollection': w.u32(op.bits); w.u32(op.rem); w.u32(t.cid(op.targetCid)); return;
    case 'mergeCollection': w.u32(t.cid(op.targetCid)); w.u32(op.bits); return;
    default: break;
  }
  w.u32(t.oid(op.oid));
  switch (op.type) {
    case 'touch': case 'remove': case 'rmattrs': case 'omapClear': return;
    case 'write': w.u64(op.offset); if (omitData) w.u32(0); else w.bytes(op.data); return;
    case 'zero': w.u64(op.offset); w.u64(op.length); return;
    case 'truncate': w.u64(op.size); return;
    case 'setattr': w.bytes(op.name); w.bytes(op.value); return;
    case 'setattrs': writePairs(w, op.attrs); return;
    case 'rmattr': w.bytes(op.name); return;
    case 'omapSetKeys': writePairs(w, op.entries); return;
    case 'omapRmKeys': w.u32(op.keys.length); for (const k of op.keys) w.bytes(k); return;
    case 'omapRmKeyRange': w.bytes(op.first); w.bytes(op.last); return;
    case 'omapSetHeader': w.bytes(op.header); return;
    case 'collectionMoveRename': w.u32(t.cid(op.targetCid)); w.u32(t.oid(op.targetOid)); return;
    case 'setAllocHint': w.u64(op.expectedObjectSize); w.u64(op.expectedWriteSize); w.u32(op.flags); return;
    case 'clone': w.u32(t.oid(op.targetOid)); return;
    case 'cloneRange':
      w.u32(t.oid(op.targetOid)); w.u64(op.sourceOffset); w.u64(op.length); w.u64(op.targetOffset); return;
    default: assertNever(op, 'op');
  }
}

/**
 * A transaction laid out for encoding: `byteLength` is exact, `writeTo` stores the encoding.
 * `omitData(opIndex)`: write ops whose data the encoding leaves out (as empty bytes).
 */
export class TransactionEncoder {
  readonly byteLength: number;
  private readonly tables = new Tables();

  constructor(private readonly tx: Transaction, private readonly omitData?: (opIndex: number) => boolean) {
    const sizer = new Sizer();
    this.body(sizer);
    let size = 28 + sizer.length;
    for (const cid of this.tables.cids) size += 2 + cid.length;
    for (const key of this.tables.oids) size += 4 + key.length;
    this.byteLength = size;
  }

  /** Writes the encoding at `at` of `target` (which has `byteLength` bytes there). */
  writeTo(target: Uint8Array, at: number): void {
    const w = new Writer(target, at);
    const { tx, tables } = this;
    w.u32(MAGIC);
    w.u16(VERSION);
    w.u16(tx.epoch === undefined ? 0 : FLAG_EPOCH);
    w.u64(tx.epoch ?? 0);
    w.u32(tables.cids.length);
    w.u32(tables.oids.length);
    w.u32(tx.opCount);
    for (const cid of tables.cids) {
      w.u16(cid.length);
      for (let i = 0; i < cid.length; i++) w.u8(cid.charCodeAt(i));
    }
    for (const key of tables.oids) w.bytes(key);
    this.body(w);
    assert(w.at === at + this.byteLength, 'transaction encoding size mismatch');
  }

  private body(w: Sizer | Writer): void {
    const ops = this.tx.ops;
    const omit = this.omitData;
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i]!;
      w.u8(OP_TAGS[op.type]);
      if (w instanceof Writer) {
        const lengthAt = w.at;
        w.u32(0);
        writeOpBody(w, this.tables, op, omit?.(i) === true);
        const end = w.at;
        w.at = lengthAt;
        w.u32(end - lengthAt - 4);
        w.at = end;
      } else {
        w.u32(0);
        writeOpBody(w, this.tables, op, omit?.(i) === true);
      }
    }
  }
}

/** Encodes a transaction (see the module head). */
export function encodeTransaction(tx: Transaction): Uint8Array {
  const encoder = new TransactionEncoder(tx);
  const out = new Uint8Array(encoder.byteLength);
  encoder.writeTo(out, 0);
  return out;
}

function readPairs(r: Reader): Array<[Uint8Array, Uint8Array]> {
  const n = r.u32();
  const out: Array<[Uint8Array, Uint8Array]> = [];
  for (let i = 0; i < n; i++) out.push([r.bytes(), r.bytes()]);
  return out;
}

/** Reads one op body through the builder, so every argument is validated again. */
function readOp(tx: Transaction, type: OpType, r: Reader, cids: string[], oids: Ghobject[]): void {
  const cid = (): string => cids[r.u32()] ?? r.fail('collection index out of range');
  const oid = (): Ghobject => oids[r.u32()] ?? r.fail('object index out of range');
  if (type === 'setFloor') { tx.setFloor(r.u64()); return; }
  const c = cid();
  switch (type) {
    case 'createCollection': tx.createCollection(c, r.u32()); return;
    case 'removeCollection': tx.removeCollection(c); return;
    case 'splitCollection': {
      const bits = r.u32();
      const rem = r.u32();
      tx.splitCollection(c, bits, rem, cid());
      return;
    }
    case 'mergeCollection': { const target = cid(); tx.mergeCollection(c, target, r.u32()); return; }
    default: break;
  }
  const o = oid();
  switch (type) {
    case 'touch': tx.touch(c, o); return;
    case 'remove': tx.remove(c, o); return;
    case 'rmattrs': tx.rmattrs(c, o); return;
    case 'omapClear': tx.omapClear(c, o); return;
    case 'write': { const off = r.u64(); tx.write(c, o, off, r.bytes()); return; }
    case 'zero': { const off = r.u64(); tx.zero(c, o, off, r.u64()); return; }
    case 'truncate': tx.truncate(c, o, r.u64()); return;
    case 'setattr': { const name = r.bytes(); tx.setattr(c, o, name, r.bytes()); return; }
    case 'setattrs': tx.setattrs(c, o, readPairs(r)); return;
    case 'rmattr': tx.rmattr(c, o, r.bytes()); return;
    case 'omapSetKeys': tx.omapSetKeys(c, o, readPairs(r)); return;
    case 'omapRmKeys': {
      const n = r.u32();
      const keys: Uint8Array[] = [];
      for (let i = 0; i < n; i++) keys.push(r.bytes());
      tx.omapRmKeys(c, o, keys);
      return;
    }
    case 'omapRmKeyRange': { const first = r.bytes(); tx.omapRmKeyRange(c, o, first, r.bytes()); return; }
    case 'omapSetHeader': tx.omapSetHeader(c, o, r.bytes()); return;
    case 'collectionMoveRename': { const tc = cid(); tx.collectionMoveRename(c, o, tc, oid()); return; }
    case 'setAllocHint': {
      const size = r.u64(); const write = r.u64(); tx.setAllocHint(c, o, size, write, r.u32()); return;
    }
    case 'clone': tx.clone(c, o, oid()); return;
    case 'cloneRange': {
      const target = oid(); const so = r.u64(); const len = r.u64();
      tx.cloneRange(c, o, target, so, len, r.u64());
      return;
    }
    default: assertNever(type, 'op type');
  }
}

function readHeader(r: Reader, tx: Transaction): [number, number, number] {
  if (r.u32() !== MAGIC) r.fail('bad magic');
  const version = r.u16();
  const flags = r.u16();
  if (version !== VERSION || (flags & ~FLAG_EPOCH) !== 0) {
    throw new EbofsError('EFORMAT', `transaction version ${version} flags ${flags} unknown`);
  }
  const epoch = r.u64();
  if ((flags & FLAG_EPOCH) !== 0) tx.setEpoch(epoch);
  return [r.u32(), r.u32(), r.u32()];
}

/** Decodes `encodeTransaction` output. Bad bytes: CorruptionError; newer format: EFORMAT. */
export function decodeTransaction(bytes: Uint8Array, where = 'transaction'): Transaction {
  const r = new Reader(bytes, where);
  const tx = new Transaction();
  const [cidCount, oidCount, opCount] = readHeader(r, tx);
  if (opCount > TRANSACTION_OPS_MAX) r.fail(`op count ${opCount}`);
  const cids: string[] = [];
  for (let i = 0; i < cidCount; i++) cids.push(Buffer.from(r.raw(r.u16())).toString('latin1'));
  const oids: Ghobject[] = [];
  for (let i = 0; i < oidCount; i++) oids.push(decodeOidKey(r.bytes(), `${where} object ${i}`));
  for (let i = 0; i < opCount; i++) {
    const tag = r.u8();
    const type = TAG_TO_TYPE.get(tag);
    if (type === undefined) throw new EbofsError('EFORMAT', `unknown op tag ${tag} at op ${i}`);
    const length = r.u32();
    const end = r.at + length;
    r.need(length);
    try {
      readOp(tx, type, r, cids, oids);
    } catch (err) {
      if (err instanceof CorruptionError) throw err;
      throw new CorruptionError('ECORRUPT', `op ${i} (${type}) invalid`, { location: where, cause: err });
    }
    if (r.at !== end) r.fail(`op ${i} body length ${length} does not match`);
  }
  if (r.at !== bytes.length) r.fail(`${bytes.length - r.at} trailing bytes`);
  return tx;
}
