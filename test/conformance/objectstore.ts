/**
 * The ObjectStore conformance suite: Ceph store_test's general cases as a function of a store
 * factory, so MemStore and the on-disk engine run exactly the same checks.
 *
 * Usage (from a *.test.ts file): `defineObjectStoreSuite('memstore', { create: async () => new MemStore() })`.
 * Each case gets a fresh store and a seeded Random; the seed is printed (EBOFS_SEED replays it).
 * A factory with `reopen` makes every case remount at interesting points and compare the
 * canonical dump before and after.
 */
import test from 'ava';
import { Random } from '../../common/random.js';
import { dataCases } from './cases-data.js';
import { listCases } from './cases-list.js';
import { metaCases } from './cases-meta.js';
import { miscCases } from './cases-misc.js';
import { cloneDiffCases, txnCases } from './cases-txn.js';
import { Harness, type StoreFactory, suiteSeed } from './harness.js';

export { type StoreFactory, Harness } from './harness.js';

/** Registers every conformance case as an ava test named `<name> › <case>`. */
export function defineObjectStoreSuite(name: string, factory: StoreFactory): void {
  const seed = suiteSeed();
  const groups = { data: dataCases, meta: metaCases, list: listCases, txn: txnCases, misc: miscCases, clone: cloneDiffCases };
  for (const [group, cases] of Object.entries(groups)) {
    for (const [title, run] of Object.entries(cases)) {
      test(`${name} › ${group} › ${title}`, async (t) => {
        t.log(`seed ${seed} (EBOFS_SEED=${seed} replays)`);
        const h = new Harness(await factory.create(), factory, new Random(seed));
        let closed = false;
        try {
          await run(t, h);
          closed = group === 'txn' && title.startsWith('a closed store');
        } finally {
          if (!closed) await h.store.close().catch(() => undefined);
        }
      });
    }
  }
}
