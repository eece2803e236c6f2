/**
 * journal/types.ts: the interfaces the journal declares for its owner. The journal never
 * imports engine/: the engine's BlockDevice satisfies LogDevice structurally.
 */

/** What the journal needs of a device: whole-block positional I/O and a durable flush. */
export interface LogDevice {
  readonly sizeBytes: number;
  readonly blockSizeBytes: number;
  read(offset: number, target: Uint8Array): Promise<void>;
  write(offset: number, source: Uint8Array): Promise<void>;
  flush(): Promise<void>;
  /**
   * Optional: write `source` and make exactly its range durable (an O_DSYNC pwrite), leaving
   * other pending writes volatile. When present (and `durableWrites` is not false), a batch
   * that needs nothing else flushed is written with it: one device round trip per commit
   * instead of a write and a flush.
   */
  writeDurable?(offset: number, source: Uint8Array): Promise<void>;
}

/** The ring region, as absolute device offsets [start, end), block-aligned. */
export interface Ring {
  start: number;
  end: number;
}

/**
 * Where replay begins: a device offset inside the ring and the seq expected there. The owner
 * persists one (in its superblock) before it trims the events before it.
 *
 * `link` (xxh64 of the header of the record just before the cursor) lets replay check the
 * first record after the cursor like every other one. Without it that record is accepted on
 * seq alone, and a record an earlier incarnation left at exactly that slot (same seq, same
 * offset: records of equal sizes line up) replays although it was never acknowledged. Every
 * cursor the journal hands out carries it once the record before it is written; owners should
 * persist it with offset and seq.
 */
export interface JournalCursor {
  offset: number;
  seq: number;
  link?: bigint;
}

export interface ReplayedEvent {
  /** The event's id: the seq of its first record. */
  seq: number;
  payload: Buffer;
  /** Cursor just after this event: persist it to skip this event on the next replay. */
  next: JournalCursor;
}

export interface JournalOptions {
  /** Ring region start (absolute device offset), block-aligned. */
  ringOffset: number;
  /** Ring region size in bytes, block-aligned, at least RING_BLOCKS_MIN blocks. */
  ringBytes: number;
  /** Identity of this journal, chosen at mkfs: records of any other journal never replay. */
  journalId: bigint;
  /**
   * A value never used by an earlier open of this journal (default: 64 random bits from
   * node:crypto). Simulations pass one from their seeded PRNG to stay deterministic.
   */
  nonce?: bigint;
  /** Largest record in bytes, header included (default 1 MiB); larger events are fragmented. */
  recordBytesMax?: number;
  /** Largest event (default min(64 MiB, about half the ring)); bigger appends fail E2BIG. */
  eventBytesMax?: number;
  /** Called when an append has to wait for the owner to trim (time to checkpoint). */
  onFull?: () => void;
  /**
   * Called before each batch is written. The owner uses it to wait for writes of data that the
   * batch's records reference. It returns (or resolves to) false when the batch's flush need
   * cover nothing else; then the batch may use the device's writeDurable, which flushes the
   * journal's own range only. true (or nothing) makes the batch end with a full flush. A plain
   * false (no promise) lets an idle writer issue the batch within append() itself.
   */
  beforeBatch?: () => Promise<boolean | void> | false;
  /** Use the device's writeDurable for batches that need no full flush (default true). */
  durableWrites?: boolean;
  /**
   * Asked during replay for every whole event; false ends the log before it (the event and
   * everything after it are treated as never written). The owner uses it when an event
   * references data written in the same flush as the record: if a crash kept the record but
   * not the data, the event cannot have been acknowledged and must not replay.
   */
  acceptEvent?: (payload: Buffer, seq: number) => Promise<boolean>;
}

/** Counters for benchmarks and the owner's checkpoint policy. */
export interface JournalStats {
  appendCount: number;
  recordCount: number;
  batchCount: number;
  flushCount: number;
  bytesWritten: number;
  /** Ring bytes holding live (untrimmed) events and queued records. */
  usedBytes: number;
  ringBytes: number;
}
