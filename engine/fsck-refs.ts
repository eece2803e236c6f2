/**
 * engine/fsck-refs.ts: fsck's check of shared data blocks — every block's reference count in
 * the refs tree (refs.ts) equals the number of extent records mapping it when that is 2 or
 * more, and no entry exists otherwise. Returns each referenced block once, as runs, for the
 * space accounting; and the statfs counters recounted from the trees.
 */
import type { TreeReader } from '../btree/index.js';
import { type BlockRun, decodeRef } from './refs.js';
import { decodeExtent } from './meta-keys.js';
import { type SpaceCounters, recountSpace } from './space-accounting.js';
import type { EngineState } from './state.js';

export type Report = (code: 'ECORRUPT', location: string, message: string) => void;

interface Segment {
  start: number;
  end: number;
  n: number;
}

/** Coverage of `runs`: maximal segments with a constant count >= 1, in order. */
function coverage(runs: readonly BlockRun[]): Segment[] {
  const edges: [number, number][] = [];
  for (const r of runs) edges.push([r.start, 1], [r.start + r.count, -1]);
  edges.sort((a, b) => a[0] - b[0]);
  const out: Segment[] = [];
  let n = 0;
  for (let i = 0; i < edges.length;) {
    const at = edges[i]![0];
    while (i < edges.length && edges[i]![0] === at) n += edges[i++]![1];
    const next = edges[i]?.[0];
    if (n > 0 && next !== undefined) out.push({ start: at, end: next, n });
  }
  return out;
}

/** Checks the refs tree against the data runs; returns the distinct referenced runs. */
export function checkRefs(dataRuns: readonly BlockRun[], refs: TreeReader, report: Report): BlockRun[] {
  const covered = coverage(dataRuns);
  const shared: Segment[] = [];
  for (const entry of refs.range()) {
    const run = decodeRef(entry.key, entry.value);
    shared.push({ start: run.start, end: run.start + run.count, n: run.refs });
  }
  // Walk both segment lists over every boundary; the expected count is the coverage when it
  // is 2 or more, else none (0).
  const bounds = [...new Set([...covered, ...shared].flatMap((s) => [s.start, s.end]))].sort((a, b) => a - b);
  let ci = 0;
  let si = 0;
  for (let i = 0; i + 1 < bounds.length; i++) {
    const lo = bounds[i]!;
    while (ci < covered.length && covered[ci]!.end <= lo) ci++;
    while (si < shared.length && shared[si]!.end <= lo) si++;
    const c = ci < covered.length && covered[ci]!.start <= lo ? covered[ci]!.n : 0;
    const r = si < shared.length && shared[si]!.start <= lo ? shared[si]!.n : 0;
    const expected = c >= 2 ? c : 0;
    if (r !== expected) {
      report('ECORRUPT', `data blocks ${lo}..${bounds[i + 1]! - 1}`,
        `mapped by ${c} extent record(s) but the refs tree says ${r === 0 ? 'nothing' : `${r} references`}`);
    }
  }
  const distinct: BlockRun[] = [];
  for (const s of covered) {
    const last = distinct[distinct.length - 1];
    if (last !== undefined && last.start + last.count === s.start) last.count += s.end - s.start;
    else distinct.push({ start: s.start, count: s.end - s.start });
  }
  return distinct;
}

/** Data blocks referenced by extent records, each counted once. */
export function distinctDataBlocks(extents: TreeReader): number {
  const runs: BlockRun[] = [];
  for (const e of extents.range()) {
    const rec = decodeExtent(e.value, 'extents tree');
    runs.push({ start: rec.pblock, count: rec.count });
  }
  return coverage(runs).reduce((n, s) => n + (s.end - s.start), 0);
}

/** The statfs counters recomputed from the trees (a store made before they were kept). */
export function countSpace(state: EngineState): SpaceCounters {
  const t = state.trees;
  return recountSpace(t.onodes.current, t.omap.current, distinctDataBlocks(t.extents.current));
}
