/**
 * Goal: `validateTransactions` (the validator the on-disk engine runs before journaling)
 * accepts exactly the vectors MemStore accepts and rejects the others with the same code,
 * transaction index and op index. Method: seeded random vectors over a small object and
 * collection space (so collisions, renames onto existing objects, splits, merges and removed
 * collections are frequent), each validated against MemStore's view and then queued on
 * MemStore; the outcomes must match, and a rejected vector must leave the view unchanged.
 */
import test from 'ava';
import { MemStore } from '../../../engine/memstore.js';
import { Transaction, TransactionError } from '../../../engine/transaction.js';
import { validateTransactions } from '../../../engine/types-validator.js';
import { normalizeObjectId, type Ghobject } from '../../../engine/types.js';
import { Random } from '../../../common/random.js';
import { EbofsError } from '../../../common/errors.js';
import { suiteSeed } from '../../conformance/harness.js';
import { outcomeOf, randomTransaction, worldSetup } from '../../conformance/random-txn.js';

const CIDS = ['1.0_head', '1.1_head', '1.3_head', 'meta'];

function oid(r: Random): Ghobject {
  return normalizeObjectId({ pool: 1, name: `o${r.int(5)}`, hash: r.pick([0, 1, 3, 5]), snap: r.chance(0.3) ? 1 : undefined });
}

function randomOp(r: Random, tx: Transaction): void {
  const c = r.pick(CIDS);
  const o = oid(r);
  switch (r.int(20)) {
    case 0: tx.createCollection(c, r.int(3)); break;
    case 1: tx.removeCollection(c); break;
    case 2: tx.splitCollection('1.1_head', 2, 3, '1.3_head'); break;
    case 3: tx.mergeCollection('1.3_head', '1.1_head', 1); break;
    case 4: tx.write(c, o, r.int(100), r.bytes(r.int(20))); break;
    case 5: tx.zero(c, o, r.int(100), r.int(50)); break;
    case 6: tx.truncate(c, o, r.int(100)); break;
    case 7: tx.remove(c, o); break;
    case 8: tx.setattr(c, o, `a${r.int(3)}`, r.bytes(r.int(40_000))); break;
    case 9: tx.rmattr(c, o, `a${r.int(3)}`); break;
    case 10: tx.rmattrs(c, o); break;
    case 11: tx.omapSetKeys(c, o, { k: 'v' }); break;
    case 12: tx.omapClear(c, o); break;
    case 13: tx.collectionMoveRename(c, o, c, oid(r)); break;
    case 14: { const t = oid(r); if (t.hash === o.hash && t.snap !== o.snap) tx.clone(c, o, t); break; }
    case 15: { const t = oid(r); if (t.name[1] !== o.name[1] || t.snap !== o.snap || t.hash !== o.hash) tx.cloneRange(c, o, t, r.int(30), r.int(30), r.int(30)); break; }
    case 16: tx.setAllocHint(c, o, 4096, 4096); break;
    case 17: tx.setFloor(r.int(4)); break;
    case 18: tx.omapRmKeyRange(c, o, 'a', 'z'); break;
    default: tx.touch(c, o); break;
  }
}

function outcome(err: unknown): string {
  if (err === undefined) return 'ok';
  if (err instanceof TransactionError) return `${err.code}@${err.transactionIndex}:${err.opIndex}`;
  if (err instanceof EbofsError) return `plain ${err.code}`;
  throw err;
}

test('validator agrees with MemStore on random vectors', async (t) => {
  const seed = suiteSeed();
  t.log(`seed ${seed}`);
  const r = new Random(seed);
  const store = new MemStore();
  const view = store.validationView();
  // Every collection exists at first: otherwise most vectors fail ENOENT on their first write,
  // collections are seldom created, and some seeds never reach EEXIST or ENOTEMPTY at all.
  await store.queueTransaction(CIDS.reduce((tx, c) => tx.createCollection(c, 0), new Transaction()));
  const seen = new Set<string>();
  const counts = new Map<string, number>();
  for (let round = 0; round < 800; round++) {
    const ts: Transaction[] = [];
    for (let n = r.range(1, 3); n > 0; n--) {
      const tx = new Transaction();
      if (r.chance(0.1)) tx.setEpoch(r.int(4));
      for (let k = r.range(1, 6); k > 0; k--) {
        try { randomOp(r, tx); } catch (err) { if (!(err instanceof EbofsError)) throw err; }
      }
      ts.push(tx);
    }
    let predicted: string;
    try { validateTransactions(view, ts); predicted = 'ok'; } catch (err) { predicted = outcome(err); }
    const before = await store.dumpState();
    let actual: string;
    try { await store.queueTransactions(ts); actual = 'ok'; } catch (err) { actual = outcome(err); }
    t.is(predicted, actual, `round ${round}`);
    if (actual !== 'ok') t.is(await store.dumpState(), before);
    const code = actual.replace(/@.*/, '');
    seen.add(code);
    counts.set(code, (counts.get(code) ?? 0) + 1);
    if (predicted !== actual) break;
  }
  t.log(`outcomes: ${[...counts].sort().map(([c, n]) => `${c} ${n}`).join(', ')}`);
  t.true(seen.has('ok') && seen.has('ENOENT') && seen.has('EEXIST'));
});

test('validator agrees with MemStore on the shared random generator', async (t) => {
  const seed = suiteSeed() + 1;
  t.log(`seed ${seed}`);
  const r = new Random(seed);
  const store = new MemStore();
  await store.queueTransaction(worldSetup());
  for (let round = 0; round < 400; round++) {
    const ts = Array.from({ length: r.range(1, 2) }, () => randomTransaction(r, { writeBytesMax: 4096 }));
    let predicted: string;
    try { validateTransactions(store.validationView(), ts); predicted = 'ok'; } catch (err) { predicted = outcome(err); }
    const actual = await outcomeOf(store, ts);
    t.is(predicted, actual, `round ${round}`);
    if (predicted !== actual) break;
  }
});

test('validator reports tolerated ops as skipped', (t) => {
  const store = new MemStore();
  const view = store.validationView();
  const a = normalizeObjectId({ pool: 1, name: 'a' });
  const tx = new Transaction().createCollection('1.0_head', 0).remove('1.0_head', a).touch('1.0_head', a)
    .rmattr('1.0_head', a, 'x').truncate('1.0_head', normalizeObjectId({ pool: 1, name: 'b' }), 5);
  t.deepEqual(validateTransactions(view, [tx]).skipped, [[false, true, false, true, true]]);
});
