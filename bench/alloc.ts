/**
 * `npm run bench -- alloc [--quick]`: the ebofs allocator side by side with a naive first-fit
 * allocator (bench/alloc-first-fit.ts), on the same seeded sequences, in the same run.
 *
 * Workloads:
 * - `free-extents-1M`: a device whose free space is 1,000,000 extents (runs of 1..8 units
 *   between used units); timed allocations of 1..8 units, then timed frees of all of them.
 *   ebofs frees go through the real path: free(extents, g) then markDurable(g).
 * - `aging`: a striped device (64 KiB x 4 = 256 KiB stripes) filled to 90% with mixed sizes
 *   (4 KiB .. 2 MiB), then ten passes of churn (free 10% of live allocations at random,
 *   allocate new mixed sizes back to 90%). The op sequence is fixed in advance by the seed, so
 *   both allocators see exactly the same requests. Reports the share of full-stripe request
 *   bytes that landed on aligned whole stripes, the largest free extent and the number of free
 *   extents at the end, ENOSPC count and extents per allocation.
 * - `aging-unstriped`: the same sequence on the same device without striping (the plain
 *   next-fit / best-fit path).
 * Quick mode shrinks both (10,000 free extents; a 256 MiB device).
 */
import { isErrorCode } from '../common/errors.js';
import { Random } from '../common/random.js';
import {
  createAllocator, rebuildAllocator, type Allocator, type Extent,
} from '../alloc/index.js';
import { FirstFitAllocator } from './alloc-first-fit.js';
import { interleave, nowMs, ratioRows, type Bench, type BenchRow, type Sample } from './harness.js';

const UNIT = 4096;
const STRIPE_UNIT = 64 * 1024;
const STRIPE_WIDTH = 4;
const STRIPE = STRIPE_UNIT * STRIPE_WIDTH;
const SEED = 4;

/** The operations both systems offer the benchmark. */
interface Peer {
  allocate(bytes: number): Extent[] | null;
  free(extents: Extent[]): void;
  largestFree(): number;
  freeExtentCount(): number;
}

function ebofsPeer(allocator: Allocator): Peer {
  let generation = allocator.stats().durableGeneration + 1;
  return {
    allocate(bytes) {
      try {
        return allocator.allocate(bytes);
      } catch (err) {
        if (isErrorCode(err, 'ENOSPC')) return null;
        throw err;
      }
    },
    free(extents) {
      allocator.free(extents, generation);
      allocator.markDurable(generation);
      generation++;
    },
    largestFree: () => allocator.stats().largestFreeBytes,
    freeExtentCount: () => allocator.stats().freeExtentCount,
  };
}

function firstFitPeer(capacity: number, freeRuns: Extent[]): Peer {
  const peer = new FirstFitAllocator(UNIT, freeRuns);
  return {
    allocate: (bytes) => peer.allocate(bytes),
    free: (extents) => peer.free(extents),
    largestFree: () => peer.largestFree(),
    freeExtentCount: () => peer.freeExtentCount,
  };
}

/** Free runs of 1..8 units separated by one used unit; returns runs, used list and capacity. */
function fragmentedDevice(freeExtentCount: number): { free: Extent[]; used: Extent[]; capacity: number } {
  const random = new Random(SEED);
  const free: Extent[] = [];
  const used: Extent[] = [];
  let offset = 0;
  for (let i = 0; i < freeExtentCount; i++) {
    const length = random.range(1, 8) * UNIT;
    free.push({ offset, length });
    used.push({ offset: offset + length, length: UNIT });
    offset += length + UNIT;
  }
  return { free, used, capacity: offset };
}

function freeExtentsRound(build: () => Peer, sizes: number[], order: number[]): Sample {
  const peer = build();
  const live: Extent[][] = [];
  let started = nowMs();
  for (const size of sizes) {
    const got = peer.allocate(size);
    if (got === null) throw new Error('allocation failed in a device with ample space');
    live.push(got);
  }
  const allocMs = nowMs() - started;
  started = nowMs();
  for (const index of order) peer.free(live[index]!);
  const freeMs = nowMs() - started;
  return { 'allocs/s': (sizes.length * 1000) / allocMs, 'frees/s': (order.length * 1000) / freeMs };
}

async function benchFreeExtents(quick: boolean, log: (line: string) => void): Promise<BenchRow[]> {
  const count = quick ? 10_000 : 1_000_000;
  const ops = quick ? 2_000 : 10_000;
  const device = fragmentedDevice(count);
  const random = new Random(SEED + 1);
  const sizes = Array.from({ length: ops }, () => random.range(1, 8) * UNIT);
  const order = random.shuffle(Array.from({ length: ops }, (_, i) => i));
  log(`free-extents: ${count} free extents, ${ops} allocations then ${ops} frees`);
  const options = { capacityBytes: device.capacity, slackBytes: 0 };
  return interleave(`free-extents-${quick ? '10k' : '1M'}`, [
    { system: 'ebofs', round: async () => freeExtentsRound(() => ebofsPeer(rebuildAllocator(options, device.used)), sizes, order) },
    { system: 'first-fit', round: async () => freeExtentsRound(() => firstFitPeer(device.capacity, device.free), sizes, order) },
  ], quick ? 1 : 3, { 'allocs/s': 'ops/s', 'frees/s': 'ops/s' });
}

/** One step of the aging sequence: allocate request `id`, or free request `id`. */
type AgingOp = { kind: 'alloc'; id: number; bytes: number } | { kind: 'free'; id: number };

function mixedSize(random: Random): number {
  const roll = random.float();
  if (roll < 0.5) return random.range(1, 64 * 1024);
  if (roll < 0.8) return random.range(64 * 1024, STRIPE);
  return random.range(STRIPE, 2 * 1024 * 1024);
}

/** The fixed aging sequence: fill to 90%, then ten passes of 10% churn. */
function agingSequence(capacity: number): AgingOp[] {
  const random = new Random(SEED + 2);
  const ops: AgingOp[] = [];
  const live = new Map<number, number>();
  let liveBytes = 0;
  let nextId = 0;
  const target = capacity * 0.9;
  const fill = (): void => {
    for (;;) {
      const bytes = Math.ceil(mixedSize(random) / UNIT) * UNIT;
      if (liveBytes + bytes > target) return;
      ops.push({ kind: 'alloc', id: nextId, bytes });
      live.set(nextId++, bytes);
      liveBytes += bytes;
    }
  };
  fill();
  for (let pass = 0; pass < 10; pass++) {
    const ids = random.shuffle([...live.keys()]);
    for (const id of ids.slice(0, Math.floor(ids.length / 10))) {
      ops.push({ kind: 'free', id });
      liveBytes -= live.get(id)!;
      live.delete(id);
    }
    fill();
  }
  return ops;
}

/** Bytes of `extents` that lie in whole, aligned stripes. */
function wholeStripeBytes(extents: Extent[]): number {
  let bytes = 0;
  for (const e of extents) {
    const first = Math.ceil(e.offset / STRIPE) * STRIPE;
    const end = Math.floor((e.offset + e.length) / STRIPE) * STRIPE;
    if (end > first) bytes += end - first;
  }
  return bytes;
}

function agingRound(peer: Peer, ops: AgingOp[], striped: boolean): Sample {
  const live = new Map<number, Extent[]>();
  let stripeBytes = 0;
  let stripeWanted = 0;
  let enospc = 0;
  let extents = 0;
  let allocations = 0;
  const started = nowMs();
  for (const op of ops) {
    if (op.kind === 'free') {
      const got = live.get(op.id);
      if (got !== undefined) peer.free(got);
      live.delete(op.id);
      continue;
    }
    const got = peer.allocate(op.bytes);
    if (got === null) {
      enospc++;
      continue;
    }
    live.set(op.id, got);
    allocations++;
    extents += got.length;
    if (op.bytes >= STRIPE) {
      stripeWanted += Math.floor(op.bytes / STRIPE) * STRIPE;
      stripeBytes += Math.min(wholeStripeBytes(got), Math.floor(op.bytes / STRIPE) * STRIPE);
    }
  }
  const elapsedMs = nowMs() - started;
  const sample: Sample = {
    'largest free': peer.largestFree() / (1024 * 1024),
    'free extents': peer.freeExtentCount(),
    'enospc': enospc,
    'extents/alloc': extents / Math.max(1, allocations),
    'ops/s': (ops.length * 1000) / elapsedMs,
  };
  if (striped) sample['full-stripe share'] = stripeWanted === 0 ? 0 : stripeBytes / stripeWanted;
  return sample;
}

async function benchAging(quick: boolean, striped: boolean, log: (line: string) => void): Promise<BenchRow[]> {
  const capacity = quick ? 256 * 1024 * 1024 : 4 * 1024 * 1024 * 1024;
  const ops = agingSequence(capacity);
  const stripes = striped ? `${STRIPE / 1024} KiB stripes` : 'no striping';
  log(`aging: ${capacity / 2 ** 20} MiB, ${stripes}, ${ops.length} operations`);
  const options = striped
    ? { capacityBytes: capacity, stripeUnitBytes: STRIPE_UNIT, stripeWidth: STRIPE_WIDTH, slackBytes: 0 }
    : { capacityBytes: capacity, slackBytes: 0 };
  return interleave(striped ? 'aging' : 'aging-unstriped', [
    { system: 'ebofs', round: async () => agingRound(ebofsPeer(createAllocator(options)), ops, striped) },
    { system: 'first-fit', round: async () => agingRound(firstFitPeer(capacity, [{ offset: 0, length: capacity }]), ops, striped) },
  ], quick ? 1 : 3, {
    'full-stripe share': 'share', 'largest free': 'MiB', 'free extents': 'count', 'enospc': 'count',
    'extents/alloc': 'count', 'ops/s': 'ops/s',
  });
}

const bench: Bench = {
  describe: 'ebofs allocator vs naive first-fit: 1M free extents; aging runs with and without striping',
  async run(ctx) {
    const rows = [
      ...await benchFreeExtents(ctx.quick, ctx.log),
      ...await benchAging(ctx.quick, true, ctx.log),
      ...await benchAging(ctx.quick, false, ctx.log),
    ];
    return [...rows, ...ratioRows(rows, 'ebofs', 'first-fit')];
  },
};

export default bench;
