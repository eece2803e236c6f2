/**
 * engine/device: the devices a store sits on.
 * - BlockDevice: the interface (whole-block positional I/O, flush, close, stats).
 * - FileDevice: a regular file or raw block device, exclusively locked, optional O_DIRECT.
 * - MemDevice: in memory, for tests.
 * - FaultDevice: power cuts (torn, reordered, dropped unflushed writes), EIO and bit flips,
 *   deterministic from a seed; the base of every crash test.
 */
export {
  type BlockDevice, type DeviceStats, DEVICE_BLOCK_SIZE_BYTES, DEVICE_SECTOR_SIZE_BYTES, DEVICE_SIZE_BYTES_MAX,
} from './device.js';
export { FileDevice, type FileDeviceOptions } from './file-device.js';
export { MemDevice } from './mem-device.js';
export { FaultDevice, type FaultOptions, type CrashMode, type CrashReport, type FaultOp } from './fault-device.js';
