/**
 * engine/store.ts: EbofsStore, the on-disk ObjectStore.
 *
 * A transaction vector is applied synchronously (validated and applied through one
 * TxnContext: all or nothing), so it is readable when queueTransactions returns; it is
 * committed when its journal event is durable. A vector without large writes is appended to
 * the journal before it is applied, so the record's device write overlaps the apply; if the
 * apply rejects it, a cancel record follows (engine/record.ts). Large-write data is written
 * durably (O_DSYNC) as soon as the vector is applied, and the journal batch that references it
 * waits for it (the journal's beforeBatch hook); replay refuses an event whose data did not
 * survive (lifecycle.ts). Checkpoints (checkpoint.ts) write the trees and small-write data
 * copy-on-write, then the alternate superblock, then trim the journal. Mount and replay:
 * lifecycle.ts.
 *
 * Admission: a vector is applied only when the journal has room for its event, so appended
 * events never wait for a trim — a checkpoint can always wait for them. Otherwise it queues
 * (FIFO, in order with everything after it) until a checkpoint frees journal space.
 */
import { checkBatch, checkReadArgs } from './store-args.js';
import { EbofsError } from '../common/errors.js';
import { assert } from '../common/assert.js';
import type { Journal } from '../journal/index.js';
import { parseCollectionId, type CollectionId } from './collection.js';
import { collectionKeyRange, decodeOnodeKey, encodeOnodeKey } from './oid-key.js';
import {
  GHOBJECT_MAX, GHOBJECT_MIN, type ByteInput, BytesMap, type Ghobject, ObjectLabel, type ObjectRef, type Where,
  bytesToBinary, formatGhobject, normalizeObjectId, toBytes,
} from './types.js';
import type {
  ListObjectsOptions, ListObjectsResult, ObjectStat, ObjectStore, OmapRange, QueueOptions, StoreStatfs, Extent, StoreReservation,
} from './types-store.js';
import type { Reservation } from '../alloc/index.js';
import { Transaction, TransactionError } from './transaction.js';
import { isToleratedError } from './types-ops.js';
import { LIST_OBJECTS_MAX, READ_BYTES_MAX, STAT_BLOCK_SIZE_BYTES } from './limits.js';
import { type OnodeRecord, nidRange, omapEntryBase, omapHeaderBase, xattrBase, xattrNameOf } from './meta-keys.js';
import { getChunked, iterateChunked } from './chunked.js';
import { getOnode, scanOnodes } from './onode-keys.js';
import { applyOp, MissingCollection } from './apply.js';
import { extentsIn, isLargeWrite } from './data.js';
import { cloneDiff } from './clone-diff.js';
import { CANCEL_RECORD_BYTES, encodeCancelRecord, encodeRecord } from './record.js';
import { TxnContext, verifyBlock } from './txn-context.js';
import { writeBlockRuns } from './page-store.js';
import type { EngineState } from './state.js';
import { Checkpointer, type CheckpointPolicy } from './checkpoint.js';
import type { Superblock } from './superblock.js';
import { type FsckFinding, type FsckOptions, fsckStore } from './fsck.js';

interface Waiting {
  ts: readonly Transaction[];
  options: QueueOptions;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class EbofsStore implements ObjectStore {
  private closed = false;
  private readonly waiting: Waiting[] = [];
  /** Large-write device writes the next journal batch must see completed and flushed. */
  private dataWrites: Promise<void>[] = [];
  readonly checkpointer: Checkpointer;

  /** @internal Built by open() in lifecycle.ts. */
  constructor(readonly state: EngineState, readonly journal: Journal, superblock: Superblock, policy: CheckpointPolicy) {
    this.checkpointer = new Checkpointer(state, journal, superblock, policy, () => this.pump());
  }

  /**
   * The journal's beforeBatch hook: the large-write data the batch references is durable
   * before its records are written (each data run is written with writeDurable), so the batch
   * needs to make only its own records durable: resolves false. Replay still refuses an event
   * whose data does not verify (lifecycle.ts, largeWritesDurable), which cannot have been
   * acknowledged.
   */
  flushDataWrites(): Promise<boolean> | false {
    const writes = this.dataWrites;
    if (writes.length === 0) return false;
    this.dataWrites = [];
    return Promise.all(writes).then(() => false);
  }

  queueTransaction(t: Transaction, options: QueueOptions = {}): Promise<void> {
    return this.queueTransactions([t], options);
  }

  queueTransactions(ts: readonly Transaction[], options: QueueOptions = {}): Promise<void> {
    try {
      this.checkOpen();
      checkBatch(ts);
    } catch (err) {
      return Promise.reject(err);
    }
    if (this.waiting.length > 0) return this.enqueue(ts, options);
    try {
      return this.applyAndLog(ts, options) ?? this.enqueue(ts, options);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  private enqueue(ts: readonly Transaction[], options: QueueOptions): Promise<void> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ ts, options, resolve, reject });
      this.checkpointer.request('journal full');
    });
  }

  /**
   * Applies queued vectors that now fit the journal (called after each checkpoint). After a
   * failed checkpoint no trim is coming: the queued vectors are rejected (nothing of them was
   * applied), EIO with the checkpoint's error as the cause.
   */
  private pump(): void {
    const failure = this.checkpointer.failure;
    if (failure !== undefined) {
      for (const next of this.waiting.splice(0)) {
        next.reject(new EbofsError('EIO', 'a checkpoint failed while the transaction waited for journal space', { cause: failure }));
      }
      return;
    }
    while (this.waiting.length > 0) {
      const next = this.waiting[0]!;
      let committed: Promise<void> | undefined;
      try {
        if (this.closed) throw new EbofsError('ECLOSED', 'store closed before the transaction applied');
        committed = this.applyAndLog(next.ts, next.options);
        if (committed === undefined) {
          this.checkpointer.request('journal full');
          return;
        }
      } catch (err) {
        this.waiting.shift();
        next.reject(err);
        continue;
      }
      this.waiting.shift();
      committed.then(next.resolve, next.reject);
    }
  }

  /**
   * Applies a vector and appends its journal event. Returns undefined (nothing applied) when
   * the journal has no room for the event now; throws (nothing applied) when it can never
   * fit, or is invalid and has large writes; returns a promise that rejects when it is invalid.
   */
  private applyAndLog(ts: readonly Transaction[], options: QueueOptions): Promise<void> | undefined {
    return hasLargeWrite(ts) ? this.applyThenLog(ts, options) : this.logThenApply(ts, options);
  }

  /**
   * The small-vector path: the record needs nothing from the apply (no placements), so it is
   * appended first and its device write (issued within append when the journal is idle)
   * overlaps the apply and the commit bookkeeping. If the apply then rejects the vector, a
   * cancel record follows at once (engine/record.ts) and the caller hears of the rejection
   * when the cancel is durable: from then on no replay can apply the vector. Nothing can
   * observe the gap between append and commit: no await separates them.
   */
  private logThenApply(ts: readonly Transaction[], options: QueueOptions): Promise<void> | undefined {
    const record = this.encodeChecked(ts, []);
    if (!this.journal.canAppend(record.byteLength, CANCEL_RECORD_BYTES)) return undefined;
    const appended = this.journal.append(record);
    let ctx: TxnContext;
    try {
      ctx = this.applyVector(ts, undefined, options.reservation as Reservation | undefined);
      assert(ctx.placements.length === 0, 'a vector without large writes placed data');
    } catch (err) {
      appended.catch(() => undefined);
      const cancelled = this.journal.append(encodeCancelRecord());
      this.checkpointer.noteAppend(cancelled);
      const rejection = (): never => { throw err; };
      return cancelled.then(rejection, rejection);
    }
    return this.publish(ctx, appended, options);
  }

  /** The path of vectors with large writes: their record carries the placements the apply chose. */
  private applyThenLog(ts: readonly Transaction[], options: QueueOptions): Promise<void> | undefined {
    const ctx = this.applyVector(ts, undefined, options.reservation as Reservation | undefined);
    let record: Buffer;
    try {
      record = this.encodeChecked(ts, ctx.placements);
    } catch (err) {
      ctx.abort();
      throw err;
    }
    if (!this.journal.canAppend(record.byteLength)) {
      ctx.abort();
      return undefined;
    }
    // Large-write data goes out before the commit's bookkeeping (it only needs the placement),
    // each run durable on its own (O_DSYNC), so its write-back overlaps the rest of the work.
    const large = ctx.largeBlocks();
    if (large !== undefined) {
      const written = this.writeLargeBlocks(large);
      written.catch(() => undefined); // awaited (and reported) by the journal's next batch
      this.dataWrites.push(written);
    }
    // Append before publishing: an idle journal issues the record's write within append(), so
    // the commit bookkeeping overlaps the device write. The journal never calls back into the
    // owner synchronously (its onFull is deferred; beforeBatch only looks at dataWrites).
    return this.publish(ctx, this.journal.append(record), options);
  }

  /** Encodes a vector's record; E2BIG when it exceeds the journal's event limit. */
  private encodeChecked(ts: readonly Transaction[], placements: TxnContext['placements']): Buffer {
    const record = encodeRecord(ts, placements, (bytes) => this.journal.payloadBuffer(bytes));
    if (record.byteLength > this.journal.eventBytesMax) {
      throw new EbofsError('E2BIG', `transaction record of ${record.byteLength} bytes exceeds the journal's ${this.journal.eventBytesMax}`);
    }
    return record;
  }

  /** Makes an applied context visible and ties the caller's promise to its journal event. */
  private publish(ctx: TxnContext, appended: Promise<unknown>, options: QueueOptions): Promise<void> {
    this.state.commit(ctx);
    options.onApplied?.();
    this.checkpointer.noteAppend(appended);
    this.checkpointer.maybeTrigger();
    return appended.then(() => undefined);
  }

  /** Validates and applies a vector into a context; throws TransactionError, nothing changed. */
  applyVector(ts: readonly Transaction[], replay?: TxnContext['replayPlacements'], reservation?: Reservation): TxnContext {
    const ctx = new TxnContext(this.state);
    ctx.replayPlacements = replay;
    this.state.activeReservation = reservation;
    try {
      ts.forEach((t, ti) => {
        ctx.transactionIndex = ti;
        if (t.epoch !== undefined && t.epoch < ctx.floor) {
          throw new TransactionError('ESTALE_EPOCH', `epoch ${t.epoch} below floor ${ctx.floor}`, { opIndex: -1, transactionIndex: ti });
        }
        t.ops.forEach((op, oi) => {
          ctx.opIndex = oi;
          try {
            applyOp(ctx, op);
          } catch (err) {
            if (!(err instanceof EbofsError) || err instanceof TransactionError) throw err;
            if (!(err instanceof MissingCollection) && isToleratedError(op.type, err.code)) return;
            throw new TransactionError(err.code, err.message.replace(/^[A-Z0-9_]+: /, ''), { opIndex: oi, opType: op.type, transactionIndex: ti, cause: err });
          }
        });
      });
    } catch (err) {
      ctx.abort();
      throw err;
    } finally {
      this.state.activeReservation = undefined;
    }
    return ctx;
  }

  /**
   * Reserves `bytes` for later transactions (`queueTransaction(t, { reservation })`): their
   * allocations draw from it first and never fail with ENOSPC for the reserved part. ENOSPC if
   * the space is not free now. Reservations live in memory: a restart releases them.
   */
  reserve(bytes: number): StoreReservation {
    this.checkOpen();
    return this.state.allocator.reserve(bytes);
  }

  /** Ends a reservation; returns the bytes it gave back (its unused rest). */
  release(reservation: StoreReservation): number {
    this.checkOpen();
    return this.state.allocator.release(reservation as Reservation);
  }

  /**
   * Writes a vector's large-write blocks, each run durable when this resolves (writeDurable),
   * so the journal batch that references them needs no flush of its own for them. Their bytes
   * stay readable from inflightData (set by state.commit, right after this is issued) until
   * they are on the device.
   */
  private async writeLargeBlocks(blocks: Map<number, Buffer>): Promise<void> {
    await writeBlockRuns(this.state.device, blocks, true, this.state.geometry.blockBytes);
    for (const [id, bytes] of blocks) if (this.state.inflightData.get(id) === bytes) this.state.inflightData.delete(id);
  }

  // ---- reads: metadata lookups are synchronous on the current versions; no version is held
  // across an await, so pages freed by later commits are never read through a stale root.

  private checkOpen(): void {
    if (this.closed) throw new EbofsError('ECLOSED', 'store is closed');
  }

  private get trees(): EngineState['trees'] {
    return this.state.trees;
  }

  private requireCollection(cid: CollectionId): number {
    this.checkOpen();
    parseCollectionId(cid);
    const value = this.trees.colls.current.get(Buffer.from(cid, 'latin1'));
    if (value === undefined) throw new EbofsError('ENOENT', `no collection ${cid}`, { location: cid });
    return Buffer.from(value.buffer, value.byteOffset, value.byteLength).readUInt32LE(0);
  }

  private lookup(cid: CollectionId, ref: ObjectRef): OnodeRecord {
    return this.lookupWithId(cid, ref).onode;
  }

  /** The onode and the normalised id (collection checked first, as Ceph's lookup does). */
  private lookupWithId(cid: CollectionId, ref: ObjectRef): { onode: OnodeRecord; oid: Ghobject } {
    this.requireCollection(cid);
    const oid = normalizeObjectId(ref);
    const onode = getOnode(this.trees.onodes.current, this.trees.names.current, encodeOnodeKey(cid, oid), new ObjectLabel(cid, oid, 'onode '));
    if (onode === undefined) {
      throw new EbofsError('ENOENT', `no object ${formatGhobject(oid)}`, { location: `${cid}/${formatGhobject(oid)}` });
    }
    return { onode, oid };
  }

  async read(cid: CollectionId, ref: ObjectRef, offset = 0, length = 0): Promise<Buffer> {
    const { onode, oid } = this.lookupWithId(cid, ref);
    checkReadArgs(offset, length);
    if (offset >= onode.size || (length === 0 && offset > 0)) return Buffer.alloc(0);
    const n = length === 0 ? onode.size : Math.min(length, onode.size - offset);
    if (n > READ_BYTES_MAX) throw new EbofsError('E2BIG', `read of ${n} bytes exceeds ${READ_BYTES_MAX}`);
    if (onode.inline !== undefined) return Buffer.from(onode.inline.subarray(offset, offset + n));
    return this.readData(onode.nid, offset, n, new ObjectLabel(cid, oid));
  }

  /**
   * Reads object data: per extent record, the whole checksum blocks holding the requested
   * bytes, each verified (blocks still in memory are authoritative and need no check).
   */
  private async readData(nid: number, offset: number, length: number, label: Where): Promise<Buffer> {
    const out = Buffer.alloc(length);
    const { blockBytes: B, csumBlockBytes: C } = this.state.geometry;
    const end = offset + length;
    const extents = extentsIn(this.trees.extents.current, nid, Math.floor(offset / B), Math.ceil(end / B), label);
    this.checkpointer.beginRead();
    try {
      for (const e of extents) {
        const base = e.lblock * B;
        const lo = Math.max(offset, base);
        const hi = Math.min(end, base + e.count * B);
        if (lo >= hi) continue;
        const c0 = Math.floor(lo / C);
        const c1 = Math.ceil(hi / C);
        // Checksum blocks wholly inside the request are read straight into the result.
        const whole = lo === c0 * C && hi === c1 * C;
        const bytes = whole ? out.subarray(lo - offset, hi - offset) : Buffer.alloc((c1 - c0) * C);
        await this.readPhysical(e.pblock * B + (c0 * C - base), bytes);
        for (let c = c0; c < c1; c++) {
          const chunk = bytes.subarray((c - c0) * C, (c - c0 + 1) * C);
          const b = Math.floor((c * C - base) / B);
          const cached = this.state.deferredData.get(e.pblock + b) ?? this.state.inflightData.get(e.pblock + b);
          const inBlock = c * C - base - b * B;
          if (cached !== undefined) cached.copy(chunk, 0, inBlock, inBlock + C);
          else verifyBlock(chunk, e.csums[(c * C - base) / C]!, () => `${label} offset ${c * C}`);
        }
        if (!whole) bytes.copy(out, lo - offset, lo - c0 * C, hi - c0 * C);
      }
    } finally {
      this.checkpointer.endRead();
    }
    return out;
  }

  /** Reads device bytes at `at`, skipping the device when every data block is still in memory. */
  private async readPhysical(at: number, target: Buffer): Promise<void> {
    const B = this.state.geometry.blockBytes;
    let inMemory = true;
    for (let p = Math.floor(at / B); p * B < at + target.byteLength && inMemory; p++) {
      inMemory = this.state.deferredData.has(p) || this.state.inflightData.has(p);
    }
    if (!inMemory) await this.state.device.read(at, target);
  }

  async stat(cid: CollectionId, oid: ObjectRef): Promise<ObjectStat> {
    const { size } = this.lookup(cid, oid);
    return { size, blockSize: STAT_BLOCK_SIZE_BYTES, blocks: Math.ceil(size / STAT_BLOCK_SIZE_BYTES) };
  }

  async exists(cid: CollectionId, oid: ObjectRef): Promise<boolean> {
    this.checkOpen();
    if (this.trees.colls.current.get(Buffer.from(cid, 'latin1')) === undefined) return false;
    const full = encodeOnodeKey(cid, normalizeObjectId(oid));
    return getOnode(this.trees.onodes.current, this.trees.names.current, full, cid) !== undefined;
  }

  async getattr(cid: CollectionId, oid: ObjectRef, name: ByteInput): Promise<Buffer> {
    const { nid } = this.lookup(cid, oid);
    const value = getChunked(this.trees.xattrs.current, xattrBase(nid, toBytes(name)));
    if (value === undefined) throw new EbofsError('ENODATA', 'no such xattr', { location: cid });
    return value;
  }

  async getattrs(cid: CollectionId, oid: ObjectRef): Promise<BytesMap> {
    const { nid } = this.lookup(cid, oid);
    const range = nidRange(nid);
    const entries: [string, Buffer][] = [];
    for (const [base, value] of iterateChunked(this.trees.xattrs.current, range.start, range.end)) {
      entries.push([bytesToBinary(xattrNameOf(base)), value]);
    }
    return new BytesMap(entries);
  }

  async omapGetHeader(cid: CollectionId, oid: ObjectRef): Promise<Buffer> {
    const { nid } = this.lookup(cid, oid);
    return getChunked(this.trees.omap.current, omapHeaderBase(nid)) ?? Buffer.alloc(0);
  }

  async omapGetValues(cid: CollectionId, oid: ObjectRef, keys: Iterable<ByteInput>): Promise<BytesMap> {
    const { nid } = this.lookup(cid, oid);
    const out: [string, Buffer][] = [];
    for (const key of keys) {
      const k = toBytes(key);
      const value = getChunked(this.trees.omap.current, omapEntryBase(nid, k));
      if (value !== undefined) out.push([bytesToBinary(k), value]);
    }
    return new BytesMap(out);
  }

  async omapGetKeys(cid: CollectionId, oid: ObjectRef): Promise<Buffer[]> {
    const keys: Buffer[] = [];
    for await (const [k] of this.omapIterate(cid, oid)) keys.push(k);
    return keys;
  }

  async *omapIterate(cid: CollectionId, oid: ObjectRef, range: OmapRange = {}): AsyncGenerator<[Buffer, Buffer]> {
    if (range.start !== undefined && range.after !== undefined) {
      throw new EbofsError('EINVAL', 'omapIterate takes start or after, not both');
    }
    let { nid } = this.lookup(cid, oid);
    const entryStart = omapEntryBase(nid, new Uint8Array(0)).subarray(0, 9);
    let start: Uint8Array = range.after !== undefined ? omapEntryBase(nid, toBytes(range.after))
      : range.start !== undefined ? omapEntryBase(nid, toBytes(range.start)) : Buffer.from(entryStart);
    let skip: Uint8Array | undefined = range.after !== undefined ? Buffer.from(start) : undefined;
    const end = range.end !== undefined ? omapEntryBase(nid, toBytes(range.end)) : nidRange(nid).end;
    const BATCH = 256;
    for (;;) {
      // Re-look-up the object each batch: the caller may await between items.
      nid = this.lookup(cid, oid).nid;
      const batch: [Buffer, Buffer][] = [];
      for (const [base, value] of iterateChunked(this.trees.omap.current, start, end)) {
        if (skip !== undefined && Buffer.compare(base, skip) === 0) continue;
        batch.push([base, value]);
        if (batch.length >= BATCH) break;
      }
      for (const [base, value] of batch) yield [decodeOmapKey(base), value];
      if (batch.length < BATCH) return;
      const last = batch[batch.length - 1]![0];
      start = last;
      skip = last;
    }
  }

  async listCollections(): Promise<CollectionId[]> {
    this.checkOpen();
    return [...this.trees.colls.current.range()].map((e) => Buffer.from(e.key).toString('latin1')).sort();
  }

  async collectionExists(cid: CollectionId): Promise<boolean> {
    this.checkOpen();
    return this.trees.colls.current.get(Buffer.from(cid, 'latin1')) !== undefined;
  }

  async collectionEmpty(cid: CollectionId): Promise<boolean> {
    this.requireCollection(cid);
    const range = collectionKeyRange(cid);
    return this.trees.onodes.current.range({ start: range.start, end: range.end, limit: 1 }).next().done === true;
  }

  async collectionBits(cid: CollectionId): Promise<number> {
    return this.requireCollection(cid);
  }

  async listObjects(cid: CollectionId, options: ListObjectsOptions = {}): Promise<ListObjectsResult> {
    this.requireCollection(cid);
    const start = normalizeObjectId(options.start ?? GHOBJECT_MIN);
    const end = normalizeObjectId(options.end ?? GHOBJECT_MAX);
    const max = Math.min(options.max ?? LIST_OBJECTS_MAX, LIST_OBJECTS_MAX);
    if (!Number.isInteger(max) || max < 0) throw new EbofsError('EINVAL', `bad listObjects max ${max}`);
    const range = collectionKeyRange(cid);
    const endKey = end.max ? range.end : encodeOnodeKey(cid, end);
    const objects: Ghobject[] = [];
    let next: Ghobject = GHOBJECT_MAX;
    if (!start.max) {
      scanOnodes(this.trees.onodes.current, this.trees.names.current, encodeOnodeKey(cid, start), range.end, (item) => {
        const { oid } = decodeOnodeKey(item.full);
        if (Buffer.compare(item.full, endKey) >= 0 || objects.length >= max) {
          next = oid;
          return false;
        }
        objects.push(oid);
        return true;
      });
    }
    return { objects, next };
  }

  async fiemap(cid: CollectionId, oid: ObjectRef, offset = 0, length?: number): Promise<Extent[]> {
    const onode = this.lookup(cid, oid);
    checkReadArgs(offset, length ?? 0);
    const end = Math.min(onode.size, length === undefined ? onode.size : offset + length);
    const out: Extent[] = [];
    if (end <= offset) return out;
    if (onode.inline !== undefined) return [{ offset, length: end - offset }];
    const label = `${cid}/${formatGhobject(normalizeObjectId(oid))}`;
    const B = this.state.geometry.blockBytes;
    for (const e of extentsIn(this.trees.extents.current, onode.nid, Math.floor(offset / B), Math.ceil(end / B), label)) {
      const lo = Math.max(offset, e.lblock * B);
      const hi = Math.min(end, (e.lblock + e.count) * B);
      if (lo >= hi) continue;
      const last = out[out.length - 1];
      if (last !== undefined && last.offset + last.length === lo) out[out.length - 1] = { offset: last.offset, length: hi - last.offset };
      else out.push({ offset: lo, length: hi - lo });
    }
    return out;
  }

  async cloneDiff(cid: CollectionId, a: ObjectRef, b: ObjectRef): Promise<Extent[]> {
    const x = this.lookup(cid, a);
    const y = this.lookup(cid, b);
    return cloneDiff(this.trees.extents.current, x, y, `${cid}/${formatGhobject(normalizeObjectId(a))}`, this.state.geometry.blockBytes);
  }

  /**
   * Space: `allocated` = data blocks in use, in bytes (shared blocks once, garbage awaiting reclamation
   * included), `dataStored` = sum of object sizes, `omapAllocated` = omap keys and values as
   * stored, `internalMetadata` = every other used byte (metadata pages, journal, superblocks,
   * free map, frees waiting for a checkpoint). `available` is what an ordinary (unreserved)
   * allocation can get now.
   */
  async statfs(): Promise<StoreStatfs> {
    this.checkOpen();
    const stats = this.state.allocator.stats();
    const total = this.state.device.sizeBytes;
    const c = this.state.counters;
    const used = total - stats.freeBytes - stats.reservedBytes;
    const data = c.dataBlocks * this.state.geometry.blockBytes;
    return {
      total, available: stats.allocatableBytes, reserved: stats.reservedBytes,
      allocated: data, dataStored: c.storedBytes, omapAllocated: c.omapBytes, internalMetadata: used - data,
    };
  }

  /**
   * The fencing floor in the queue's order: the floor once every transaction queued before
   * this call has applied (or been refused). With vectors waiting for journal space, it waits
   * for the last of them; it never sees a transaction queued after the call. Like the other
   * reads it does not wait for durability: a floor raised by an applied but not yet committed
   * transaction is already reported (use `setFloor` for a durable answer).
   */
  async getFloor(): Promise<number> {
    this.checkOpen();
    return this.floorAfterQueued();
  }

  /**
   * Ceph's set_floor_and_read: queues a transaction holding one `setFloor` op (so it takes its
   * place in the FIFO behind every vector queued before it, and every vector queued after it
   * is checked against the new floor) and resolves, once that transaction is durable, with the
   * floor it left in force: max(floor, epoch). The floor never goes down. EINVAL (nothing
   * queued) unless `epoch` is a non-negative safe integer.
   */
  async setFloor(epoch: number): Promise<number> {
    this.checkOpen();
    const t = new Transaction().setFloor(epoch);
    let floor = -1;
    await this.queueTransaction(t, { onApplied: () => { floor = this.state.floor; } });
    return floor;
  }

  /**
   * The floor right after the vector last in the admission queue now has applied or been
   * refused (read synchronously at that point, so later vectors cannot leak in); the current
   * floor when nothing waits.
   */
  private floorAfterQueued(): Promise<number> {
    const last = this.waiting[this.waiting.length - 1];
    if (last === undefined) return Promise.resolve(this.state.floor);
    return new Promise((resolve) => {
      const { options, reject } = last;
      const onApplied = options.onApplied;
      last.options = { ...options, onApplied: () => { resolve(this.state.floor); onApplied?.(); } };
      last.reject = (err) => { resolve(this.state.floor); reject(err); };
    });
  }

  /**
   * Checks every invariant (fsck.ts) after a checkpoint; returns the findings (empty = clean).
   * `deep` also verifies every data block's checksum.
   */
  async fsck(options: FsckOptions = {}): Promise<FsckFinding[]> {
    this.checkOpen();
    return fsckStore(this, () => this.checkpointer.durableSuperblock, options);
  }

  /** Writes a checkpoint now (and waits for it). */
  async checkpoint(): Promise<void> {
    this.checkOpen();
    await this.checkpointer.run('requested');
  }

  /** Applies what is queued, checkpoints, releases the journal and the device (and its lock). */
  async close(): Promise<void> {
    if (this.closed) return;
    while (this.waiting.length > 0) await this.checkpointer.run('close');
    this.closed = true;
    this.checkpointer.stop();
    await this.journal.drain().catch(() => undefined);
    let failure: unknown;
    try {
      await this.checkpointer.run('close');
    } catch (err) {
      failure = err;
    }
    await this.checkpointer.idle();
    await this.journal.close();
    await this.state.device.close();
    if (failure !== undefined) throw failure;
  }
}

function decodeOmapKey(base: Buffer): Buffer {
  // base = u64 nid, u8 kind, escaped key (0x00 0xFF for a zero byte), 0x00 0x01 terminator.
  const out: number[] = [];
  for (let i = 9; i < base.byteLength - 2; i++) {
    const b = base[i]!;
    if (b === 0) { out.push(0); i++; } else out.push(b);
  }
  return Buffer.from(out);
}

/** Whether a vector has a write that goes to the device before its record (engine/data.ts). */
function hasLargeWrite(ts: readonly Transaction[]): boolean {
  return ts.some((t) => t.ops.some((op) => op.type === 'write' && isLargeWrite(op.data)));
}
