/**
 * sim journal: crash-and-replay campaigns for the write-ahead journal.
 *
 * One run, all from its seed: a small ring (so it wraps many times) and several incarnations.
 * Each incarnation opens the journal on a FaultDevice, replays, and checks the replay against
 * the model; then it issues bursts of concurrent appends (0 bytes to several records each),
 * trims at random and whenever the journal is full (as a checkpointing owner would), until a
 * power cut at a random device operation (torn, reordered, dropped unflushed writes).
 *
 * The model: `history` = every event appended since the persisted cursor, in call order, and
 * how many of them were acknowledged (their append resolved). A correct replay returns a
 * prefix of history that contains every acknowledged event, byte-identical — so nothing acked
 * is lost, nothing never appended appears, and fragmented events come back whole or not at all.
 */
import { FaultDevice, MemDevice } from '../../../engine/device/index.js';
import { Journal, type JournalCursor, type JournalOptions } from '../../../journal/index.js';
import { Random } from '../../../common/random.js';
import type { SimRunContext, SimTarget } from '../target.js';

const BS = 4096;

interface ModelEvent {
  payload: Buffer;
  /** Set when the append resolved. */
  ack?: { seq: number; next: JournalCursor };
}

class Run {
  readonly rng: Random;
  readonly medium: MemDevice;
  readonly options: Omit<JournalOptions, 'nonce'>;
  cursor: JournalCursor;
  history: ModelEvent[] = [];
  violations: string[] = [];
  /** Appends not yet settled (the last incarnation waits for them before a clean close). */
  outstanding: Promise<void>[] = [];

  constructor(readonly ctx: SimRunContext) {
    this.rng = new Random(ctx.seed);
    const ringBlocks = this.rng.range(16, 96);
    const recordBlocks = this.rng.pick([1, 2, 4].filter((b) => b * 4 <= ringBlocks));
    this.medium = new MemDevice((ringBlocks + 4) * BS);
    this.options = {
      ringOffset: 2 * BS, ringBytes: ringBlocks * BS, journalId: BigInt(this.rng.u32()), recordBytesMax: recordBlocks * BS,
    };
    this.cursor = Journal.initialCursor(this.options);
  }

  async incarnation(index: number, last: boolean): Promise<void> {
    this.outstanding = [];
    const device = new FaultDevice(this.medium, { seed: this.rng.u32() });
    const opened = await Journal.open(device, { ...this.options, nonce: BigInt(this.rng.u32()) * 2n ** 32n + BigInt(index), onFull: () => setImmediate(() => this.trimDurable(journal)) }, this.cursor);
    const journal = opened.journal;
    this.checkReplay(index, opened.events.map((e) => e.payload));
    this.history = opened.events.map((e) => ({ payload: e.payload, ack: { seq: e.seq, next: e.next } }));
    this.ctx.log(`incarnation ${index}: replayed ${opened.events.length} (${opened.endReason})`);
    if (!last) device.crashAfterOps(this.rng.range(1, (this.rng.chance(0.5) ? 12 : 120) * this.ctx.scale));
    await this.workload(journal, device, last ? 30 : 10_000);
    if (last) {
      await Promise.all(this.outstanding); // full-journal waits end through onFull trims
      await journal.close();
    }
    else device.crash();
  }

  private async workload(journal: Journal, device: FaultDevice, bursts: number): Promise<void> {
    for (let b = 0; b < bursts && !device.isCrashed; b++) {
      if (this.rng.chance(0.2)) this.trimRandom(journal);
      const count = this.rng.range(1, 16);
      const pending: Promise<void>[] = [];
      for (let i = 0; i < count; i++) pending.push(this.appendOne(journal));
      this.outstanding.push(...pending);
      if (this.rng.chance(0.7)) await Promise.all(pending);
      else await new Promise<void>((resolve) => setImmediate(resolve));
    }
    await new Promise<void>((resolve) => setImmediate(resolve));
  }

  private appendOne(journal: Journal): Promise<void> {
    const size = this.pickSize(journal.eventBytesMax);
    const event: ModelEvent = { payload: this.rng.bytes(size) };
    this.history.push(event);
    return journal.append(event.payload).then(
      (ack) => { event.ack = ack; },
      (err: unknown) => {
        const code = (err as { code?: string }).code;
        if (code !== 'EIO' && code !== 'ECLOSED') this.violations.push(`append failed unexpectedly: ${String(err)}`);
      },
    );
  }

  private pickSize(max: number): number {
    const roll = this.rng.float();
    if (roll < 0.1) return 0;
    if (roll < 0.6) return this.rng.range(1, 200);
    if (roll < 0.9) return this.rng.range(1, 3 * BS);
    return this.rng.range(1, Math.min(max, (this.options.recordBytesMax ?? BS) * 3));
  }

  /** Trims a random acknowledged event: the owner persists its cursor, then trims. */
  private trimRandom(journal: Journal): void {
    const acked = this.history.filter((e) => e.ack !== undefined);
    if (acked.length === 0) return;
    this.trimThrough(journal, this.rng.pick(acked));
  }

  private trimDurable(journal: Journal): void {
    const acked = this.history.filter((e) => e.ack !== undefined);
    const lastAcked = acked[acked.length - 1];
    if (lastAcked !== undefined) this.trimThrough(journal, lastAcked);
  }

  private trimThrough(journal: Journal, event: ModelEvent): void {
    const index = this.history.indexOf(event);
    if (index < 0 || event.ack === undefined) return;
    try {
      journal.trim(event.ack.seq);
    } catch (err) {
      this.violations.push(`trim of an acknowledged event failed: ${String(err)}`);
      return;
    }
    this.cursor = event.ack.next;
    this.history = this.history.slice(index + 1);
  }

  private checkReplay(index: number, replayed: Buffer[]): void {
    const ackedCount = this.history.filter((e) => e.ack !== undefined).length;
    const where = `incarnation ${index}`;
    if (replayed.length < ackedCount) {
      this.violations.push(`${where}: replay returned ${replayed.length} events but ${ackedCount} were acknowledged`);
    }
    if (replayed.length > this.history.length) {
      this.violations.push(`${where}: replay returned ${replayed.length} events but only ${this.history.length} were appended`);
    }
    const n = Math.min(replayed.length, this.history.length);
    for (let i = 0; i < n; i++) {
      if (!replayed[i]!.equals(this.history[i]!.payload)) {
        this.violations.push(`${where}: event ${i} differs (${replayed[i]!.byteLength} bytes vs ${this.history[i]!.payload.byteLength} appended)`);
        break;
      }
    }
  }
}

const target: SimTarget = {
  describe: 'journal: concurrent appends, trims, crashes through FaultDevice, replay checked against the model',
  async run(ctx) {
    const run = new Run(ctx);
    const incarnations = run.rng.range(3, 8);
    for (let i = 0; i < incarnations; i++) {
      await run.incarnation(i, i === incarnations - 1);
      if (run.violations.length > 0) break;
    }
    if (run.violations.length === 0) {
      const device = new FaultDevice(run.medium, { seed: 0 });
      const final = await Journal.open(device, { ...run.options, nonce: 1n }, run.cursor);
      const acked = run.history.filter((e) => e.ack !== undefined).length;
      if (final.events.length !== run.history.length || acked !== run.history.length) {
        run.violations.push(`after a clean close replay returned ${final.events.length} of ${run.history.length} events (${final.endReason}; cursor ${run.cursor.offset}/${run.cursor.seq})`);
      }
    }
    return run.violations;
  },
};
export default target;
