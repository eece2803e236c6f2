/**
 * engine/fsck.ts: the store's invariant checker (DESIGN.md "Invariants").
 *
 * It runs on a quiesced store: it first checkpoints, so memory and device agree and deferred
 * frees settle. Then:
 * - every metadata tree passes btree check (order, levels, counts, page checksums, every page
 *   reachable once);
 * - every extent, xattr and omap key belongs to an existing object or to a removed one awaiting
 *   reclamation (reclaim.ts); extent records of an object do not overlap, lie inside the device
 *   and past the object's size only as garbage from its dead mark on, and hold one checksum
 *   per checksum block of the store's geometry (geometry.ts);
 * - every shared block's reference count is exactly the number of records mapping it (refs.ts);
 * - the statfs counters equal a recount (space-accounting.ts);
 * - space: the referenced blocks (superblocks, journal, free-map blob, tree pages, data) never
 *   overlap and are exactly what the allocator holds as used — no reference to free space, no
 *   leak (free + used + reserved = capacity);
 * - the journal from the replay cursor holds no damaged record followed by valid ones;
 * - deep: every checksum block of every data block matches its checksum.
 * Findings are returned (empty = clean); fsck never repairs.
 */
import { CorruptionError, EbofsError } from '../common/errors.js';
import { decodeAllocator, type Extent } from '../alloc/index.js';
import { check as checkTree } from '../btree/index.js';
import { reachablePages } from '../btree/check.js';
import { checkJournal } from '../journal/index.js';
import { decodeExtent, decodeOnode, readU64BE } from './meta-keys.js';
import { decodeOnodeKey } from './oid-key.js';
import { fullKeyOf } from './onode-keys.js';
import { formatGhobject } from './types.js';
import { TREE_NAMES } from './state.js';
import { BLOCK_BYTES, verifyBlock } from './txn-context.js';
import { PAGE_BYTES } from './page-store.js';
import { type DeadEntry, decodeDead } from './reclaim.js';
import type { BlockRun } from './refs.js';
import { checkRefs } from './fsck-refs.js';
import { type SpaceCounters, recountSpace } from './space-accounting.js';
import { ONODE_INLINE_BYTES_MAX } from './object-data.js';
import type { EbofsStore } from './store.js';
import { type Superblock, SUPERBLOCK_OFFSETS, decodeSuperblock } from './superblock.js';

export interface FsckFinding {
  code: 'ECORRUPT' | 'ECHECKSUM' | 'ELEAK' | 'EDOUBLE';
  location: string;
  message: string;
}

export interface FsckOptions {
  /** Also read every data block and verify its checksum. */
  deep?: boolean;
  /** Stop after this many findings (default 1000). */
  maxFindings?: number;
  /** Progress callback of the deep pass (data blocks verified, total). */
  onProgress?: (done: number, total: number) => void;
}

export async function fsckStore(store: EbofsStore, superblock: () => Superblock, options: FsckOptions = {}): Promise<FsckFinding[]> {
  await store.checkpoint();
  const s = store.state;
  const max = options.maxFindings ?? 1000;
  const findings: FsckFinding[] = [];
  const report = (code: FsckFinding['code'], location: string, message: string): void => {
    if (findings.length < max) findings.push({ code, location, message });
  };
  const used: Extent[] = [];
  const sb = superblock();
  for (const offset of SUPERBLOCK_OFFSETS) {
    const bytes = Buffer.alloc(BLOCK_BYTES);
    await s.device.read(offset, bytes);
    try {
      decodeSuperblock(bytes, `superblock at offset ${offset}`);
    } catch (err) {
      if (!(err instanceof EbofsError)) throw err;
      report(err instanceof CorruptionError ? err.code : 'ECORRUPT', `superblock at offset ${offset}`, err.message);
    }
  }
  used.push({ offset: 0, length: sb.journalOffset + sb.journalBytes });
  used.push(...store.checkpointer.freeMapExtents);
  // Pages a rejected transaction took and gave back wait for reuse until the next checkpoint.
  for (const id of s.pageStore.recycledPages) used.push({ offset: id * PAGE_BYTES, length: PAGE_BYTES });
  const damaged = new Set<string>();
  /** Runs a walk over trees; a CorruptionError it meets becomes a finding, not a throw. */
  const guard = (what: string, walk: () => void): void => {
    try {
      walk();
    } catch (err) {
      if (!(err instanceof CorruptionError)) throw err;
      report(err.code, `${what} ${err.location ?? ''}`.trim(), err.message);
    }
  };
  for (const name of TREE_NAMES) {
    const tree = s.trees[name];
    const problems = checkTree(tree);
    for (const f of problems) report('ECORRUPT', `${name} tree ${f.location}`, f.problem);
    if (problems.length > 0) damaged.add(name);
    guard(`${name} tree`, () => {
      for (const id of reachablePages(tree, tree.current)) used.push({ offset: id * PAGE_BYTES, length: PAGE_BYTES });
    });
  }
  if (damaged.size > 0) {
    // Ownership and space checks walk every tree; with a damaged tree they would only repeat
    // (or trip over) what btree check already named.
    report('ECORRUPT', 'metadata', `damaged trees (${[...damaged].join(', ')}): ownership and space checks skipped`);
    return findings;
  }
  const nids = new Map<number, { label: string; size: number }>();
  for (const entry of s.trees.onodes.current.range()) {
    const onode = decodeOnode(entry.value, 'onode tree');
    const { cid, oid } = decodeOnodeKey(fullKeyOf(s.trees.names.current, entry.key, onode));
    const label = `${cid}/${formatGhobject(oid)}`;
    const other = nids.get(onode.nid);
    if (other !== undefined) report('ECORRUPT', label, `object number ${onode.nid} also used by ${other.label}`);
    // An inline object keeps its bytes in the onode: no live extent may exist (sizeBlocks 0).
    nids.set(onode.nid, { label, size: onode.inline === undefined ? onode.size : 0 });
    if (onode.inline !== undefined && onode.size > ONODE_INLINE_BYTES_MAX) {
      report('ECORRUPT', label, `inline object of ${onode.size} bytes exceeds ${ONODE_INLINE_BYTES_MAX}`);
    }
  }
  const dead = new Map<number, DeadEntry>();
  for (const entry of s.trees.dead.current.range()) {
    const d = decodeDead(entry.key, entry.value);
    dead.set(d.nid, d);
    if (d.removed === nids.has(d.nid)) {
      report('ECORRUPT', `dead tree entry of object number ${d.nid}`, d.removed ? 'removed object still has an onode' : 'truncated object does not exist');
    }
  }
  const { blockBytes: B, csumBlockBytes: C, csumsPerBlock: k } = s.geometry;
  const deepBlocks: { at: number; csum: number; where: string }[] = [];
  const dataRuns: BlockRun[] = [];
  let lastNid = -1;
  let lastEnd = 0;
  for (const entry of s.trees.extents.current.range()) {
    const nid = readU64BE(entry.key, 0);
    const lblock = readU64BE(entry.key, 8);
    const owner = nids.get(nid);
    const where = `${owner?.label ?? `object number ${nid}`} offset ${lblock * B}`;
    const rec = decodeExtent(entry.value, where);
    if (rec.csums.length !== rec.count * k) {
      report('ECORRUPT', where, `extent record of ${rec.count} blocks has ${rec.csums.length} checksums, not ${rec.count * k}`);
      continue;
    }
    const d = dead.get(nid);
    if (owner === undefined) {
      if (d?.removed !== true) report('ECORRUPT', where, 'extent of an object that does not exist');
    } else {
      // Past the size only garbage may lie, and only from the dead mark on (reclaim.ts).
      const sizeBlocks = Math.ceil(owner.size / B);
      const garbageFrom = d === undefined ? Infinity : d.from;
      if (Math.max(lblock, sizeBlocks) < Math.min(lblock + rec.count, garbageFrom)) report('ECORRUPT', where, 'extent past the object size');
    }
    if (nid === lastNid && lblock < lastEnd) report('ECORRUPT', where, 'extent overlaps the previous one');
    lastNid = nid;
    lastEnd = lblock + rec.count;
    if ((rec.pblock + rec.count) * B > s.device.sizeBytes) {
      report('ECORRUPT', where, 'extent lies past the device end');
      continue;
    }
    dataRuns.push({ start: rec.pblock, count: rec.count });
    if (options.deep === true) {
      for (let i = 0; i < rec.csums.length; i++) {
        deepBlocks.push({ at: rec.pblock * B + i * C, csum: rec.csums[i]!, where: `${owner?.label ?? `object number ${nid}`} offset ${lblock * B + i * C}` });
      }
    }
  }
  let dataBlocks = 0;
  for (const run of checkRefs(dataRuns, s.trees.refs.current, report)) {
    used.push({ offset: run.start * B, length: run.count * B });
    dataBlocks += run.count;
  }
  checkCounters(s.counters, recountSpace(s.trees.onodes.current, s.trees.omap.current, dataBlocks), report);
  for (const name of ['xattrs', 'omap', 'names'] as const) {
    for (const entry of s.trees[name].current.range()) {
      const nid = readU64BE(entry.key, 0);
      if (!nids.has(nid) && (name === 'names' || dead.get(nid)?.removed !== true)) {
        report('ECORRUPT', `${name} key of object number ${nid}`, 'belongs to no object');
      }
    }
  }
  checkSpace(store, used, report);
  const journal = await checkJournal(s.device, { ringOffset: sb.journalOffset, ringBytes: sb.journalBytes, journalId: sb.journalId },
    { offset: sb.replayOffset, seq: sb.replaySeq });
  for (const f of journal.findings) report(f.code, `journal offset ${f.offset}`, f.message);
  await verifyData(store, deepBlocks, report, options.onProgress);
  return findings;
}

/** The statfs counters kept per transaction must equal a recount. */
function checkCounters(kept: SpaceCounters, counted: SpaceCounters, report: (c: FsckFinding['code'], l: string, m: string) => void): void {
  for (const name of ['dataBlocks', 'storedBytes', 'omapBytes'] as const) {
    if (kept[name] !== counted[name]) report('ECORRUPT', `space counter ${name}`, `kept ${kept[name]}, counted ${counted[name]}`);
  }
}

/** The referenced extents must be exactly the allocator's used space. */
function checkSpace(store: EbofsStore, used: Extent[], report: (c: FsckFinding['code'], l: string, m: string) => void): void {
  const live = store.state.allocator;
  const copy = decodeAllocator(live.encode());
  const generation = store.state.durableGeneration + 1;
  copy.markDurable(store.state.durableGeneration);
  const sorted = [...used].sort((a, b) => a.offset - b.offset);
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1]!;
    const cur = sorted[i]!;
    if (cur.offset < prev.offset + prev.length) report('EDOUBLE', `device offset ${cur.offset}`, 'space referenced twice');
  }
  for (const extent of sorted) {
    try {
      copy.free([extent], generation);
    } catch (err) {
      if (!(err instanceof EbofsError)) throw err;
      report('ECORRUPT', `device offset ${extent.offset}`, `referenced space is free in the allocator (${err.message})`);
    }
  }
  copy.markDurable(generation);
  const stats = copy.stats();
  const leaked = stats.capacityBytes - stats.freeBytes - stats.reservedBytes;
  if (leaked > 0) report('ELEAK', 'allocator', `${leaked} bytes allocated but referenced by nothing`);
}

async function verifyData(
  store: EbofsStore, blocks: { at: number; csum: number; where: string }[],
  report: (c: FsckFinding['code'], l: string, m: string) => void, onProgress?: (done: number, total: number) => void,
): Promise<void> {
  const buf = Buffer.alloc(store.state.geometry.csumBlockBytes);
  for (const [i, b] of blocks.entries()) {
    await store.state.device.read(b.at, buf);
    try {
      verifyBlock(buf, b.csum, () => b.where);
    } catch (err) {
      if (!(err instanceof EbofsError)) throw err;
      report('ECHECKSUM', b.where, 'checksum block fails its checksum');
    }
    if (onProgress !== undefined && i % 1024 === 0) onProgress(i, blocks.length);
  }
}
