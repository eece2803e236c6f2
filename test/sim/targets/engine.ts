/**
 * sim engine: crash-recovery campaigns for the on-disk ObjectStore.
 *
 * One run, all from its seed: a small store (small journal, so checkpoints happen all the
 * time) on a FaultDevice, several incarnations. Each incarnation mounts (recovery), checks the
 * recovered state, then queues random transaction vectors (every op, writes from 0 bytes to
 * a few MiB, large writes that go to the device before their journal record), often without
 * awaiting them (group commit), with checkpoints in between — until a power cut at a random
 * device operation: during data writes, journal writes, checkpoints or superblock writes.
 *
 * The check: the engine applies vectors in queue order, so the recovered state must equal
 * MemStore fed some prefix of the accepted vectors that includes every acknowledged one —
 * every committed transaction present, nothing of an uncommitted one visible beyond that
 * prefix. The model tries the prefixes from the acknowledged count upward.
 *
 * Geometry (engine/geometry.ts): about one run in three formats with a non-default allocation
 * unit and checksum block (picked from GEOMETRIES by a second generator seeded from the run's
 * seed, so the main sequence — and every default-geometry run — is unchanged).
 */
import { FaultDevice, MemDevice } from '../../../engine/device/index.js';
import { mkfs, open } from '../../../engine/lifecycle.js';
import { MemStore } from '../../../engine/memstore.js';
import type { EbofsStore } from '../../../engine/store.js';
import type { Transaction } from '../../../engine/transaction.js';
import { dumpStoreState } from '../../../engine/types-store.js';
import { Random } from '../../../common/random.js';
import { randomTransaction, worldSetup } from '../../conformance/random-txn.js';
import type { CheckpointPolicy } from '../../../engine/checkpoint.js';
import type { SimRunContext, SimTarget } from '../target.js';

/** Non-default geometries the campaign picks from: [allocation unit, checksum block]. */
const GEOMETRIES: readonly (readonly [number, number])[] = [
  [64 * 1024, 16 * 1024], [4096, 64 * 1024], [16 * 1024, 4096], [64 * 1024, 64 * 1024], [32 * 1024, 8192],
];

/** The geometry of a run: the default on two runs in three. */
function geometryFor(seed: number): { allocUnitBytes?: number; csumBlockBytes?: number } {
  const rng = new Random((seed ^ 0x5eed6e0) >>> 0);
  if (!rng.chance(1 / 3)) return {};
  const [allocUnitBytes, csumBlockBytes] = rng.pick(GEOMETRIES);
  return { allocUnitBytes, csumBlockBytes };
}

interface Queued {
  ts: Transaction[];
  acked: boolean;
}

class Run {
  readonly rng: Random;
  readonly checkpoint: Partial<CheckpointPolicy>;
  readonly cloneChance: number;
  readonly latency: number;
  medium: MemDevice;
  /** The reference: MemStore fed exactly the vectors known to be in the store. */
  model = new MemStore();
  /** Accepted vectors since the model's state, in queue order. */
  pending: Queued[] = [];
  violations: string[] = [];

  constructor(readonly ctx: SimRunContext) {
    this.rng = new Random(ctx.seed);
    this.medium = new MemDevice(this.rng.pick([12, 48, 96]) * 1024 * 1024);
    // Lazy reclamation in small steps on some runs, so crashes land in the middle of it.
    this.checkpoint = { intervalMs: 0, reclaimStepRecords: this.rng.pick([2, 64, 4096]), lazyRecordsMin: this.rng.pick([1, 4, 32]) };
    this.cloneChance = this.rng.pick([0, 0.1, 0.3]);
    // Slow device I/O on some runs: transactions then apply while checkpoints write.
    this.latency = this.rng.pick([0, 0, 3]);
  }

  async start(): Promise<void> {
    // Some runs scrub freed space: a zeroing that hit a live block would show as a mismatch.
    const geometry = geometryFor(this.ctx.seed);
    if (geometry.allocUnitBytes !== undefined) this.ctx.log(`geometry ${geometry.allocUnitBytes}/${geometry.csumBlockBytes}`);
    await mkfs(this.medium, { journalBytes: this.rng.pick([1, 2, 4]) * 1024 * 1024, scrubFreed: this.rng.chance(0.3), ...geometry });
    this.medium = this.medium.reopen();
    const device = new FaultDevice(this.medium, { seed: this.rng.u32(), latency: this.latency });
    const store = await open(device, { checkpoint: this.checkpoint, journalNonce: BigInt(this.rng.u32()) });
    await store.queueTransaction(worldSetup());
    await this.model.queueTransaction(worldSetup());
    await store.close();
  }

  async incarnation(index: number): Promise<boolean> {
    const device = new FaultDevice(this.medium, { seed: this.rng.u32(), latency: this.latency });
    let store: EbofsStore;
    try {
      store = await open(device, { checkpoint: this.checkpoint, journalNonce: BigInt(this.rng.u32()) + BigInt(index) * 2n ** 32n });
    } catch (err) {
      this.violations.push(`incarnation ${index}: mount failed: ${String(err)}`);
      return false;
    }
    if (!(await this.matchPrefix(store, index))) return false;
    const findings = await store.fsck().catch((err: unknown) => [{ code: 'EFSCK', location: '-', message: String(err) }]);
    if (findings.length > 0) {
      this.violations.push(`incarnation ${index}: fsck: ${findings.slice(0, 3).map((f) => `${f.code} ${f.location} ${f.message}`).join('; ')}`);
      return false;
    }
    device.crashAfterOps(this.rng.range(5, 400 * this.ctx.scale));
    await this.workload(store, device);
    device.crash();
    return true;
  }

  private async workload(store: EbofsStore, device: FaultDevice): Promise<void> {
    const inFlight: Promise<void>[] = [];
    for (let i = 0; i < 400 && !device.isCrashed; i++) {
      const ts = Array.from({ length: this.rng.chance(0.2) ? 2 : 1 }, () => randomTransaction(this.rng, {
        writeBytesMax: this.rng.pick([512, 8192, 100_000]), bigWriteChance: 0.02, offsetMax: 1 << 20, cloneChance: this.cloneChance,
      }));
      const entry: Queued = { ts, acked: false };
      const p = store.queueTransactions(ts, { onApplied: () => this.pending.push(entry) })
        .then(() => { entry.acked = true; }, () => undefined);
      inFlight.push(p);
      if (this.rng.chance(0.5)) await p;
      if (this.rng.chance(0.03)) await store.checkpoint().catch(() => undefined);
    }
    await Promise.allSettled(inFlight);
  }

  /** Finds the prefix of pending vectors whose MemStore state equals the recovered store. */
  private async matchPrefix(store: EbofsStore, index: number): Promise<boolean> {
    const got = await dumpStoreState(store);
    let acked = 0;
    this.pending.forEach((q, i) => { if (q.acked) acked = i + 1; });
    for (let i = 0; i < acked; i++) await this.feed(this.pending[i]!);
    const atAcked = await dumpStoreState(this.model);
    for (let k = acked; ; k++) {
      if (await dumpStoreState(this.model) === got) {
        this.ctx.log(`incarnation ${index}: recovered ${k} of ${this.pending.length} vectors (${acked} acked)`);
        this.pending = [];
        return true;
      }
      if (k >= this.pending.length) break;
      await this.feed(this.pending[k]!);
    }
    this.violations.push(`incarnation ${index}: recovered state matches no prefix between ${acked} (acked) and ` +
      `${this.pending.length} vectors; first difference from the acked prefix: ${firstDifference(got, atAcked)}`);
    return false;
  }

  private async feed(q: Queued): Promise<void> {
    if (q.ts.length === 0) return;
    await this.model.queueTransactions(q.ts).catch((err: unknown) => {
      this.violations.push(`model rejected a vector the engine accepted: ${String(err)}`);
    });
  }
}

function firstDifference(got: string, want: string): string {
  const a = got.split('\n');
  const b = want.split('\n');
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (a[i] !== b[i]) return `line ${i}: recovered ${JSON.stringify(a[i]?.slice(0, 200))} vs model ${JSON.stringify(b[i]?.slice(0, 200))}`;
  }
  return 'none';
}

const target: SimTarget = {
  describe: 'engine: random transactions, crashes through FaultDevice, recovery checked against MemStore prefixes',
  async run(ctx: SimRunContext) {
    const run = new Run(ctx);
    await run.start();
    const incarnations = run.rng.range(2, 4);
    for (let i = 0; i < incarnations && run.violations.length === 0; i++) {
      if (!(await run.incarnation(i))) break;
    }
    if (run.violations.length === 0) {
      const store = await open(new FaultDevice(run.medium, { seed: 1 }), { checkpoint: run.checkpoint });
      await (async () => {
        const ok = await (run as unknown as { matchPrefix(s: EbofsStore, i: number): Promise<boolean> }).matchPrefix(store, incarnations);
        if (ok) await store.close();
      })();
    }
    return run.violations;
  },
};
export default target;
