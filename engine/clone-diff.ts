/**
 * engine/clone-diff.ts: cloneDiff — the ranges that may differ between two objects, from
 * shared-extent identity alone (no data read). Data blocks never change once written (data.ts),
 * so two logical blocks mapped to the same physical block hold the same bytes, and two holes
 * read the same zeros; every other block pair is reported (inline data, which lives in the onode,
 * is compared directly; an inline object against an extent-mapped one differs everywhere).
 * Bytes between the two sizes are reported too (one object has them, the other does not).
 */
import type { TreeReader } from '../btree/index.js';
import { extentsIn } from './data.js';
import type { Extent } from './types-store.js';

/** A lookup of the physical block behind logical block b (-1 = hole), for ascending b < blocks. */
function mapping(reader: TreeReader, nid: number, blocks: number, label: string): (b: number) => number {
  const extents = extentsIn(reader, nid, 0, blocks, label);
  let i = 0;
  return (b: number): number => {
    while (i < extents.length && extents[i]!.lblock + extents[i]!.count <= b) i++;
    const e = extents[i];
    return e !== undefined && e.lblock <= b ? e.pblock + (b - e.lblock) : -1;
  };
}

interface DiffSide {
  nid: number;
  size: number;
  /** Inline data (object-data.ts): compared directly, it is metadata. */
  inline?: Buffer;
}

/**
 * The ranges where `a` and `b` may differ, at data-block granularity (`blockBytes`, the
 * store's data block: engine/geometry.ts).
 */
export function cloneDiff(reader: TreeReader, a: DiffSide, b: DiffSide, label: string, blockBytes: number): Extent[] {
  const common = Math.min(a.size, b.size);
  const size = Math.max(a.size, b.size);
  const blocks = Math.ceil(common / blockBytes);
  const inlineBlock = (side: DiffSide, blk: number): Buffer | undefined =>
    side.inline?.subarray(blk * blockBytes, (blk + 1) * blockBytes);
  const same = a.inline !== undefined || b.inline !== undefined
    ? (blk: number) => {
      const x = inlineBlock(a, blk);
      const y = inlineBlock(b, blk);
      return x !== undefined && y !== undefined && x.equals(y);
    }
    : undefined;
  const pa = mapping(reader, a.nid, same === undefined ? blocks : 0, label);
  const pb = mapping(reader, b.nid, same === undefined ? blocks : 0, label);
  const out: Extent[] = [];
  const add = (lo: number, hi: number): void => {
    if (hi <= lo) return;
    const last = out[out.length - 1];
    if (last !== undefined && last.offset + last.length >= lo) {
      out[out.length - 1] = { offset: last.offset, length: Math.max(last.length, hi - last.offset) };
    } else {
      out.push({ offset: lo, length: hi - lo });
    }
  };
  // Block-by-block over the common part; runs of extent records are at most 64 blocks, so
  // this is proportional to the object's size in blocks (no I/O).
  for (let blk = 0; blk < blocks; blk++) {
    if (same !== undefined ? !same(blk) : pa(blk) !== pb(blk)) add(blk * blockBytes, Math.min(size, (blk + 1) * blockBytes));
  }
  add(common, size);
  return out;
}
