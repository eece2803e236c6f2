/**
 * The ObjectStore conformance suite: Ceph store_test's general cases as a function of a store
 * factory, so MemStore and the on-disk engine run exactly the same checks.
 *
 * Usage (from a *.test.ts file): `defineObjectStoreSuite('memstore', { create: async () => new MemStore() })`.
 * Each case gets a fresh store and a seeded Random; the seed is printed (EBOFS_SEED replays it).
 * A factory with `reopen` makes every case remount at interesting points and compare the
 * canonical dump before and after.
 */
import test, { type ExecutionContext } from 'ava';
import { Random } from '../../common/random.js';
import { dataCases } from './cases-data.js';
import { listCases } from './cases-list.js';
import { metaCases } from './cases-meta.js';
import { miscCases } from './cases-misc.js';
import { cloneDiffCases, spaceCases, txnCases } from './cases-txn.js';
import { Harness, type StoreFactory, suiteSeed } from './harness.js';

export { type StoreFactory, Harness } from './harness.js';

/** Registers every conformance case as an ava test named `<name> › <case>`. */
export function defineObjectStoreSuite(name: string, factory: StoreFactory): void {
  const seed = suiteSeed();
  const groups = { data: dataCases, meta: metaCases, list: listCases, txn: txnCases, misc: miscCases, clone: cloneDiffCases };
  for (const [group, cases] of Object.entries(groups)) {
    for (const [title, run] of Object.entries(cases)) defineCase(`${name} › ${group} › ${title}`, seed, factory, run);
  }
  const small = factory.createSmall;
  for (const [title, run] of Object.entries(spaceCases)) {
    defineCase(`${name} › space › ${title}`, seed, factory,
      (t, h) => run(t, h, small === undefined ? undefined : () => small(16 * 1024 * 1024)));
  }
}

function defineCase(title: string, seed: number, factory: StoreFactory,
  run: (t: ExecutionContext, h: Harness) => Promise<void>): void {
  test(title, async (t) => {
    t.log(`seed ${seed} (EBOFS_SEED=${seed} replays)`);
    const h = new Harness(await factory.create(), factory, new Random(seed));
    try {
      await run(t, h);
    } finally {
      // Idempotent close: cases may have closed the store themselves.
      await h.store.close().catch(() => undefined);
    }
  });
}
