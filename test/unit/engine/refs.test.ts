/**
 * Goal: the refs tree (engine/refs.ts) counts references to physical blocks exactly: after
 * any sequence of addRefs/dropRefs, a block's count in the tree equals the model's when that is
 * 2 or more and the block has no entry otherwise; dropRefs reports exactly the blocks whose
 * count fell from 1 to 0; entries never overlap and adjacent equal entries are merged.
 * Method: fast-check sequences of range operations against a per-block count array.
 */
import test from 'ava';
import fc from 'fast-check';
import { MemoryPageStore, Pager, openTree, makeDescriptor } from '../../../btree/index.js';
import { addRefs, dropRefs, refsIn, refsOf } from '../../../engine/refs.js';

const BLOCKS = 96;

type Step = { add: boolean; start: number; count: number };

const step = fc.record({ add: fc.boolean(), start: fc.integer({ min: 0, max: BLOCKS - 1 }), count: fc.integer({ min: 1, max: 40 }) })
  .map((s): Step => ({ ...s, count: Math.min(s.count, BLOCKS - s.start) }));

test('refs tree equals a per-block count model under random add/drop sequences', (t) => {
  fc.assert(fc.property(fc.array(step, { maxLength: 60 }), fc.boolean(), (steps, commitEach) => {
    const pager = new Pager(new MemoryPageStore({ pageSizeBytes: 512 }));
    const tree = openTree(pager, makeDescriptor({ key: { kind: 'fixed', sizeBytes: 8 }, value: { kind: 'fixed', sizeBytes: 8 } }), { kind: 'empty' });
    // The model starts with every block mapped once (the data blocks being shared).
    const model = new Array<number>(BLOCKS).fill(1);
    let batch = tree.begin();
    for (const s of steps) {
      const range = model.slice(s.start, s.start + s.count);
      if (s.add) {
        if (range.some((n) => n === 0)) continue; // only mapped blocks can be shared
        addRefs(batch, s.start, s.count);
        for (let b = s.start; b < s.start + s.count; b++) model[b]!++;
      } else {
        if (range.some((n) => n === 0)) continue;
        const freed = dropRefs(batch, s.start, s.count);
        const expected: number[] = [];
        for (let b = s.start; b < s.start + s.count; b++) if (--model[b]! === 0) expected.push(b);
        const got = freed.flatMap((r) => Array.from({ length: r.count }, (_, i) => r.start + i));
        if (JSON.stringify(got) !== JSON.stringify(expected)) throw new Error(`freed ${got} expected ${expected}`);
      }
      if (commitEach) {
        batch.commit();
        batch = tree.begin();
      }
    }
    for (let b = 0; b < BLOCKS; b++) {
      const want = model[b]! >= 2 ? model[b]! : 1;
      if (refsOf(batch, b) !== want) throw new Error(`block ${b}: tree ${refsOf(batch, b)}, model ${model[b]}`);
    }
    const runs = refsIn(batch, 0, BLOCKS);
    for (let i = 1; i < runs.length; i++) {
      const a = runs[i - 1]!;
      const b = runs[i]!;
      if (a.start + a.count > b.start) throw new Error('overlapping entries');
      if (a.start + a.count === b.start && a.refs === b.refs) throw new Error('adjacent equal entries not merged');
    }
    batch.abort();
  }), { numRuns: 300 });
  t.pass();
});
