/**
 * Goal: the on-disk engine passes the same ObjectStore conformance suite as MemStore, with a
 * remount (close, reopen from the device) wherever the suite asks for one — on the default
 * geometry and on a 64 KiB allocation unit with 16 KiB checksum blocks (engine/geometry.ts).
 * Method: EbofsStore on a MemDevice; reopen hands the same bytes to a fresh mount.
 */
import { MemDevice } from '../../../engine/device/index.js';
import { mkfs, open, type EbofsOptions } from '../../../engine/lifecycle.js';
import type { EbofsStore } from '../../../engine/store.js';
import type { ObjectStore } from '../../../engine/types-store.js';
import { defineObjectStoreSuite } from '../../conformance/objectstore.js';

type Geometry = Pick<EbofsOptions, 'allocUnitBytes' | 'csumBlockBytes'>;

async function fresh(geometry: Geometry, sizeBytes = 256 * 1024 * 1024): Promise<ObjectStore> {
  const device = new MemDevice(sizeBytes);
  await mkfs(device, { journalBytes: Math.min(64 * 1024 * 1024, sizeBytes / 4), ...geometry });
  return open(device.reopen(), { checkpoint: { intervalMs: 0 } });
}

function suite(name: string, geometry: Geometry): void {
  defineObjectStoreSuite(name, {
    create: () => fresh(geometry),
    reopen: async (store) => {
      const device = (store as EbofsStore).state.device as MemDevice;
      await store.close();
      return open(device.reopen(), { checkpoint: { intervalMs: 0 } });
    },
    createSmall: (capacityBytes) => fresh(geometry, Math.max(capacityBytes, 16 * 1024 * 1024)),
  });
}

suite('ebofs', {});
suite('ebofs 64K/16K', { allocUnitBytes: 64 * 1024, csumBlockBytes: 16 * 1024 });
