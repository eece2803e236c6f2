/**
 * engine/space-accounting.ts: the space counters statfs reports, kept exact per transaction and
 * persisted in the superblock (superblock.ts, "space counters").
 *
 *   dataBlocks    physical data blocks (of the store's data block size, engine/geometry.ts)
 *                 referenced by extent records (shared blocks once, garbage awaiting
 *                 reclamation included): +1 per block allocated for data, -1 per block freed
 *   storedBytes   sum of object sizes (onode size fields)
 *   omapBytes     sum of key + value bytes of the omap tree (headers, keys, values as stored)
 *
 * Each counter changes by deltas measured at the point of change (an accounting wrapper around
 * the onode and omap write batches; allocation and free in TxnContext), so it stays a function
 * of the trees' contents whatever path led there — replay and reclamation included — and fsck
 * recomputes all three and compares. A store without counters (made before they existed)
 * gets them by one full recount at mount.
 */
import type { Cursor, Entry, RangeOptions, TreeDescriptor, TreeReader, WriteBatch, CommitResult } from '../btree/index.js';
import { readU64 } from '../common/ints.js';

export interface SpaceCounters {
  dataBlocks: number;
  storedBytes: number;
  omapBytes: number;
}

export function zeroCounters(): SpaceCounters {
  return { dataBlocks: 0, storedBytes: 0, omapBytes: 0 };
}

/** What one entry contributes to a counter. */
export type Measure = (key: Uint8Array, value: Uint8Array) => number;

export const measureOmap: Measure = (key, value) => key.byteLength + value.byteLength;
/** An onode record's size field (meta-keys.ts: u64 at offset 8). */
export const measureOnode: Measure = (_key, value) => {
  const b = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  return readU64(b, 8, 'onode record');
};

/** A WriteBatch that adds up the measure of what it inserts and removes. */
export class AccountedBatch implements WriteBatch {
  /** Net change of the measure since the batch began. */
  delta = 0;

  constructor(private readonly inner: WriteBatch, private readonly measure: Measure) {}

  get descriptor(): TreeDescriptor { return this.inner.descriptor; }
  get count(): number { return this.inner.count; }
  get(key: Uint8Array): Uint8Array | undefined { return this.inner.get(key); }
  has(key: Uint8Array, value?: Uint8Array): boolean { return this.inner.has(key, value); }
  getAll(key: Uint8Array): Uint8Array[] { return this.inner.getAll(key); }
  first(): Entry | undefined { return this.inner.first(); }
  last(): Entry | undefined { return this.inner.last(); }
  cursor(): Cursor { return this.inner.cursor(); }
  range(options?: RangeOptions): IterableIterator<Entry> { return this.inner.range(options); }

  put(key: Uint8Array, value: Uint8Array = new Uint8Array(0)): void {
    const old = this.inner.get(key);
    if (old !== undefined) this.delta -= this.measure(key, old);
    this.delta += this.measure(key, value);
    this.inner.put(key, value);
  }

  delete(key: Uint8Array, value?: Uint8Array): boolean {
    const old = this.inner.get(key);
    const removed = this.inner.delete(key, value);
    if (removed && old !== undefined) this.delta -= this.measure(key, old);
    return removed;
  }

  deleteRange(start?: Uint8Array, end?: Uint8Array): number {
    for (const e of this.inner.range({ ...(start === undefined ? {} : { start }), ...(end === undefined ? {} : { end }) })) {
      this.delta -= this.measure(e.key, e.value);
    }
    return this.inner.deleteRange(start, end);
  }

  commit(): CommitResult { return this.inner.commit(); }
  abort(): void { this.inner.abort(); }
}

/** The counters recomputed from the trees (fsck; mount of a store without counters). */
export function recountSpace(onodes: TreeReader, omap: TreeReader, dataBlocks: number): SpaceCounters {
  let storedBytes = 0;
  for (const e of onodes.range()) storedBytes += measureOnode(e.key, e.value);
  let omapBytes = 0;
  for (const e of omap.range()) omapBytes += measureOmap(e.key, e.value);
  return { dataBlocks, storedBytes, omapBytes };
}
