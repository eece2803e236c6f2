/**
 * journal/: the write-ahead journal of ebofs. Public surface:
 * - Journal: open (replay) / append (group commit) / trim / tail / canAppend / drain / close / stats.
 * - The interfaces it needs from its owner (LogDevice) and the types it hands back.
 * - Format limits (format.ts) and the checker (check.ts) for fsck and tools.
 */
export { Journal, type AppendResult } from './journal.js';
export type { JournalCursor, JournalOptions, JournalStats, LogDevice, ReplayedEvent, Ring } from './types.js';
export { RECORD_BYTES_DEFAULT, RECORD_BYTES_MAX, EVENT_BYTES_DEFAULT, RING_BLOCKS_MIN, RECORD_HEADER_BYTES } from './format.js';
export { checkJournal, type JournalFinding } from './check.js';
