/**
 * Shared plumbing of the ObjectStore conformance suite: the per-test harness (a store, an
 * optional remount), assertion helpers for typed rejections, and id shorthands.
 */
import type { ExecutionContext } from 'ava';
import { EbofsError, type ErrorCode } from '../../common/errors.js';
import { Random, freshSeed } from '../../common/random.js';
import type { ObjectStore } from '../../engine/types-store.js';
import type { Transaction } from '../../engine/transaction.js';
import { TransactionError } from '../../engine/transaction.js';
import { dumpStoreState } from '../../engine/types-store.js';
import { normalizeObjectId, type Ghobject, type ObjectId } from '../../engine/types.js';

/** How the suite gets stores. */
export interface StoreFactory {
  /** A fresh, empty store. */
  create(): Promise<ObjectStore>;
  /**
   * Closes `store` and opens the same store again (remount). Omit for stores without
   * persistence (MemStore); the suite then skips the remount steps.
   */
  reopen?: (store: ObjectStore) => Promise<ObjectStore>;
  /** Capacity-limited store for ENOSPC tests; omit to skip them. */
  createSmall?: (capacityBytes: number) => Promise<ObjectStore>;
}

/** One test's store, with remount support. */
export class Harness {
  constructor(public store: ObjectStore, private readonly factory: StoreFactory, readonly random: Random) {}

  /** Remounts when the factory supports it; always compares state before and after. */
  async remount(t: ExecutionContext): Promise<void> {
    if (this.factory.reopen === undefined) return;
    const before = await dumpStoreState(this.store);
    this.store = await this.factory.reopen(this.store);
    t.is(await dumpStoreState(this.store), before, 'state survives remount');
  }

  /** Queues and awaits one transaction or an atomic vector. */
  async apply(tx: Transaction | readonly Transaction[]): Promise<void> {
    if (Array.isArray(tx)) await this.store.queueTransactions(tx as readonly Transaction[]);
    else await this.store.queueTransaction(tx as Transaction);
  }

  /** The canonical dump of the store. */
  dump(): Promise<string> {
    return dumpStoreState(this.store);
  }
}

/** Seed for a suite run: EBOFS_SEED or fresh; printed by the caller. */
export function suiteSeed(): number {
  const env = process.env['EBOFS_SEED'];
  return env === undefined ? freshSeed() : Number(env);
}

/** Asserts `promise` rejects with an EbofsError of `code`; returns it. */
export async function rejects(t: ExecutionContext, promise: Promise<unknown>, code: ErrorCode): Promise<EbofsError> {
  const err = await t.throwsAsync(promise);
  t.true(err instanceof EbofsError, `expected EbofsError, got ${String(err)}`);
  t.is((err as EbofsError).code, code);
  return err as EbofsError;
}

/** Asserts a transaction rejection: code, op index, and nothing applied (dump unchanged). */
export async function rejectsTx(t: ExecutionContext, h: Harness, tx: Transaction | readonly Transaction[],
  code: ErrorCode, opIndex?: number): Promise<void> {
  const before = await h.dump();
  const err = await rejects(t, h.apply(tx), code);
  t.true(err instanceof TransactionError, 'a TransactionError');
  if (opIndex !== undefined) t.is((err as TransactionError).opIndex, opIndex);
  t.is(await h.dump(), before, 'nothing of a rejected transaction applied');
}

/** A normalised head object in pool 1 (or `pool`) with an explicit hash. */
export function obj(name: string | Uint8Array, hash = 0, extra: Partial<ObjectId> = {}): Ghobject {
  return normalizeObjectId({ pool: 1, name, hash, ...extra });
}

/** The collection most cases use (bits 0: holds every hash). */
export const CID = '1.0_head';

/** Text of a buffer for assertions. */
export const text = (b: Uint8Array): string => Buffer.from(b).toString('latin1');
