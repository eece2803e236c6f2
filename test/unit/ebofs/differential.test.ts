/**
 * Goal: the on-disk engine behaves exactly like MemStore (the reference) under random
 * transactions with every op: same accept/reject outcome (code, transaction, op), same state
 * (canonical dump) every few rounds and across remounts.
 * Method: conformance/random-txn.ts's differential runner with seeded vectors (EBOFS_SEED), on
 * the default geometry and on two others (data blocks of 64 KiB: partial-block writes, reads
 * and clones inside one data block and one checksum block).
 */
import test from 'ava';
import { MemDevice } from '../../../engine/device/index.js';
import { mkfs, open } from '../../../engine/lifecycle.js';
import { MemStore } from '../../../engine/memstore.js';
import type { EbofsStore } from '../../../engine/store.js';
import type { ObjectStore } from '../../../engine/types-store.js';
import { runDifferential } from '../../conformance/random-txn.js';
import { suiteSeed } from '../../conformance/harness.js';

const VARIANTS = [
  { label: 'roomy journal', journalBytes: 32 << 20, rounds: 250, cloneChance: 0, checkpoint: { intervalMs: 0 } },
  { label: 'tiny journal (constant checkpoints)', journalBytes: 1 << 20, rounds: 150, cloneChance: 0, checkpoint: { intervalMs: 0 } },
  // Shared extents everywhere and lazy reclamation in tiny steps.
  { label: 'clone-heavy, lazy reclamation', journalBytes: 8 << 20, rounds: 150, cloneChance: 0.25,
    checkpoint: { intervalMs: 0, lazyRecordsMin: 2, reclaimStepRecords: 4 } },
  // Non-default geometry (engine/geometry.ts): 64 KiB allocation unit with 16 KiB checksum
  // blocks (4 checksums per data block), and 64 KiB checksum blocks on a 4 KiB unit.
  { label: 'allocUnit 64K, csumBlock 16K, clones', journalBytes: 8 << 20, rounds: 120, cloneChance: 0.2,
    checkpoint: { intervalMs: 0, lazyRecordsMin: 2, reclaimStepRecords: 4 }, geometry: { allocUnitBytes: 64 << 10, csumBlockBytes: 16 << 10 } },
  { label: 'allocUnit 4K, csumBlock 64K', journalBytes: 8 << 20, rounds: 80, cloneChance: 0.1,
    checkpoint: { intervalMs: 0 }, geometry: { allocUnitBytes: 4 << 10, csumBlockBytes: 64 << 10 } },
] as const;

for (const v of VARIANTS) {
  test(`ebofs matches MemStore on random transactions (${v.label})`, async (t) => {
    const seed = suiteSeed();
    const device = new MemDevice(512 * 1024 * 1024);
    await mkfs(device, { journalBytes: v.journalBytes, ...('geometry' in v ? v.geometry : {}) });
    const reopen = async (store: ObjectStore): Promise<ObjectStore> => {
      await store.close();
      return open(device.reopen(), { checkpoint: v.checkpoint });
    };
    const subject = await open(device.reopen(), { checkpoint: v.checkpoint });
    const final = await runDifferential(t, new MemStore(), subject, { seed, rounds: v.rounds, reopen, bigWriteChance: 0.02, cloneChance: v.cloneChance });
    t.deepEqual(await (final as EbofsStore).fsck(), [], `fsck (seed ${seed})`);
    await final.close();
  });
}
