/**
 * The block-device interface every ebofs store sits on, and its shared argument checks.
 *
 * A device is an array of `sizeBytes` bytes addressed in whole blocks of `blockSizeBytes`
 * (4096). Reads and writes are positional and block-aligned (offset and length multiples of
 * the block size). A write is volatile until a later `flush()` resolves: only then is it
 * guaranteed to survive a power cut (fdatasync). `writeDurable` is a write plus a flush of its
 * own range only (O_DSYNC), for the journal's commits. Writes that overlap and are not separated by
 * a flush may reach the medium in any order, torn at 512-byte sector granularity; FaultDevice
 * simulates exactly that, so code above must not rely on anything stronger.
 *
 * journal/ and btree/ declare the narrower interfaces they need; a BlockDevice satisfies them.
 */
import { EbofsError } from '../../common/errors.js';

/** Block size of every ebofs device. */
export const DEVICE_BLOCK_SIZE_BYTES = 4096;
/** Sector size: the unit a power cut can tear a write into. */
export const DEVICE_SECTOR_SIZE_BYTES = 512;
/** Largest device ebofs addresses (offsets stay safe integers with room to spare). */
export const DEVICE_SIZE_BYTES_MAX = 2 ** 50;

/** Counters a device keeps so benchmarks can report device bytes per user byte. */
export interface DeviceStats {
  readCount: number;
  readBytes: number;
  writeCount: number;
  writeBytes: number;
  flushCount: number;
}

export interface BlockDevice {
  readonly sizeBytes: number;
  readonly blockSizeBytes: number;
  /** Fills `target` with the bytes at `offset`. Never-written blocks read as zeros. */
  read(offset: number, target: Uint8Array): Promise<void>;
  /**
   * The same, synchronously: metadata pages are read on a cache miss inside synchronous btree
   * searches (as an mmap'd B+tree would fault a page in). Data reads use `read`.
   */
  readSync(offset: number, target: Uint8Array): void;
  /** Writes `source` at `offset`; volatile until the next flush resolves. */
  write(offset: number, source: Uint8Array): Promise<void>;
  /** Makes every write that completed before this call durable. */
  flush(): Promise<void>;
  /**
   * Writes `source` at `offset` and makes exactly that range durable before resolving: a write
   * followed by a flush of that range only (FileDevice: one pwrite on an O_DSYNC descriptor).
   * Other pending writes stay volatile — a caller that needs them durable too uses write +
   * flush. A crash while it is in flight may keep any part of it, like any unflushed write;
   * once it resolves, the range holds `source` (or a later write) after any crash.
   */
  writeDurable(offset: number, source: Uint8Array): Promise<void>;
  /** Releases the device (and its lock). Further calls fail with ECLOSED. */
  close(): Promise<void>;
  stats(): DeviceStats;
}

export function emptyStats(): DeviceStats {
  return { readCount: 0, readBytes: 0, writeCount: 0, writeBytes: 0, flushCount: 0 };
}

/** Validates a device I/O range; throws EINVAL for misaligned or out-of-range requests. */
export function checkRange(device: BlockDevice, offset: number, length: number, op: string): void {
  const bs = device.blockSizeBytes;
  if (!Number.isSafeInteger(offset) || offset < 0 || offset % bs !== 0) {
    throw new EbofsError('EINVAL', `${op}: offset ${offset} is not a multiple of ${bs}`);
  }
  if (length % bs !== 0) {
    throw new EbofsError('EINVAL', `${op}: length ${length} is not a multiple of ${bs}`);
  }
  if (offset + length > device.sizeBytes) {
    throw new EbofsError('EINVAL', `${op}: range ${offset}+${length} is past the device end ${device.sizeBytes}`);
  }
}

/** Validates a size for a new device. */
export function checkDeviceSize(sizeBytes: number): void {
  if (!Number.isSafeInteger(sizeBytes) || sizeBytes <= 0 || sizeBytes % DEVICE_BLOCK_SIZE_BYTES !== 0) {
    throw new EbofsError('EINVAL', `device size ${sizeBytes} must be a positive multiple of ${DEVICE_BLOCK_SIZE_BYTES}`);
  }
  if (sizeBytes > DEVICE_SIZE_BYTES_MAX) {
    throw new EbofsError('E2BIG', `device size ${sizeBytes} exceeds ${DEVICE_SIZE_BYTES_MAX}`);
  }
}
