/**
 * engine/lifecycle.ts: mkfs, open (mount + journal replay) for the on-disk engine.
 *
 * Mount: pick the newest valid superblock; load the allocator from its blob and declare its
 * generation durable; open the trees; replay the journal after the superblock's cursor — first
 * marking every large-write extent the events reference as used (they were allocated after the
 * checkpoint), then applying each event's transactions through the same code as live ones;
 * then checkpoint, so recovery is idempotent and the journal starts empty.
 */
import { randomBytes } from 'node:crypto';
import { CorruptionError, EbofsError } from '../common/errors.js';
import { checksum32 } from '../common/checksum.js';
import { alignDown } from '../common/ints.js';
import { createAllocator, decodeAllocator } from '../alloc/index.js';
import { Journal } from '../journal/index.js';
import { type BlockDevice, FileDevice, DEVICE_BLOCK_SIZE_BYTES } from './device/index.js';
import { EngineState } from './state.js';
import { EbofsStore } from './store.js';
import { TransactionError } from './transaction.js';
import { CHECKPOINT_POLICY_DEFAULT, type CheckpointPolicy } from './checkpoint.js';
import { subtractExtents, zeroExtents } from './scrub.js';
import { zeroCounters } from './space-accounting.js';
import { countSpace } from './fsck-refs.js';
import { readBlob, layoutBlob } from './free-map-blob.js';
import { type Superblock, SUPERBLOCK_FLAG_FREE_MAP_TABLE, SUPERBLOCK_FLAG_SCRUB_FREED, SUPERBLOCK_OFFSETS, chooseSuperblock, encodeSuperblock } from './superblock.js';
import { type DecodedRecord, decodeRecord } from './record.js';
import { BLOCK_BYTES } from './txn-context.js';
import { type DataGeometry, chooseGeometry, geometryOf } from './geometry.js';

/** Default store size for a new store file. */
export const STORE_SIZE_DEFAULT_BYTES = 1024 * 1024 * 1024;
/** Default metadata page cache. */
export const CACHE_BYTES_DEFAULT = 64 * 1024 * 1024;
/** Default journal ring: 1/16 of the device, between 1 MiB and 256 MiB. */
export const JOURNAL_BYTES_MIN = 1024 * 1024;
export const JOURNAL_BYTES_MAX = 256 * 1024 * 1024;

export interface EbofsOptions {
  /** mkfs: device size (default: the device's size, or 1 GiB for a new file). */
  sizeBytes?: number;
  /**
   * mkfs: allocation unit (bluestore_min_alloc_size): a power of two, 4 KiB..1 MiB, default
   * 4 KiB (engine/geometry.ts). Kept in the superblock; ignored by open.
   */
  allocUnitBytes?: number;
  /** Stripe unit bytes and width (data disks) for stripe-aware allocation. */
  stripeUnitBytes?: number;
  stripeWidth?: number;
  /**
   * mkfs: checksum block (bluestore_csum_block_size): a power of two, 4 KiB..1 MiB, default
   * 4 KiB, at most 64 per allocation unit. Kept in the superblock; ignored by open.
   */
  csumBlockBytes?: number;
  /** mkfs: journal ring size. */
  journalBytes?: number;
  /** Metadata page cache (default 64 MiB); pages past it are re-read from the device. */
  cacheBytes?: number;
  /** Open the file with O_DIRECT. */
  direct?: boolean;
  /** When checkpoints run. */
  checkpoint?: Partial<CheckpointPolicy>;
  /** mkfs: zero freed space before it is reused (kept in the superblock; engine/scrub.ts). */
  scrubFreed?: boolean;
  /** Journal nonce for this open (tests pass one from their seed; default random). */
  journalNonce?: bigint;
}

/** mkfs: the data geometry asked for, checked with the stripe unit; EINVAL before any write. */
function checkGeometry(options: EbofsOptions): DataGeometry {
  const geometry = chooseGeometry(options);
  const stripeUnit = options.stripeUnitBytes;
  if (stripeUnit !== undefined && geometry.blockBytes > BLOCK_BYTES && stripeUnit % geometry.blockBytes !== 0) {
    throw new EbofsError('EINVAL', `stripe unit ${stripeUnit} is not a multiple of the ${geometry.blockBytes}-byte data block`);
  }
  return geometry;
}

async function deviceFor(target: string | BlockDevice, options: EbofsOptions, create: boolean): Promise<BlockDevice> {
  if (typeof target !== 'string') return target;
  const size = create ? options.sizeBytes ?? STORE_SIZE_DEFAULT_BYTES : undefined;
  return FileDevice.open(target, { create, ...(size === undefined ? {} : { sizeBytes: size }), direct: options.direct ?? false });
}

/** Creates an empty store on `target` (a path or a device). The device is closed afterwards. */
export async function mkfs(target: string | BlockDevice, options: EbofsOptions = {}): Promise<void> {
  const geometry = checkGeometry(options);
  const device = await deviceFor(target, options, true);
  try {
    const size = alignDown(options.sizeBytes ?? device.sizeBytes, BLOCK_BYTES);
    if (size > device.sizeBytes) throw new EbofsError('EINVAL', `size ${size} exceeds the device's ${device.sizeBytes}`);
    const journalBytes = options.journalBytes ??
      alignDown(Math.min(JOURNAL_BYTES_MAX, Math.max(JOURNAL_BYTES_MIN, size / 16)), BLOCK_BYTES);
    const journalOffset = 2 * BLOCK_BYTES;
    if (journalBytes % BLOCK_BYTES !== 0 || journalOffset + journalBytes + 64 * BLOCK_BYTES > size) {
      throw new EbofsError('EINVAL', `journal of ${journalBytes} bytes does not fit a ${size}-byte device`);
    }
    const allocator = createAllocator({
      capacityBytes: size, unitBytes: BLOCK_BYTES,
      ...(options.stripeUnitBytes === undefined ? {} : { stripeUnitBytes: options.stripeUnitBytes }),
      ...(options.stripeWidth === undefined ? {} : { stripeWidth: options.stripeWidth }),
    });
    allocator.markUsed([{ offset: 0, length: journalOffset + journalBytes }]);
    const bytes = allocator.encode();
    const [blob] = allocator.allocate(bytes.byteLength * 2 + BLOCK_BYTES, { contiguous: true, privileged: true });
    if (blob === undefined) throw new EbofsError('ENOSPC', 'no room for the free map');
    const encoded = allocator.encode();
    await device.write(blob.offset, layoutBlob([blob], encoded)[0]!);
    if (device instanceof FileDevice) await zeroJournal(device, journalOffset, journalBytes);
    const sb: Superblock = {
      generation: 1, flags: SUPERBLOCK_FLAG_FREE_MAP_TABLE | (options.scrubFreed === true ? SUPERBLOCK_FLAG_SCRUB_FREED : 0),
      fsid: randomBytes(16), deviceBytes: size, blockBytes: BLOCK_BYTES, allocUnitBytes: geometry.allocUnitBytes,
      stripeUnitBytes: options.stripeUnitBytes ?? BLOCK_BYTES, stripeWidth: options.stripeWidth ?? 1,
      csumBlockBytes: geometry.csumBlockBytes, journalOffset, journalBytes, journalId: randomBytes(8).readBigUInt64LE(0),
      replayOffset: journalOffset, replaySeq: 1, floor: 0, nextNid: 1, freeMapOffset: blob.offset,
      freeMapBytes: encoded.byteLength, freeMapAllocBytes: blob.length, trees: [], counters: zeroCounters(),
      replayLink: 0n, // a fresh journal's first record links to 0
    };
    await device.write(SUPERBLOCK_OFFSETS[0], encodeSuperblock({ ...sb, generation: 0 }));
    await device.write(SUPERBLOCK_OFFSETS[1], encodeSuperblock(sb));
    await device.flush();
  } finally {
    await device.close();
  }
}

/**
 * Whether the large-write data an event references reached the device. Data and record share
 * one flush, so after a crash the record can survive without its data; such an event was never
 * acknowledged, and replay ends before it (journal acceptEvent).
 */
async function largeWritesDurable(device: BlockDevice, payload: Buffer, seq: number, geometry: DataGeometry): Promise<boolean> {
  const record = decodeRecord(payload, `journal event ${seq}`);
  const C = geometry.csumBlockBytes;
  for (const placement of record.placements.values()) {
    let c = 0;
    for (const extent of placement.extents) {
      const bytes = Buffer.alloc(extent.length);
      await device.read(extent.offset, bytes);
      for (let at = 0; at < bytes.byteLength; at += C, c++) {
        if (checksum32(bytes.subarray(at, at + C)) !== placement.csums[c]) return false;
      }
    }
    if (c !== placement.csums.length) return false;
  }
  return true;
}

/**
 * Applies the replayed records in order. An event followed by a cancel record was rejected
 * when it was queued (engine/record.ts): skipped. The last event may fail to apply: it was
 * rejected but its cancel did not survive the crash, and the caller never heard back; skipped
 * too. Any other failure (and corruption met on the way, even in the last event) fails the
 * mount.
 */
function replayRecords(store: EbofsStore, records: readonly DecodedRecord[]): void {
  for (const [i, record] of records.entries()) {
    if (record.cancelsPrevious || records[i + 1]?.cancelsPrevious === true) continue;
    let ctx;
    try {
      ctx = store.applyVector(record.transactions, record.placements);
    } catch (err) {
      if (i === records.length - 1 && isRejection(err)) continue;
      throw err;
    }
    store.state.commit(ctx);
  }
}

/** Whether an error is the rejection of a transaction, not damage met while applying it. */
function isRejection(err: unknown): boolean {
  if (!(err instanceof TransactionError) || err.cause instanceof CorruptionError) return false;
  return !['ECHECKSUM', 'ECORRUPT', 'EIO'].includes(err.code);
}

/** Writes the journal ring once, so a file-backed store never grows blocks under the journal. */
async function zeroJournal(device: BlockDevice, offset: number, bytes: number): Promise<void> {
  const chunk = Buffer.alloc(Math.min(bytes, 4 * 1024 * 1024));
  for (let done = 0; done < bytes; done += chunk.byteLength) {
    await device.write(offset + done, chunk.subarray(0, Math.min(chunk.byteLength, bytes - done)));
  }
}

/** Mounts the store on `target`: picks the newest superblock, replays the journal. */
export async function open(target: string | BlockDevice, options: EbofsOptions = {}): Promise<EbofsStore> {
  const device = await deviceFor(target, options, false);
  try {
    return await mount(device, options);
  } catch (err) {
    await device.close();
    throw err;
  }
}

async function mount(device: BlockDevice, options: EbofsOptions): Promise<EbofsStore> {
  if (device.sizeBytes < 2 * BLOCK_BYTES) throw new EbofsError('EFORMAT', `not an ebofs store (${device.sizeBytes} bytes)`);
  const copies = [];
  for (const offset of SUPERBLOCK_OFFSETS) {
    const bytes = Buffer.alloc(BLOCK_BYTES);
    await device.read(offset, bytes);
    copies.push({ offset, bytes });
  }
  const { chosen: sb } = chooseSuperblock(copies);
  const geometry = geometryOf(sb, 'superblock');
  if (sb.deviceBytes > device.sizeBytes || sb.blockBytes !== DEVICE_BLOCK_SIZE_BYTES) {
    throw new EbofsError('EINVAL', `store of ${sb.deviceBytes} bytes does not fit this ${device.sizeBytes}-byte device`);
  }
  const blob = await readBlob(device, sb);
  const allocator = decodeAllocator(blob.map);
  const scrubFreed = (sb.flags & SUPERBLOCK_FLAG_SCRUB_FREED) !== 0;
  // A power cut may have come between the last checkpoint and the zeroing of what it freed:
  // zero it again below — except what journaled large writes took after that checkpoint.
  const unscrubbed = scrubFreed ? allocator.pendingFrees(sb.generation) : [];
  allocator.markDurable(sb.generation);
  const state = new EngineState(device, allocator, sb.trees.length > 0 ? sb.trees : undefined,
    { nextNid: sb.nextNid, floor: sb.floor, generation: sb.generation, cacheBytes: options.cacheBytes ?? CACHE_BYTES_DEFAULT, geometry });
  const policy = { ...CHECKPOINT_POLICY_DEFAULT, ...options.checkpoint };
  state.counters = sb.counters === undefined ? countSpace(state) : { ...sb.counters };
  state.lazyRecordsMin = policy.lazyRecordsMin;
  state.scrubFreed = scrubFreed;
  let store: EbofsStore | undefined;
  const { journal, events } = await Journal.open(device, {
    ringOffset: sb.journalOffset, ringBytes: sb.journalBytes, journalId: sb.journalId,
    ...(options.journalNonce === undefined ? {} : { nonce: options.journalNonce }),
    beforeBatch: () => store?.flushDataWrites() ?? Promise.resolve(),
    acceptEvent: (payload, seq) => largeWritesDurable(device, payload, seq, geometry),
    onFull: () => store?.checkpointer.request('journal full'),
  }, { offset: sb.replayOffset, seq: sb.replaySeq, ...(sb.replayLink === undefined ? {} : { link: sb.replayLink }) });
  store = new EbofsStore(state, journal, sb, policy);
  store.checkpointer.adoptFreeMapExtents(blob.extents);
  const records = events.map((e) => decodeRecord(e.payload, `journal event ${e.seq}`));
  const placed = records.flatMap((record) => [...record.placements.values()].flatMap((p) => p.extents));
  allocator.markUsed(placed);
  if (unscrubbed.length > 0) await zeroExtents(device, subtractExtents(unscrubbed, placed));
  replayRecords(store, records);
  if (records.length > 0) {
    store.checkpointer.noteAppend(Promise.resolve());
    await store.checkpoint();
  }
  return store;
}
