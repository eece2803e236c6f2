/**
 * engine/checkpoint.ts: checkpoints — when to take them and how.
 *
 * A checkpoint of generation g = durable + 1:
 *  1. snapshot (synchronous): tree roots, dirty pages, small-write blocks, the journal tail,
 *     counters; encode the allocator into a freshly allocated blob (the previous blob is freed
 *     in g); from here frees wait for g + 1 (the snapshot references what they free);
 *  2. write small-write blocks, pages and the allocator blob (all to blocks no durable
 *     checkpoint references), wait for the journal events in the snapshot to be durable, flush;
 *  3. write superblock copy g % 2, flush: the checkpoint is durable;
 *  4. release frees deferred to g (once no data read is in flight), trim the journal.
 * Before 1, a bounded reclaim step (reclaim.ts) frees garbage of removed and truncated objects.
 * A crash anywhere before 3 completes leaves the previous superblock and its journal intact.
 *
 * Triggers: journal use (half the ring), dirty bytes, a timer, a full journal, close.
 */
import { alignUp } from '../common/ints.js';
import type { Journal } from '../journal/index.js';
import type { EngineState } from './state.js';
import { writeBlockRuns } from './page-store.js';
import { SUPERBLOCK_FLAG_FREE_MAP_TABLE, encodeSuperblock, superblockOffset, type Superblock } from './superblock.js';
import { blobFits, layoutBlob, tableBytes } from './free-map-blob.js';
import { EbofsError } from '../common/errors.js';
import type { Extent } from '../alloc/index.js';
import { BLOCK_BYTES } from './txn-context.js';
import { zeroExtents } from './scrub.js';
import { LAZY_RECORDS_MIN, RECLAIM_STEP_RECORDS, runReclaimStep } from './reclaim.js';

export interface CheckpointPolicy {
  /** Checkpoint once the journal is this full (0..1). */
  journalFillRatio: number;
  /** Checkpoint once this many bytes of pages and small-write data wait in memory. */
  dirtyBytesMax: number;
  /** Checkpoint this often while anything changed (0: no timer). */
  intervalMs: number;
  /** Garbage records (reclaim.ts) each checkpoint frees at most. */
  reclaimStepRecords: number;
  /** Remove and truncate leave garbage to the reclaimer from this many extent records (or omap keys) on. */
  lazyRecordsMin: number;
}

export const CHECKPOINT_POLICY_DEFAULT: CheckpointPolicy = {
  journalFillRatio: 0.5, dirtyBytesMax: 64 * 1024 * 1024, intervalMs: 5000, reclaimStepRecords: RECLAIM_STEP_RECORDS,
  lazyRecordsMin: LAZY_RECORDS_MIN,
};

export class Checkpointer {
  private running: Promise<void> | undefined;
  private again = false;
  private lastAppend: Promise<unknown> | undefined;
  private changed = false;
  private activeReads = 0;
  private releasable: number | undefined;
  private readonly timer: NodeJS.Timeout | undefined;
  /** Generations written, for stats and tests. */
  count = 0;
  /** Bytes of freed space zeroed before reuse (scrubbing stores). */
  scrubbedBytes = 0;
  private scrubbing: Promise<void> = Promise.resolve();
  /** Why the last checkpoint failed (undefined once one succeeds). */
  failure: unknown;

  constructor(
    private readonly state: EngineState,
    private readonly journal: Journal,
    private superblock: Superblock,
    private readonly policy: CheckpointPolicy,
    private readonly afterCheckpoint: () => void,
  ) {
    if (policy.intervalMs > 0) {
      this.timer = setInterval(() => { if (this.changed) this.request('timer'); }, policy.intervalMs);
      this.timer.unref();
    }
  }

  noteAppend(append: Promise<unknown>): void {
    this.lastAppend = append;
    this.changed = true;
  }

  maybeTrigger(): void {
    const stats = this.journal.stats();
    if (stats.usedBytes > stats.ringBytes * this.policy.journalFillRatio) this.request('journal');
    else if (this.state.dirtyBytes > this.policy.dirtyBytesMax) this.request('dirty');
  }

  /** Starts a checkpoint soon unless one is running (then another follows it). */
  request(_reason: string): void {
    if (this.running !== undefined) {
      this.again = true;
      return;
    }
    this.run(_reason).catch(() => undefined);
  }

  /**
   * Runs a checkpoint (after the one in progress, if any) and waits for it. The owner hears of
   * every end (afterCheckpoint), a failed one too (then `failure` is set): transactions waiting
   * for journal space must not wait for a trim that will not come.
   */
  async run(_reason: string): Promise<void> {
    while (this.running !== undefined) await this.running.catch(() => undefined);
    this.running = this.write().finally(() => { this.running = undefined; });
    try {
      await this.running;
      if (this.again) {
        this.again = false;
        this.request('again');
      }
    } finally {
      this.afterCheckpoint();
    }
  }

  beginRead(): void {
    this.activeReads++;
  }

  endRead(): void {
    this.activeReads--;
    if (this.activeReads === 0 && this.releasable !== undefined) this.release();
  }

  /** The extents of the durable superblock's free-map blob (mount reads them: free-map-blob.ts). */
  private blobExtents: Extent[] = [];

  /** Mount: the extents the durable superblock's free-map blob occupies. */
  adoptFreeMapExtents(extents: Extent[]): void {
    this.blobExtents = extents;
  }

  /** The extents of the durable free-map blob (fsck). */
  get freeMapExtents(): readonly Extent[] {
    return this.blobExtents;
  }

  /** The superblock of the last durable checkpoint. */
  get durableSuperblock(): Superblock {
    return this.superblock;
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
  }

  private async write(): Promise<void> {
    const s = this.state;
    // Nothing applied since the last checkpoint: the durable superblock already says it all
    // (so read-only work — stat, fsck, a clean close — does not bump the generation).
    const garbage = s.trees.dead.current.count > 0;
    if (!this.changed && !garbage && s.dirtyBytes === 0 && s.pageStore.dirtyBytes === 0) return;
    const generation = s.durableGeneration + 1;
    // 0. a bounded step of lazy reclamation, in this checkpoint and in no journal event
    // (reclaim.ts); garbage left over keeps the timer checkpointing.
    const more = garbage && runReclaimStep(s, this.policy.reclaimStepRecords);
    // 1. snapshot
    const trees = s.treeHeaders();
    const tail = this.journal.tail();
    const waitFor = this.lastAppend;
    this.changed = more;
    s.checkpointing = true;
    const pages = s.pageStore.snapshot(generation);
    const data = new Map(s.deferredData);
    const blob = this.allocateFreeMap(generation);
    const sb: Superblock = {
      ...this.superblock, generation, replayOffset: tail.cursor.offset, replaySeq: tail.cursor.seq,
      floor: s.floor, nextNid: s.nextNid, freeMapOffset: blob.extents[0]!.offset, freeMapBytes: blob.map.byteLength,
      freeMapAllocBytes: blob.extents[0]!.length, flags: this.superblock.flags | SUPERBLOCK_FLAG_FREE_MAP_TABLE,
      trees, counters: { ...s.counters },
    };
    try {
      // 2. everything the superblock will reference
      await writeBlockRuns(s.device, data, false, s.geometry.blockBytes);
      await writeBlockRuns(s.device, pages);
      for (const [i, e] of blob.extents.entries()) await s.device.write(e.offset, blob.buffers[i]!);
      if (waitFor !== undefined) await waitFor;
      // The cursor's link is known once the record before it is written (journal/types.ts).
      sb.replayLink = tail.cursor.link;
      await s.device.flush();
      // 3. the superblock
      await s.device.write(superblockOffset(generation), encodeSuperblock(sb));
      await s.device.flush();
    } catch (err) {
      this.failure = err;
      throw err;
    }
    // 4. release
    this.superblock = sb;
    this.blobExtents = blob.extents;
    s.durableGeneration = generation;
    s.checkpointing = false;
    s.pageStore.snapshotWritten();
    for (const [id, bytes] of data) if (s.deferredData.get(id) === bytes) s.deferredData.delete(id);
    this.releasable = generation;
    if (this.activeReads === 0) this.release();
    if (tail.lastSeq !== undefined) this.journal.trim(tail.lastSeq);
    this.failure = undefined;
    this.count++;
  }

  /**
   * Frees deferred to the durable generation become allocatable — on a scrubbing store only
   * after they are zeroed and flushed (no read in flight can see them by now: release waits
   * for reads that started before the checkpoint).
   */
  private release(): void {
    const generation = this.releasable;
    this.releasable = undefined;
    if (generation === undefined) return;
    if (!this.state.scrubFreed) {
      this.state.allocator.markDurable(generation);
      return;
    }
    const previous = this.scrubbing;
    this.scrubbing = (async () => {
      await previous;
      const extents = this.state.allocator.pendingFrees(generation);
      this.scrubbedBytes += await zeroExtents(this.state.device, extents);
      this.state.allocator.markDurable(generation);
    })().catch((err: unknown) => { this.failure = err; });
  }

  /** Waits for scrubbing in progress (close). */
  async idle(): Promise<void> {
    await this.scrubbing;
  }

  /**
   * Allocates the blob the allocator map goes to and encodes the map (which counts the blob
   * as used). One extent when there is one; on a full, fragmented store, several
   * (free-map-blob.ts), drawn from the allocator's slack, so a checkpoint never fails for room.
   */
  private allocateFreeMap(generation: number): { extents: Extent[]; map: Uint8Array; buffers: Buffer[] } {
    const a = this.state.allocator;
    if (this.blobExtents.length > 0) a.free(this.blobExtents, generation);
    let guess = alignUp(a.encode().byteLength * 1.25 + BLOCK_BYTES, BLOCK_BYTES);
    for (let attempt = 0; attempt < 8; attempt++) {
      let extents: Extent[];
      try {
        extents = a.allocate(guess, { contiguous: true, privileged: true });
      } catch (err) {
        if (!(err instanceof EbofsError) || err.code !== 'ENOSPC') throw err;
        extents = a.allocate(guess + BLOCK_BYTES, { privileged: true });
      }
      const map = a.encode();
      if (blobFits(extents, map.byteLength)) return { extents, map, buffers: layoutBlob(extents, map) };
      a.unallocate(extents);
      guess = alignUp(map.byteLength * 2 + tableBytes(extents), BLOCK_BYTES);
    }
    throw new Error('free map does not converge');
  }
}
