/**
 * `Transaction`: an ordered list of ops (`types-ops.ts`) built with validated builder methods.
 * Its binary encoding (what the on-disk engine journals) is transaction-codec.ts.
 *
 * Builders validate arguments at once (typed `EbofsError`: EINVAL for a malformed value, E2BIG
 * for an exceeded limit) and copy byte arrays, so a caller may reuse its buffers and a queued
 * transaction never changes under the store — except write data of LARGE_WRITE_BYTES or more,
 * which is borrowed until the queueTransaction promise settles (see `write`).
 */
import { EbofsError, type ErrorCode } from '../common/errors.js';
import { checkCollectionBits, parseCollectionId, type CollectionId } from './collection.js';
import {
  OBJECT_SIZE_BYTES_MAX, OMAP_HEADER_BYTES_MAX, OMAP_KEY_BYTES_MAX, OMAP_VALUE_BYTES_MAX,
  TRANSACTION_BYTES_MAX, TRANSACTION_OPS_MAX, XATTR_NAME_BYTES_MAX, XATTR_VALUE_BYTES_MAX,
} from './limits.js';
import { type BytesPair, type Op, type OpType, describeOp } from './types-ops.js';
import { type ByteInput, type Ghobject, type ObjectRef, POOL_MIN, normalizeObjectId, toBytes } from './types.js';
import { isLargeWrite } from './data.js';
import { encodeOidKey } from './oid-key.js';
import { decodeTransaction, encodeTransaction } from './transaction-codec.js';

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
      ? (isLargeWrite(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : copyToSlab(data))
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
