/**
 * FileDevice: a BlockDevice over a regular file or a raw block device.
 *
 * - A new regular file is created sparse at its size with mode 0600 (store images hold user
 *   data). A raw block device keeps its own size (found by seeking to its end).
 * - The device takes an exclusive non-blocking flock as soon as it is open, before anything is
 *   read or written, so a second process (or a second open in this one) gets EBUSY_LOCKED
 *   ("store is in use") instead of two writers corrupting one store. The lock dies with the
 *   file descriptor, so a crashed process never leaves a stale lock behind.
 * - `flush()` is fdatasync: data and the metadata needed to read it back.
 * - `writeDurable()` is one pwrite on a second descriptor of the same file opened O_DSYNC
 *   (`dsync: false`: a write, then fdatasync): the kernel writes back and waits for that range
 *   only, so the journal's commit is one thread-pool round trip and does not also flush
 *   checkpoint or data pages written through the main descriptor. Both descriptors share the
 *   page cache, so reads see durable writes at once.
 * - Optional O_DIRECT (`direct: true`) bypasses the page cache. O_DIRECT needs buffers aligned
 *   to the device's logical block size, and Node cannot allocate aligned memory, so I/O goes
 *   through bounce buffers whose alignment is found once by probing (see AlignedPool).
 */
import { closeSync, constants, openSync, promises as fsp, readSync, writeSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import fsExt from 'fs-ext';
import { EbofsError } from '../../common/errors.js';
import {
  type BlockDevice, type DeviceStats, DEVICE_BLOCK_SIZE_BYTES, checkDeviceSize, checkRange, emptyStats,
} from './device.js';

export interface FileDeviceOptions {
  /** Create the file if missing (sparse, mode 0600). Requires sizeBytes. */
  create?: boolean;
  /** Device size; for an existing regular file smaller than this, the file is extended. */
  sizeBytes?: number;
  /** Open with O_DIRECT (bypass the page cache). */
  direct?: boolean;
  /**
   * writeDurable through a second descriptor opened O_DSYNC (default true); false: write,
   * then fdatasync of the whole file (the behaviour before O_DSYNC, for comparisons).
   */
  dsync?: boolean;
}

/** Largest single I/O issued to the OS; bigger requests are split. */
const FILE_IO_BYTES_MAX = 8 * 1024 * 1024;

export class FileDevice implements BlockDevice {
  readonly blockSizeBytes = DEVICE_BLOCK_SIZE_BYTES;
  private closed = false;
  private readonly counters: DeviceStats = emptyStats();

  private constructor(
    readonly path: string,
    private readonly handle: FileHandle,
    readonly sizeBytes: number,
    private readonly pool: AlignedPool | undefined,
    /** The O_DSYNC descriptor writeDurable uses (undefined: write + fdatasync). */
    private readonly dsyncHandle: FileHandle | undefined,
  ) {}

  static async open(path: string, options: FileDeviceOptions = {}): Promise<FileDevice> {
    let flags = constants.O_RDWR;
    if (options.create === true) flags |= constants.O_CREAT;
    if (options.direct === true) flags |= constants.O_DIRECT;
    let handle: FileHandle;
    try {
      handle = await fsp.open(path, flags, 0o600);
    } catch (err) {
      throw openError(path, err);
    }
    let dsyncHandle: FileHandle | undefined;
    try {
      lockExclusive(handle.fd, path);
      const sizeBytes = await sizeDevice(handle, path, options);
      const isBlockDevice = (await handle.stat()).isBlockDevice();
      const pool = options.direct === true ? await AlignedPool.create(handle, path, isBlockDevice) : undefined;
      if (options.dsync !== false) {
        // Opened after the lock is held (the lock belongs to the first descriptor's open file).
        const direct = options.direct === true ? constants.O_DIRECT : 0;
        dsyncHandle = await fsp.open(path, constants.O_RDWR | constants.O_DSYNC | direct);
      }
      return new FileDevice(path, handle, sizeBytes, pool, dsyncHandle);
    } catch (err) {
      await dsyncHandle?.close();
      await handle.close();
      throw err;
    }
  }

  async read(offset: number, target: Uint8Array): Promise<void> {
    await this.transferAll('read', offset, target);
    this.counters.readCount++;
    this.counters.readBytes += target.byteLength;
  }

  readSync(offset: number, target: Uint8Array): void {
    this.checkOpen('read');
    checkRange(this, offset, target.byteLength, 'read');
    try {
      const step = this.pool === undefined ? target.byteLength : BOUNCE_BYTES;
      for (let done = 0; done < target.byteLength; done += step) {
        const piece = target.subarray(done, Math.min(target.byteLength, done + step));
        const buf = this.pool === undefined ? piece : this.pool.syncBuffer.subarray(0, piece.byteLength);
        for (let got = 0; got < buf.byteLength;) {
          const n = readSync(this.handle.fd, buf, got, buf.byteLength - got, offset + done + got);
          if (n === 0) { buf.fill(0, got); break; }
          got += n;
        }
        if (buf !== piece) piece.set(buf);
      }
    } catch (err) {
      throw new EbofsError('EIO', `read failed on ${this.path}`, { cause: err, location: `offset ${offset}` });
    }
    this.counters.readCount++;
    this.counters.readBytes += target.byteLength;
  }

  async write(offset: number, source: Uint8Array): Promise<void> {
    await this.transferAll('write', offset, source);
    this.counters.writeCount++;
    this.counters.writeBytes += source.byteLength;
  }

  async writeDurable(offset: number, source: Uint8Array): Promise<void> {
    if (this.dsyncHandle === undefined) {
      await this.write(offset, source);
      return this.flush();
    }
    await this.transferAll('write', offset, source, this.dsyncHandle);
    this.counters.writeCount++;
    this.counters.writeBytes += source.byteLength;
    this.counters.flushCount++;
  }

  /** Checks a request and issues it in pieces of at most FILE_IO_BYTES_MAX. */
  private async transferAll(
    op: 'read' | 'write', offset: number, data: Uint8Array, handle: FileHandle = this.handle,
  ): Promise<void> {
    this.checkOpen(op);
    checkRange(this, offset, data.byteLength, op);
    for (let done = 0; done < data.byteLength;) {
      const chunk = data.subarray(done, Math.min(data.byteLength, done + FILE_IO_BYTES_MAX));
      await this.io(op, offset + done, chunk, handle);
      done += chunk.byteLength;
    }
  }

  async flush(): Promise<void> {
    this.checkOpen('flush');
    try {
      await this.handle.datasync();
    } catch (err) {
      throw new EbofsError('EIO', `fdatasync failed on ${this.path}`, { cause: err });
    }
    this.counters.flushCount++;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.dsyncHandle?.close();
    await this.handle.close(); // releases the flock
  }

  stats(): DeviceStats {
    return { ...this.counters };
  }

  /** One request of at most FILE_IO_BYTES_MAX, through bounce buffers when O_DIRECT. */
  private async io(op: 'read' | 'write', offset: number, data: Uint8Array, handle: FileHandle): Promise<void> {
    try {
      if (this.pool === undefined) return await transfer(handle, op, offset, data);
      for (let done = 0; done < data.byteLength; done += BOUNCE_BYTES) {
        const piece = data.subarray(done, Math.min(data.byteLength, done + BOUNCE_BYTES));
        const bounce = (await this.pool.take()).subarray(0, piece.byteLength);
        try {
          if (op === 'write') bounce.set(piece);
          await transfer(handle, op, offset + done, bounce);
          if (op === 'read') piece.set(bounce);
        } finally {
          this.pool.give(bounce);
        }
      }
    } catch (err) {
      throw new EbofsError('EIO', `${op} failed on ${this.path}`, { cause: err, location: `offset ${offset}` });
    }
  }

  private checkOpen(op: string): void {
    if (this.closed) throw new EbofsError('ECLOSED', `${op} on a closed device ${this.path}`);
  }
}

/** Reads or writes all of `buf` at `offset`, looping over short transfers. */
async function transfer(handle: FileHandle, op: 'read' | 'write', offset: number, buf: Uint8Array): Promise<void> {
  for (let done = 0; done < buf.byteLength;) {
    const n = op === 'read'
      ? (await handle.read(buf, done, buf.byteLength - done, offset + done)).bytesRead
      : (await handle.write(buf, done, buf.byteLength - done, offset + done)).bytesWritten;
    if (n === 0 && op === 'read') {
      buf.fill(0, done); // past the end of a short file: unwritten blocks read as zeros
      return;
    }
    done += n;
  }
}

function lockExclusive(fd: number, path: string): void {
  try {
    fsExt.flockSync(fd, 'exnb');
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'EWOULDBLOCK' || code === 'EAGAIN') {
      throw new EbofsError('EBUSY_LOCKED', `store is in use by another process: ${path}`, { cause: err });
    }
    throw new EbofsError('EIO', `cannot lock ${path}`, { cause: err });
  }
}

async function sizeDevice(handle: FileHandle, path: string, options: FileDeviceOptions): Promise<number> {
  const stat = await handle.stat();
  if (stat.isBlockDevice()) {
    const end = fsExt.seekSync(handle.fd, 0, 2);
    const size = end - (end % DEVICE_BLOCK_SIZE_BYTES);
    if (options.sizeBytes !== undefined && options.sizeBytes > size) {
      throw new EbofsError('ENOSPC', `block device ${path} has ${size} bytes, ${options.sizeBytes} requested`);
    }
    const chosen = options.sizeBytes ?? size;
    checkDeviceSize(chosen);
    return chosen;
  }
  if (!stat.isFile()) throw new EbofsError('EINVAL', `${path} is neither a regular file nor a block device`);
  const wanted = options.sizeBytes ?? stat.size - (stat.size % DEVICE_BLOCK_SIZE_BYTES);
  checkDeviceSize(wanted);
  if (stat.size < wanted) await handle.truncate(wanted); // sparse: no blocks are written
  return wanted;
}

function openError(path: string, err: unknown): EbofsError {
  const code = (err as { code?: string }).code;
  if (code === 'ENOENT') return new EbofsError('ENOENT', `no such store file: ${path}`, { cause: err });
  if (code === 'EINVAL') return new EbofsError('ENOTSUP', `cannot open ${path} (O_DIRECT unsupported?)`, { cause: err });
  return new EbofsError('EIO', `cannot open ${path}`, { cause: err });
}

/** Size of each aligned bounce buffer; direct I/O is issued in pieces of at most this. */
const BOUNCE_BYTES = 1024 * 1024;
/** Bounce buffers per device: how many direct I/Os may be in flight at once. */
const BOUNCE_COUNT = 8;
const ALIGN_PROBE_STEP_BYTES = 8;

/**
 * Bounce buffers aligned for O_DIRECT, carved from one arena. The alignment of a fresh
 * ArrayBuffer is unknown from JavaScript, so it is probed once: an O_DIRECT write of one block
 * from successive offsets of the arena succeeds exactly where the address is aligned. The probe
 * writes to a scratch file beside the store (a regular file's holes would accept misaligned
 * reads), or reads block 0 of a raw block device.
 */
class AlignedPool {
  private readonly free: Buffer[] = [];
  private readonly waiters: ((buf: Buffer) => void)[] = [];

  /** Reserved for synchronous reads, which never overlap one another. */
  readonly syncBuffer: Buffer;

  private constructor(arena: Buffer) {
    for (let i = 0; i < BOUNCE_COUNT; i++) this.free.push(arena.subarray(i * BOUNCE_BYTES, (i + 1) * BOUNCE_BYTES));
    this.syncBuffer = arena.subarray(BOUNCE_COUNT * BOUNCE_BYTES, (BOUNCE_COUNT + 1) * BOUNCE_BYTES);
  }

  static async create(handle: FileHandle, path: string, isBlockDevice: boolean): Promise<AlignedPool> {
    const raw = Buffer.allocUnsafeSlow((BOUNCE_COUNT + 1) * BOUNCE_BYTES + DEVICE_BLOCK_SIZE_BYTES);
    const scratch = isBlockDevice ? undefined : `${path}.direct-probe`;
    const fd = scratch === undefined
      ? handle.fd
      : openSync(scratch, constants.O_RDWR | constants.O_CREAT | constants.O_DIRECT, 0o600);
    try {
      for (let k = 0; k < DEVICE_BLOCK_SIZE_BYTES; k += ALIGN_PROBE_STEP_BYTES) {
        try {
          if (scratch === undefined) readSync(fd, raw, k, DEVICE_BLOCK_SIZE_BYTES, 0);
          else writeSync(fd, raw, k, DEVICE_BLOCK_SIZE_BYTES, 0);
          return new AlignedPool(raw.subarray(k, k + (BOUNCE_COUNT + 1) * BOUNCE_BYTES));
        } catch {
          // misaligned at this offset: try the next one
        }
      }
    } finally {
      if (scratch !== undefined) {
        closeSync(fd);
        await rm(scratch, { force: true });
      }
    }
    throw new EbofsError('ENOTSUP', `no aligned offset found for O_DIRECT buffers on ${path}`);
  }

  async take(): Promise<Buffer> {
    const buf = this.free.pop();
    if (buf !== undefined) return buf;
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  give(buf: Buffer): void {
    const waiter = this.waiters.shift();
    if (waiter !== undefined) waiter(buf);
    else this.free.push(buf);
  }
}
