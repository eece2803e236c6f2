/**
 * The transaction op vocabulary: one tagged object per op (a discriminated union on `type`),
 * already validated and normalised by the `Transaction` builder. The numeric tags are the ones
 * the transaction encoding stores; they follow Ceph's `Transaction::OP_*` numbers where Ceph
 * has the op, so dumps read alike. 0 is invalid; numbers are never reused.
 */
import type { ErrorCode } from '../common/errors.js';
import type { CollectionId } from './collection.js';
import { formatGhobject, type Ghobject } from './types.js';

/** A (key, value) pair of bytes (xattr or omap entry). */
export type BytesPair = readonly [Uint8Array, Uint8Array];

interface ObjectOpBase {
  readonly cid: CollectionId;
  readonly oid: Ghobject;
}

/** Every op a transaction can carry. */
export type Op =
  | { readonly type: 'createCollection'; readonly cid: CollectionId; readonly bits: number }
  | { readonly type: 'removeCollection'; readonly cid: CollectionId }
  | {
    readonly type: 'splitCollection'; readonly cid: CollectionId; readonly bits: number;
    readonly rem: number; readonly targetCid: CollectionId;
  }
  | {
    readonly type: 'mergeCollection'; readonly cid: CollectionId; readonly targetCid: CollectionId;
    readonly bits: number;
  }
  | (ObjectOpBase & { readonly type: 'touch' })
  | (ObjectOpBase & { readonly type: 'write'; readonly offset: number; readonly data: Uint8Array })
  | (ObjectOpBase & { readonly type: 'zero'; readonly offset: number; readonly length: number })
  | (ObjectOpBase & { readonly type: 'truncate'; readonly size: number })
  | (ObjectOpBase & { readonly type: 'remove' })
  | (ObjectOpBase & { readonly type: 'setattr'; readonly name: Uint8Array; readonly value: Uint8Array })
  | (ObjectOpBase & { readonly type: 'setattrs'; readonly attrs: readonly BytesPair[] })
  | (ObjectOpBase & { readonly type: 'rmattr'; readonly name: Uint8Array })
  | (ObjectOpBase & { readonly type: 'rmattrs' })
  | (ObjectOpBase & { readonly type: 'omapSetKeys'; readonly entries: readonly BytesPair[] })
  | (ObjectOpBase & { readonly type: 'omapRmKeys'; readonly keys: readonly Uint8Array[] })
  | (ObjectOpBase & { readonly type: 'omapRmKeyRange'; readonly first: Uint8Array; readonly last: Uint8Array })
  | (ObjectOpBase & { readonly type: 'omapClear' })
  | (ObjectOpBase & { readonly type: 'omapSetHeader'; readonly header: Uint8Array })
  | (ObjectOpBase & {
    readonly type: 'collectionMoveRename'; readonly targetCid: CollectionId; readonly targetOid: Ghobject;
  })
  | (ObjectOpBase & {
    readonly type: 'setAllocHint'; readonly expectedObjectSize: number;
    readonly expectedWriteSize: number; readonly flags: number;
  })
  | (ObjectOpBase & { readonly type: 'clone'; readonly targetOid: Ghobject })
  | (ObjectOpBase & {
    readonly type: 'cloneRange'; readonly targetOid: Ghobject; readonly sourceOffset: number;
    readonly length: number; readonly targetOffset: number;
  })
  | { readonly type: 'setFloor'; readonly epoch: number };

/** The tag of an op. */
export type OpType = Op['type'];

/** The op of a given tag. */
export type OpOf<T extends OpType> = Extract<Op, { type: T }>;

/** Stored tag numbers (Ceph's `OP_*` where it has one). 0 is invalid; never reuse a number. */
export const OP_TAGS: { readonly [T in OpType]: number } = {
  touch: 9,
  write: 10,
  zero: 11,
  truncate: 12,
  remove: 13,
  setattr: 14,
  setattrs: 15,
  rmattr: 16,
  clone: 17,
  createCollection: 20,
  removeCollection: 21,
  rmattrs: 28,
  cloneRange: 30, // Ceph OP_CLONERANGE2
  omapClear: 31,
  omapSetKeys: 32,
  omapRmKeys: 33,
  omapSetHeader: 34,
  splitCollection: 36, // Ceph OP_SPLIT_COLLECTION2
  omapRmKeyRange: 37,
  collectionMoveRename: 38,
  setAllocHint: 39,
  mergeCollection: 43,
  setFloor: 200, // ebofs: fencing floor
};

/** Ops that create their object when it is missing (Ceph: TOUCH, WRITE, ZERO). */
export const CREATING_OPS: ReadonlySet<OpType> = new Set<OpType>(['touch', 'write', 'zero']);

/**
 * Ops for which a missing object (ENOENT) is tolerated: the op is skipped and the transaction
 * goes on (BlueStore `_txc_add_transaction`; reference §3.3). For every other object op a
 * missing object rejects the transaction.
 */
export const ENOENT_TOLERANT_OPS: ReadonlySet<OpType> = new Set<OpType>([
  'remove', 'truncate', 'rmattrs', 'omapClear', 'collectionMoveRename', 'setAllocHint',
]);

/**
 * Whether error `code` raised by op `type` is tolerated inside a transaction: ENODATA always;
 * ENOENT for a missing object of the ops in `ENOENT_TOLERANT_OPS` (never for a missing
 * collection, which is a caller bug and always rejects).
 */
export function isToleratedError(type: OpType, code: ErrorCode): boolean {
  if (code === 'ENODATA') return true;
  return code === 'ENOENT' && ENOENT_TOLERANT_OPS.has(type);
}

function argText(value: unknown): string {
  if (value instanceof Uint8Array) {
    return value.length <= 32 ? `0x${Buffer.from(value).toString('hex')}` : `<${value.length} bytes>`;
  }
  if (Array.isArray(value)) return `[${value.length}]`;
  if (typeof value === 'object' && value !== null && 'name' in value && 'pool' in value) {
    return formatGhobject(value as Ghobject);
  }
  return String(value);
}

/** One line describing `op` for logs and error messages (byte payloads by length). */
export function describeOp(op: Op): string {
  const args = Object.entries(op).filter(([k]) => k !== 'type').map(([k, v]) => `${k}=${argText(v)}`);
  return `${op.type}(${args.join(' ')})`;
}
