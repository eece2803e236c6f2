/**
 * ebofs public entry: the object model (ids, collections, transactions), the `ObjectStore`
 * interface, the in-memory reference store and the error family. The on-disk engine adds its
 * `mkfs`/`open` export here.
 */
export * from './types.js';
export * from './types-ops.js';
export * from './types-store.js';
export * from './limits.js';
export * from './collection.js';
export { cephStrHashRjenkins, cephObjectHash } from './rjenkins.js';
export {
  encodeOidKey, decodeOidKey, encodeOidKeyBinary, encodeOnodeKey, decodeOnodeKey, collectionKeyRange,
  encodeCollectionPrefix, writeOidKey, readOidKey, oidKeyLength, OID_KEY_BYTES_MAX, COLLECTION_PREFIX_BYTES_MAX,
} from './oid-key.js';
export { Transaction, TransactionError, type PairsInput } from './transaction.js';
export { encodeTransaction, decodeTransaction } from './transaction-codec.js';
export { MemStore, type MemStoreOptions } from './memstore.js';
export {
  validateTransactions, type ValidationView, type ValidationResult, type ObjectFacts,
} from './types-validator.js';
export {
  EbofsError, CorruptionError, AssertionError, ERROR_CODES, isErrorCode, type ErrorCode,
} from '../common/errors.js';
export { mkfs, open, type EbofsOptions, STORE_SIZE_DEFAULT_BYTES } from './lifecycle.js';
export {
  GEOMETRY_BYTES_MIN, GEOMETRY_BYTES_MAX, ALLOC_UNIT_BYTES_DEFAULT, CSUM_BLOCK_BYTES_DEFAULT, CSUMS_PER_BLOCK_MAX,
  type DataGeometry,
} from './geometry.js';
export { EbofsStore } from './store.js';
export type { FsckFinding, FsckOptions } from './fsck.js';
export type { CheckpointPolicy } from './checkpoint.js';
export { FileDevice, MemDevice, FaultDevice, type BlockDevice, type FaultOptions, type CrashMode } from './device/index.js';
