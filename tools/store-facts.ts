/**
 * tools/store-facts.ts: superblock-level facts about an open store — geometry, checkpoint
 * generation, space (statfs), and each collection with its bits and object count — as one
 * JSON-friendly value (`ebofs stat --json`) and as text.
 */
import { type EbofsStore, LIST_OBJECTS_MAX, type StoreStatfs, GHOBJECT_MIN, type Ghobject } from '../engine/index.js';
import { formatSize } from './format-size.js';
import type { PagerCacheStats } from '../btree/index.js';

export interface CollectionFacts {
  readonly cid: string;
  readonly bits: number;
  readonly objects: number;
}

export interface StoreFacts {
  readonly path: string;
  readonly fsid: string;
  readonly generation: number;
  readonly deviceBytes: number;
  readonly blockBytes: number;
  /** Allocation unit and checksum block (engine/geometry.ts). */
  readonly allocUnitBytes: number;
  readonly csumBlockBytes: number;
  readonly stripeUnitBytes: number;
  readonly stripeWidth: number;
  readonly journalBytes: number;
  readonly floor: number;
  /** Freed space is zeroed before reuse (mkfs --scrub-freed). */
  readonly scrubFreed: boolean;
  /** Objects with garbage awaiting lazy reclamation, and shared-block runs. */
  readonly reclaimBacklog: number;
  readonly sharedRuns: number;
  /** The metadata page cache since mount. */
  readonly cache: PagerCacheStats;
  readonly statfs: StoreStatfs;
  readonly collections: readonly CollectionFacts[];
  readonly objects: number;
}

/** Counts a collection's objects page by page (bounded pages of LIST_OBJECTS_MAX). */
async function countObjects(store: EbofsStore, cid: string): Promise<number> {
  let count = 0;
  let start: Ghobject = GHOBJECT_MIN;
  for (;;) {
    const page = await store.listObjects(cid, { start, max: LIST_OBJECTS_MAX });
    count += page.objects.length;
    if (page.next.max) return count;
    start = page.next;
  }
}

export async function storeFacts(store: EbofsStore, path: string): Promise<StoreFacts> {
  const sb = store.checkpointer.durableSuperblock;
  const collections: CollectionFacts[] = [];
  for (const cid of await store.listCollections()) {
    collections.push({ cid, bits: await store.collectionBits(cid), objects: await countObjects(store, cid) });
  }
  return {
    path, fsid: sb.fsid.toString('hex'), generation: sb.generation, deviceBytes: sb.deviceBytes,
    blockBytes: sb.blockBytes, allocUnitBytes: sb.allocUnitBytes, csumBlockBytes: sb.csumBlockBytes,
    stripeUnitBytes: sb.stripeUnitBytes, stripeWidth: sb.stripeWidth,
    journalBytes: sb.journalBytes, floor: await store.getFloor(), scrubFreed: store.state.scrubFreed,
    reclaimBacklog: store.state.trees.dead.current.count, sharedRuns: store.state.trees.refs.current.count,
    cache: store.state.pager.cacheStats(), statfs: await store.statfs(), collections,
    objects: collections.reduce((n, c) => n + c.objects, 0),
  };
}

/** The facts as aligned text lines; at most `collectionLinesMax` collection lines. */
export function formatFacts(facts: StoreFacts, collectionLinesMax = 64): string {
  const s = facts.statfs;
  const lines = [
    `store       ${facts.path}`,
    `fsid        ${facts.fsid}`,
    `generation  ${facts.generation}`,
    `device      ${formatSize(facts.deviceBytes)} (block ${formatSize(facts.blockBytes)}, ` +
      `stripe ${formatSize(facts.stripeUnitBytes)} x ${facts.stripeWidth})`,
    `data units  allocation unit ${formatSize(facts.allocUnitBytes)}, checksum block ${formatSize(facts.csumBlockBytes)}`,
    `journal     ${formatSize(facts.journalBytes)}`,
    `space       ${formatSize(s.allocated + s.internalMetadata)} used, ${formatSize(s.available)} available, ` +
      `${formatSize(s.reserved)} reserved of ${formatSize(s.total)}`,
    `floor       ${facts.floor}`,
    `scrub       ${facts.scrubFreed ? 'freed space is zeroed before reuse' : 'off'}`,
    `data        ${formatSize(s.allocated)} in blocks, ${formatSize(s.dataStored)} stored, ` +
      `${facts.sharedRuns} shared runs, ${facts.reclaimBacklog} objects awaiting reclamation`,
    `cache       ${facts.cache.cachedPageCount} of ${facts.cache.cachePagesMax} pages, ` +
      `${facts.cache.hitCount} hits, ${facts.cache.loadCount} loads, ${facts.cache.evictionCount} evictions`,
    `collections ${facts.collections.length}, ${facts.objects} objects`,
  ];
  for (const c of facts.collections.slice(0, collectionLinesMax)) {
    lines.push(`  ${c.cid.padEnd(16)} bits ${String(c.bits).padStart(2)}  ${c.objects} objects`);
  }
  const more = facts.collections.length - collectionLinesMax;
  if (more > 0) lines.push(`  ... ${more} more`);
  return `${lines.join('\n')}\n`;
}
