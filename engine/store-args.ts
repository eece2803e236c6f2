/**
 * engine/store-args.ts: argument checks at the ObjectStore boundary, shared by MemStore and the
 * on-disk engine so both reject bad input with the same typed error.
 */
import { EbofsError } from '../common/errors.js';
import { TRANSACTION_BYTES_MAX, TRANSACTIONS_PER_BATCH_MAX } from './limits.js';
import { Transaction } from './transaction.js';

/** A queued vector: an array of Transactions within the batch limits (EINVAL, E2BIG). */
export function checkBatch(ts: readonly Transaction[]): void {
  if (!Array.isArray(ts) || ts.some((t) => !(t instanceof Transaction))) {
    throw new EbofsError('EINVAL', 'queueTransactions takes an array of Transaction');
  }
  if (ts.length > TRANSACTIONS_PER_BATCH_MAX) {
    throw new EbofsError('E2BIG', `${ts.length} transactions exceed ${TRANSACTIONS_PER_BATCH_MAX}`);
  }
  const bytes = ts.reduce((n, t) => n + t.byteCount, 0);
  if (bytes > TRANSACTION_BYTES_MAX) throw new EbofsError('E2BIG', `batch of ${bytes} bytes too large`);
}

/** A read range: non-negative safe integers (EINVAL). */
export function checkReadArgs(offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0) {
    throw new EbofsError('EINVAL', `bad read range ${offset}+${length}`);
  }
}
