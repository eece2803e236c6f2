/**
 * Goal: the on-disk engine passes the same ObjectStore conformance suite as MemStore, with a
 * remount (close, reopen from the device) wherever the suite asks for one.
 * Method: EbofsStore on a MemDevice; reopen hands the same bytes to a fresh mount.
 */
import { MemDevice } from '../../../engine/device/index.js';
import { mkfs, open } from '../../../engine/lifecycle.js';
import type { EbofsStore } from '../../../engine/store.js';
import type { ObjectStore } from '../../../engine/types-store.js';
import { defineObjectStoreSuite } from '../../conformance/objectstore.js';

async function fresh(sizeBytes = 256 * 1024 * 1024): Promise<ObjectStore> {
  const device = new MemDevice(sizeBytes);
  await mkfs(device, { journalBytes: Math.min(64 * 1024 * 1024, sizeBytes / 4) });
  return open(device.reopen(), { checkpoint: { intervalMs: 0 } });
}

defineObjectStoreSuite('ebofs', {
  create: () => fresh(),
  reopen: async (store) => {
    const device = (store as EbofsStore).state.device as MemDevice;
    await store.close();
    return open(device.reopen(), { checkpoint: { intervalMs: 0 } });
  },
  createSmall: (capacityBytes) => fresh(Math.max(capacityBytes, 16 * 1024 * 1024)),
});
