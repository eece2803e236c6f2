/**
 * Seeded random transactions over a small world (a few collections, a few object names, a
 * handful of hashes), so collisions are frequent: writes over writes, truncates below and
 * above data, renames onto existing objects, clones of clones, splits and merges, removed
 * collections, stale epochs. Every op type appears. Used by the differential runner below,
 * which is what the on-disk engine runs against MemStore.
 */
import type { ExecutionContext } from 'ava';
import { EbofsError } from '../../common/errors.js';
import { Random } from '../../common/random.js';
import { Transaction, TransactionError } from '../../engine/transaction.js';
import { normalizeObjectId, type Ghobject } from '../../engine/types.js';
import { dumpStoreState, type ObjectStore } from '../../engine/types-store.js';

/** Knobs of the generator. */
export interface RandomTxnOptions {
  /** Distinct object names (default 6). */
  readonly names?: number;
  /** Largest ordinary write (default 64 KiB). */
  readonly writeBytesMax?: number;
  /** Chance that a write is big (1..4 MiB) instead (default 0.01). */
  readonly bigWriteChance?: number;
  /** Largest offset of writes, zeroes and truncates (default 256 KiB). */
  readonly offsetMax?: number;
  /** Extra chance that an op is a clone or a block-aligned cloneRange (default 0). */
  readonly cloneChance?: number;
}

/** The collections of the world: two PG halves with bits 1, a split target, and meta. */
export const WORLD_COLLECTIONS = ['1.0_head', '1.1_head', '1.3_head', 'meta'] as const;

/** Creates the world's starting collections (1.3_head is left for split/create). */
export function worldSetup(): Transaction {
  return new Transaction().createCollection('1.0_head', 1).createCollection('1.1_head', 1).createCollection('meta', 0);
}

/**
 * Hashes a collection admits whatever its bits become through the world's splits and merges
 * (1.1_head splits by bits 2 into 1.3_head; hash 3 then moves): most ops pick one of these,
 * some pick any hash so EINVAL ("does not belong") stays covered.
 */
const HASHES: Readonly<Record<string, readonly number[]>> = {
  '1.0_head': [0, 2, 4], '1.1_head': [1, 3, 5], '1.3_head': [3, 7], meta: [0, 1, 2, 3, 5],
};

function randomOid(r: Random, o: Required<RandomTxnOptions>, c: string): Ghobject {
  return normalizeObjectId({
    pool: r.chance(0.1) ? -3 : 1, name: `obj${r.int(o.names)}`,
    hash: r.chance(0.9) ? r.pick(HASHES[c] ?? [0]) : r.pick([0, 1, 2, 3, 5]),
    snap: r.chance(0.2) ? r.int(3) : undefined, namespace: r.chance(0.1) ? 'ns' : '',
  });
}

/** Ops that fail ENOENT on a missing object; the generator often touches it first. */
function needsObject(w: number): boolean {
  return (w >= 50 && w < 57) || (w >= 60 && w < 73) || (w >= 77 && w < 83);
}

/** Appends one random op on collection `c` to `tx` (builder errors, e.g. a clone onto itself, add nothing). */
function randomOp(r: Random, tx: Transaction, o: Required<RandomTxnOptions>, c: string): void {
  const a = randomOid(r, o, c);
  const b = randomOid(r, o, c);
  const off = r.chance(0.3) ? r.int(8192) : r.int(o.offsetMax);
  const len = r.chance(0.1) ? 0 : r.int(o.writeBytesMax);
  const w = r.int(100);
  if (r.chance(o.cloneChance)) {
    if (r.chance(0.6)) tx.touch(c, a);
    if (r.chance(0.5)) tx.clone(c, a, normalizeObjectId({ ...a, snap: r.int(5) }));
    else tx.cloneRange(c, a, b, r.int(32) * 4096, r.int(64) * 4096 + r.int(2) * r.int(4096), r.int(64) * 4096);
    return;
  }
  if (needsObject(w) && r.chance(0.6)) tx.touch(c, a);
  if (w < 25) tx.write(c, a, off, r.bytes(r.chance(o.bigWriteChance) ? r.range(1 << 20, 4 << 20) : len));
  else if (w < 32) tx.zero(c, a, off, len);
  else if (w < 40) tx.truncate(c, a, off);
  else if (w < 45) tx.remove(c, a);
  else if (w < 50) tx.touch(c, a);
  else if (w < 55) tx.setattr(c, a, `a${r.int(4)}`, r.bytes(r.int(300)));
  else if (w < 57) tx.setattrs(c, a, [[`a${r.int(4)}`, r.bytes(20)], [`b${r.int(2)}`, r.bytes(r.int(5000))]]);
  else if (w < 60) tx.rmattr(c, a, `a${r.int(4)}`);
  else if (w < 61) tx.rmattrs(c, a);
  else if (w < 66) tx.omapSetKeys(c, a, Array.from({ length: r.range(1, 4) }, () => [`k${r.int(20)}`, r.bytes(r.int(200))] as const));
  else if (w < 68) tx.omapRmKeys(c, a, [`k${r.int(20)}`, `k${r.int(20)}`]);
  else if (w < 70) tx.omapRmKeyRange(c, a, `k${r.int(20)}`, `k${r.int(20)}`);
  else if (w < 71) tx.omapClear(c, a);
  else if (w < 73) tx.omapSetHeader(c, a, r.bytes(r.int(100)));
  else if (w < 77) tx.collectionMoveRename(c, a, c, b);
  else if (w < 80) tx.clone(c, a, normalizeObjectId({ ...a, snap: r.int(5) }));
  else if (w < 83) tx.cloneRange(c, a, b, r.int(8192), r.int(8192), off);
  else if (w < 84) tx.setAllocHint(c, a, r.int(4 << 20), r.int(65536), r.int(1024));
  else if (w < 86) tx.createCollection(c, r.int(3));
  else if (w < 88) tx.removeCollection(c);
  else if (w < 90) tx.splitCollection('1.1_head', 2, 3, '1.3_head');
  else if (w < 92) tx.mergeCollection('1.3_head', '1.1_head', 1);
  else if (w < 93) tx.setFloor(r.int(4));
  else tx.write(c, a, off, r.bytes(r.int(64)));
}

/** A random transaction of 1..`opsMax` ops, sometimes stamped with an epoch. */
export function randomTransaction(r: Random, options: RandomTxnOptions = {}, opsMax = 8): Transaction {
  const o: Required<RandomTxnOptions> = {
    names: 6, writeBytesMax: 64 * 1024, bigWriteChance: 0.01, offsetMax: 256 * 1024, cloneChance: 0, ...options,
  };
  const tx = new Transaction();
  if (r.chance(0.05)) tx.setEpoch(r.int(4));
  // Like an OSD's, most of a transaction's ops are on one collection (1.3_head exists only
  // between a split or create and a merge or remove).
  const home = r.pick(r.chance(0.9) ? ['1.0_head', '1.1_head', 'meta'] : WORLD_COLLECTIONS);
  for (let n = r.range(1, opsMax); n > 0; n--) {
    try {
      randomOp(r, tx, o, r.chance(0.85) ? home : r.pick(WORLD_COLLECTIONS));
    } catch (err) {
      if (!(err instanceof EbofsError)) throw err;
    }
  }
  return tx;
}

/** Outcome of queueing a vector, comparable across stores: "ok" or "CODE@tx:op". */
export async function outcomeOf(store: ObjectStore, ts: readonly Transaction[]): Promise<string> {
  try {
    await store.queueTransactions(ts);
    return 'ok';
  } catch (err) {
    if (err instanceof TransactionError) return `${err.code}@${err.transactionIndex}:${err.opIndex}`;
    throw err;
  }
}

/** Options of `runDifferential`. */
export interface DifferentialOptions extends RandomTxnOptions {
  readonly seed: number;
  readonly rounds: number;
  /** Compare full dumps every this many rounds (default 10) and at the end. */
  readonly compareEvery?: number;
  /** Remount the subject now and then (returns the reopened store). */
  readonly reopen?: (store: ObjectStore) => Promise<ObjectStore>;
}

/**
 * Feeds the same random vectors to `reference` (MemStore) and `subject`, checks both accept or
 * reject each one the same way (code, transaction and op index), and compares canonical dumps
 * periodically and after remounts. Returns the subject (it may have been reopened).
 */
export async function runDifferential(t: ExecutionContext, reference: ObjectStore, subject: ObjectStore,
  options: DifferentialOptions): Promise<ObjectStore> {
  t.log(`differential seed ${options.seed} (EBOFS_SEED replays)`);
  const r = new Random(options.seed);
  let store = subject;
  await reference.queueTransaction(worldSetup());
  await store.queueTransaction(worldSetup());
  const every = options.compareEvery ?? 10;
  for (let round = 0; round < options.rounds; round++) {
    const ts = Array.from({ length: r.chance(0.2) ? r.range(2, 3) : 1 }, () => randomTransaction(r, options));
    const want = await outcomeOf(reference, ts);
    const got = await outcomeOf(store, ts);
    if (got !== want) {
      t.fail(`round ${round}: reference ${want}, subject ${got} (seed ${options.seed})`);
      return store;
    }
    if (options.reopen !== undefined && r.chance(0.05)) store = await options.reopen(store);
    if (round % every === every - 1 || round === options.rounds - 1) {
      const [a, b] = [await dumpStoreState(reference), await dumpStoreState(store)];
      if (a !== b) {
        t.is(b, a, `round ${round}: state differs (seed ${options.seed})`);
        return store;
      }
    }
  }
  t.pass();
  return store;
}
