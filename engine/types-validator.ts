/**
 * A whole-transaction validator over an abstract view of the store: the rules of MemStore
 * (and Ceph, reference §3.3) without MemStore's data. The on-disk engine runs it before it
 * journals anything: it answers "would this vector apply, and which ops are skipped as
 * tolerated errors?", or throws the `TransactionError` MemStore would throw (same code,
 * transaction index and op index). A property test checks exactly that equivalence against
 * MemStore (test/unit/engine/validator.test.ts).
 *
 * The view is synchronous: the engine preloads the onodes the transaction names (and, for
 * split, merge and removeCollection, can answer `listCollection`). The validator keeps a
 * shadow of only what the transaction changes: per object its existence, size and xattr
 * totals; per collection its existence, bits and membership changes.
 *
 * Not covered (engine-specific): ENOSPC (depends on allocation) and data checksums.
 */
import { EbofsError, type ErrorCode } from '../common/errors.js';
import { assertNever } from '../common/assert.js';
import {
  collectionAdmits, parseCollectionId, splitMoves, type CollectionId, type ParsedCollectionId,
} from './collection.js';
import { COLLECTION_COUNT_MAX, XATTR_BYTES_PER_OBJECT_MAX, XATTR_COUNT_PER_OBJECT_MAX } from './limits.js';
import { encodeOidKeyBinary } from './oid-key.js';
import { type Transaction, TransactionError } from './transaction.js';
import { type Op, isToleratedError } from './types-ops.js';
import { bytesToBinary, formatGhobject, type Ghobject } from './types.js';

/** What the validator needs to know about an existing object. */
export interface ObjectFacts {
  readonly size: number;
  readonly attrCount: number;
  /** Sum over xattrs of name bytes + value bytes. */
  readonly attrBytes: number;
  /** Value size of xattr `name` (binary string), or undefined when absent. */
  attrValueBytes(name: string): number | undefined;
}

/** The committed-or-applied state the validator reads (synchronously). */
export interface ValidationView {
  /** The fencing floor. */
  readonly floor: number;
  /** Number of collections. */
  readonly collectionCount: number;
  /** Bits of an existing collection, undefined when missing. */
  collectionBits(cid: CollectionId): number | undefined;
  /** Facts of an existing object, undefined when missing. */
  object(cid: CollectionId, oid: Ghobject): ObjectFacts | undefined;
  /** Every object of an existing collection (any order). */
  listCollection(cid: CollectionId): Iterable<Ghobject>;
}

/** Result of a successful validation: per transaction, per op, whether the op is skipped. */
export interface ValidationResult {
  readonly skipped: ReadonlyArray<readonly boolean[]>;
}

interface ShadowObject {
  size: number;
  attrCount: number;
  attrBytes: number;
  /** Overlay of xattr value sizes (undefined = removed); `cleared` hides the base. */
  readonly attrs: Map<string, number | undefined>;
  cleared: boolean;
  readonly base: ObjectFacts | undefined;
}

interface ShadowEntry {
  readonly oid: Ghobject;
  /** Lazily loaded facts; `origin` is where the base object lives in the view. */
  obj: ShadowObject | undefined;
  readonly origin: { readonly cid: CollectionId; readonly oid: Ghobject } | undefined;
}

interface ShadowCollection {
  readonly parsed: ParsedCollectionId;
  bits: number;
  /** Overlay by object key: an entry, or null when removed/moved away. */
  readonly objects: Map<string, ShadowEntry | null>;
  /** When false, keys not in `objects` are looked up in the view under `baseCid`. */
  materialized: boolean;
  readonly baseCid: CollectionId | undefined;
}

class MissingCollection extends EbofsError {}

function fail(code: ErrorCode, message: string): never {
  throw new EbofsError(code, message);
}

/** The shadow state of one validation run. */
class Shadow {
  private readonly collections = new Map<CollectionId, ShadowCollection | null>();
  floor: number;
  collectionCount: number;

  constructor(private readonly view: ValidationView) {
    this.floor = view.floor;
    this.collectionCount = view.collectionCount;
  }

  collection(cid: CollectionId): ShadowCollection {
    const c = this.collections.get(cid);
    if (c === null) throw new MissingCollection('ENOENT', `no collection ${cid}`);
    if (c !== undefined) return c;
    const bits = this.view.collectionBits(cid);
    if (bits === undefined) throw new MissingCollection('ENOENT', `no collection ${cid}`);
    const fresh: ShadowCollection = {
      parsed: parseCollectionId(cid), bits, objects: new Map(), materialized: false, baseCid: cid,
    };
    this.collections.set(cid, fresh);
    return fresh;
  }

  collectionExists(cid: CollectionId): boolean {
    const c = this.collections.get(cid);
    return c === undefined ? this.view.collectionBits(cid) !== undefined : c !== null;
  }

  createCollection(cid: CollectionId, bits: number): void {
    this.collections.set(cid, {
      parsed: parseCollectionId(cid), bits, objects: new Map(), materialized: true, baseCid: undefined,
    });
    this.collectionCount++;
  }

  removeCollection(cid: CollectionId): void {
    this.collections.set(cid, null);
    this.collectionCount--;
  }

  /** Loads every base object of `c` into its overlay, so the overlay alone is the truth. */
  materialize(c: ShadowCollection): void {
    if (c.materialized) return;
    if (c.baseCid !== undefined) {
      for (const oid of this.view.listCollection(c.baseCid)) {
        const key = encodeOidKeyBinary(oid);
        if (!c.objects.has(key)) c.objects.set(key, { oid, obj: undefined, origin: { cid: c.baseCid, oid } });
      }
    }
    c.materialized = true;
  }

  entry(c: ShadowCollection, oid: Ghobject): ShadowEntry | undefined {
    const key = encodeOidKeyBinary(oid);
    const e = c.objects.get(key);
    if (e !== undefined) return e ?? undefined;
    if (c.materialized || c.baseCid === undefined) return undefined;
    if (this.view.object(c.baseCid, oid) === undefined) return undefined;
    const loaded: ShadowEntry = { oid, obj: undefined, origin: { cid: c.baseCid, oid } };
    c.objects.set(key, loaded);
    return loaded;
  }

  facts(e: ShadowEntry): ShadowObject {
    if (e.obj !== undefined) return e.obj;
    const base = e.origin === undefined ? undefined : this.view.object(e.origin.cid, e.origin.oid);
    e.obj = {
      size: base?.size ?? 0, attrCount: base?.attrCount ?? 0, attrBytes: base?.attrBytes ?? 0, attrs: new Map(),
      cleared: false, base,
    };
    return e.obj;
  }

  find(cid: CollectionId, oid: Ghobject): ShadowObject {
    const e = this.entry(this.collection(cid), oid);
    if (e === undefined) fail('ENOENT', `no object ${formatGhobject(oid)}`);
    return this.facts(e);
  }

  put(cid: CollectionId, oid: Ghobject, entry: ShadowEntry | null): void {
    const c = this.collection(cid);
    if (entry !== null && !collectionAdmits(c.parsed, c.bits, oid)) {
      fail('EINVAL', `${formatGhobject(oid)} does not belong to ${cid} (bits ${c.bits})`);
    }
    c.objects.set(encodeOidKeyBinary(oid), entry);
  }

  findOrCreate(cid: CollectionId, oid: Ghobject): ShadowObject {
    const e = this.entry(this.collection(cid), oid);
    if (e !== undefined) return this.facts(e);
    const created: ShadowEntry = { oid, obj: undefined, origin: undefined };
    this.put(cid, oid, created);
    return this.facts(created);
  }

  /** Live entries of a collection (materialising it). */
  live(c: ShadowCollection): ShadowEntry[] {
    this.materialize(c);
    return [...c.objects.values()].filter((e): e is ShadowEntry => e !== null);
  }
}

function attrSize(o: ShadowObject, name: string): number | undefined {
  if (o.attrs.has(name)) return o.attrs.get(name);
  return o.cleared ? undefined : o.base?.attrValueBytes(name);
}

function setAttrs(o: ShadowObject, attrs: ReadonlyArray<readonly [Uint8Array, Uint8Array]>): void {
  for (const [name, value] of attrs) {
    const key = bytesToBinary(name);
    const prev = attrSize(o, key);
    o.attrBytes += key.length + value.length - (prev === undefined ? 0 : key.length + prev);
    if (prev === undefined) o.attrCount++;
    o.attrs.set(key, value.length);
  }
  if (o.attrCount > XATTR_COUNT_PER_OBJECT_MAX) fail('E2BIG', `more than ${XATTR_COUNT_PER_OBJECT_MAX} xattrs`);
  if (o.attrBytes > XATTR_BYTES_PER_OBJECT_MAX) fail('E2BIG', `xattrs exceed ${XATTR_BYTES_PER_OBJECT_MAX} bytes`);
}

function grow(o: ShadowObject, offset: number, length: number): void {
  if (length > 0) o.size = Math.max(o.size, offset + length);
}

function moveEntries(sh: Shadow, from: CollectionId, to: CollectionId, pick: (oid: Ghobject) => boolean): void {
  const source = sh.collection(from);
  const target = sh.collection(to);
  for (const e of sh.live(source)) {
    if (!pick(e.oid)) continue;
    if (sh.entry(target, e.oid) !== undefined) fail('EEXIST', `${formatGhobject(e.oid)} exists in target`);
    source.objects.set(encodeOidKeyBinary(e.oid), null);
    target.objects.set(encodeOidKeyBinary(e.oid), e);
  }
}

/** Every object must still belong to `c` under its new bits (else EINVAL, as MemStore). */
function checkMembers(sh: Shadow, c: ShadowCollection, cid: CollectionId): void {
  for (const e of sh.live(c)) {
    if (!collectionAdmits(c.parsed, c.bits, e.oid)) {
      fail('EINVAL', `${formatGhobject(e.oid)} would fall outside ${cid} with bits ${c.bits}`);
    }
  }
}

function checkCollectionOp(sh: Shadow, op: Extract<Op, { type: 'createCollection' | 'removeCollection' |
  'splitCollection' | 'mergeCollection' }>): void {
  switch (op.type) {
    case 'createCollection':
      if (sh.collectionExists(op.cid)) fail('EEXIST', `collection ${op.cid} exists`);
      if (sh.collectionCount >= COLLECTION_COUNT_MAX) fail('E2BIG', `more than ${COLLECTION_COUNT_MAX} collections`);
      sh.createCollection(op.cid, op.bits);
      return;
    case 'removeCollection':
      if (sh.live(sh.collection(op.cid)).length > 0) fail('ENOTEMPTY', `collection ${op.cid} not empty`);
      sh.removeCollection(op.cid);
      return;
    case 'splitCollection': {
      const parent = sh.collection(op.cid);
      const child = sh.collection(op.targetCid);
      if (child.bits !== op.bits) fail('EINVAL', `split target ${op.targetCid} has bits ${child.bits}, not ${op.bits}`);
      moveEntries(sh, op.cid, op.targetCid, (oid) => splitMoves(oid.hash, op.bits, op.rem));
      parent.bits = op.bits;
      checkMembers(sh, parent, op.cid);
      checkMembers(sh, child, op.targetCid);
      return;
    }
    case 'mergeCollection': {
      sh.collection(op.cid);
      const target = sh.collection(op.targetCid);
      moveEntries(sh, op.cid, op.targetCid, () => true);
      target.bits = op.bits;
      sh.removeCollection(op.cid);
      checkMembers(sh, target, op.targetCid);
      return;
    }
    default: assertNever(op, 'collection op');
  }
}

/** Checks one op against the shadow and records its effect there; throws EbofsError. */
function checkOp(sh: Shadow, op: Op): void {
  switch (op.type) {
    case 'createCollection': case 'removeCollection': case 'splitCollection': case 'mergeCollection':
      return checkCollectionOp(sh, op);
    case 'setFloor': sh.floor = Math.max(sh.floor, op.epoch); return;
    case 'touch': sh.findOrCreate(op.cid, op.oid); return;
    case 'write': grow(sh.findOrCreate(op.cid, op.oid), op.offset, op.data.length); return;
    case 'zero': grow(sh.findOrCreate(op.cid, op.oid), op.offset, op.length); return;
    case 'truncate': sh.find(op.cid, op.oid).size = op.size; return;
    case 'remove': sh.find(op.cid, op.oid); sh.put(op.cid, op.oid, null); return;
    case 'setattr': setAttrs(sh.find(op.cid, op.oid), [[op.name, op.value]]); return;
    case 'setattrs': setAttrs(sh.find(op.cid, op.oid), op.attrs); return;
    case 'rmattr': {
      const o = sh.find(op.cid, op.oid);
      const key = bytesToBinary(op.name);
      const prev = attrSize(o, key);
      if (prev === undefined) fail('ENODATA', 'no such xattr');
      o.attrs.set(key, undefined);
      o.attrCount--;
      o.attrBytes -= key.length + prev;
      return;
    }
    case 'rmattrs': {
      const o = sh.find(op.cid, op.oid);
      o.attrs.clear();
      o.cleared = true;
      o.attrCount = 0;
      o.attrBytes = 0;
      return;
    }
    case 'omapSetKeys': case 'omapRmKeys': case 'omapRmKeyRange': case 'omapClear': case 'omapSetHeader':
    case 'setAllocHint':
      sh.find(op.cid, op.oid);
      return;
    case 'collectionMoveRename': {
      const c = sh.collection(op.cid);
      const e = sh.entry(c, op.oid);
      if (e === undefined) fail('ENOENT', `no object ${formatGhobject(op.oid)}`);
      if (sh.entry(sh.collection(op.targetCid), op.targetOid) !== undefined) {
        fail('EEXIST', `rename target ${formatGhobject(op.targetOid)} exists`);
      }
      sh.put(op.cid, op.oid, null);
      sh.put(op.targetCid, op.targetOid, { oid: op.targetOid, obj: sh.facts(e), origin: e.origin });
      return;
    }
    case 'clone': {
      const source = sh.find(op.cid, op.oid);
      const copy: ShadowObject = { ...source, attrs: new Map(source.attrs) };
      sh.put(op.cid, op.targetOid, { oid: op.targetOid, obj: copy, origin: undefined });
      return;
    }
    case 'cloneRange': {
      const source = sh.find(op.cid, op.oid);
      if (op.sourceOffset + op.length > source.size) {
        fail('EINVAL', `cloneRange ${op.sourceOffset}+${op.length} beyond source size ${source.size}`);
      }
      grow(sh.findOrCreate(op.cid, op.targetOid), op.targetOffset, op.length);
      return;
    }
    default: assertNever(op, 'op');
  }
}

/**
 * Validates a `queueTransactions` vector against `view` without changing anything. Returns
 * which ops are skipped (tolerated ENOENT/ENODATA); throws the `TransactionError` MemStore
 * would reject the vector with. ENOSPC is not checked (the engine's allocator decides it).
 */
export function validateTransactions(view: ValidationView, ts: readonly Transaction[]): ValidationResult {
  const sh = new Shadow(view);
  const skipped = ts.map((t, transactionIndex) => {
    if (t.epoch !== undefined && t.epoch < sh.floor) {
      throw new TransactionError('ESTALE_EPOCH', `epoch ${t.epoch} below floor ${sh.floor}`,
        { opIndex: -1, transactionIndex });
    }
    return t.ops.map((op, opIndex) => {
      try {
        checkOp(sh, op);
        return false;
      } catch (err) {
        if (!(err instanceof EbofsError)) throw err;
        if (!(err instanceof MissingCollection) && isToleratedError(op.type, err.code)) return true;
        throw new TransactionError(err.code, err.message.replace(/^[A-Z0-9_]+: /, ''),
          { opIndex, op, transactionIndex, cause: err });
      }
    });
  });
  return { skipped };
}
