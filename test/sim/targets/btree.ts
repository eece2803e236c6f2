/**
 * Simulation target `btree`: one seeded run = a random descriptor variant (swarm), thousands of
 * random puts, deletes and a few range deletes in batches of random size, some batches
 * aborted, versions pinned and released at random, the tree sometimes reopened from its
 * persisted header, and pages reclaimed as soon as no pinned version can reach them.
 *
 * Checks after every batch: check() finds nothing; the version equals the model (sampled
 * gets and ranges, full scans every few batches); every page reachable from a pinned version is
 * still allocated (never freed early) and the pinned version still equals its snapshot; at the
 * end every allocated page is reachable from the current version (nothing leaked).
 */
import { Random } from '../../../common/random.js';
import {
  MemoryPageStore, Pager, Reclaimer, check, decodeTreeHeader, encodeTreeHeader, openTree,
  type Entry, type Tree, type TreeVersion,
} from '../../../btree/index.js';
import { reachablePages } from '../../../btree/check.js';
import { Model, VARIANTS, compareWithModel } from '../../unit/btree/model.js';
import type { SimRunContext, SimTarget } from '../target.js';

interface Pinned { version: TreeVersion; snapshot: Entry[]; release: () => void; generation: number }

const OPS_PER_RUN = 5000;

async function run(ctx: SimRunContext): Promise<string[]> {
  const r = new Random(ctx.seed);
  const variant = r.pick(VARIANTS);
  const store = new MemoryPageStore({ pageSizeBytes: variant.pageSizeBytes });
  const pager = new Pager(store);
  const reclaimer = new Reclaimer(pager);
  let tree: Tree = openTree(pager, variant.descriptor, { kind: 'empty' });
  const model = new Model(variant.descriptor);
  const pinned: Pinned[] = [];
  const deleteBias = 0.2 + r.float() * 0.4;
  const batchSizeMax = r.pick([5, 30, 200]);
  let generation = 0;
  ctx.log(`variant ${variant.name}, delete bias ${deleteBias.toFixed(2)}, batches up to ${batchSizeMax}`);
  for (let done = 0, b = 0; done < OPS_PER_RUN * ctx.scale; b++) {
    const where = `batch ${b} (${variant.name})`;
    const before = model.snapshot();
    const batch = tree.begin();
    const ops = 1 + r.int(batchSizeMax);
    const phaseGrow = Math.floor(b / 25) % 2 === 0;
    for (let i = 0; i < ops; i++) {
      const key = r.chance(0.3) && model.entries.length > 0 ? r.pick(model.entries).key : variant.key(r);
      if (!phaseGrow && r.chance(0.002)) {
        const other = variant.key(r);
        const [start, end] = model.compareKeys(key, other) <= 0 ? [key, other] : [other, key];
        if (batch.deleteRange(start, end) !== model.deleteRange(start, end)) return [`${where}: deleteRange differs`];
      } else if (r.chance(phaseGrow ? 1 - deleteBias : deleteBias)) {
        const value = variant.descriptor.value === null ? new Uint8Array(0) : variant.value(r);
        batch.put(key, variant.descriptor.value === null ? undefined : value);
        model.put(key, value);
      } else {
        const value = model.duplicates && r.chance(0.5) ? variant.value(r) : undefined;
        if (batch.delete(key, value) !== model.delete(key, value)) return [`${where}: delete result differs`];
      }
    }
    done += ops;
    if (r.chance(0.05)) {
      batch.abort();
      model.entries = before;
      continue;
    }
    const result = batch.commit();
    generation++;
    reclaimer.retire(generation, result.freed);
    if (r.chance(0.05)) {
      const { descriptor, root } = decodeTreeHeader(encodeTreeHeader(tree.descriptor, result.root));
      tree = openTree(pager, descriptor, root);
    }
    const problems = afterBatch(tree, model, r, variant, where, b % 10 === 0);
    if (problems.length > 0) return problems;
    if (r.chance(0.15)) {
      pinned.push({ version: tree.current, snapshot: model.snapshot(), release: reclaimer.pinLocal(generation), generation });
    }
    if (pinned.length > 0 && r.chance(0.2)) pinned.splice(r.int(pinned.length), 1)[0]!.release();
    reclaimer.reclaim();
    const pinProblems = checkPinned(tree, store, pinned, model, r, variant, where);
    if (pinProblems.length > 0) return pinProblems;
  }
  for (const p of pinned) p.release();
  reclaimer.reclaim();
  return leaks(tree, store);
}

function afterBatch(
  tree: Tree, model: Model, r: Random, variant: (typeof VARIANTS)[number], where: string, fullScan: boolean,
): string[] {
  const findings = check(tree);
  if (findings.length > 0) return [`${where}: check:`, ...findings.map((f) => `${f.location}: ${f.problem}`)];
  if (tree.current.count !== model.entries.length) return [`${where}: count ${tree.current.count}, model ${model.entries.length}`];
  if (!fullScan) return [];
  const problems = compareWithModel(tree.current, model.snapshot(), model, r, variant, 3);
  return problems.length > 0 ? [`${where}:`, ...problems] : [];
}

function checkPinned(
  tree: Tree, store: MemoryPageStore, pinned: Pinned[], model: Model, r: Random,
  variant: (typeof VARIANTS)[number], where: string,
): string[] {
  for (const p of pinned) {
    for (const id of reachablePages(tree, p.version)) {
      if (!store.isAllocated(id)) return [`${where}: page ${id} freed while generation ${p.generation} can reach it`];
    }
  }
  if (pinned.length > 0 && r.chance(0.1)) {
    const p = r.pick(pinned);
    const findings = check(tree, { version: p.version });
    if (findings.length > 0) return [`${where}: pinned generation ${p.generation} check:`, ...findings.map((f) => `${f.location}: ${f.problem}`)];
    const problems = compareWithModel(p.version, p.snapshot, model, r, variant, 2);
    if (problems.length > 0) return [`${where}: pinned generation ${p.generation} changed:`, ...problems];
  }
  return [];
}

function leaks(tree: Tree, store: MemoryPageStore): string[] {
  const reachable = reachablePages(tree, tree.current);
  const leaked = store.allocatedIds().filter((id) => !reachable.has(id));
  if (leaked.length > 0) return [`${leaked.length} pages leaked: ${leaked.slice(0, 8).join()}`];
  return [];
}

const target: SimTarget = {
  describe: 'btree: random batches over every descriptor variant, pinned versions, reclamation; check after every batch',
  run,
};
export default target;
