/**
 * tools/cmd-run.ts: `ebofs run` — the main job (`npm start`). Creates the store file if
 * missing (mkfs) or opens it, runs the OSD-shaped workload of workload.ts for `--seconds`,
 * shows progress, closes cleanly, reopens, runs fsck and verifies what was written last.
 * Exit 0 only when every write committed, fsck is clean and verification found nothing.
 * Ctrl-C ends the workload early and still closes, checks and reports.
 */
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { EbofsError, type EbofsStore, mkfs } from '../engine/index.js';
import { type Command, type ParsedArgs, flagOption, numberOption, sizeOption, stringOption } from './command.js';
import { EXIT_FAILURE, EXIT_OK, type Io, UsageError, openStore, pathExists } from './io.js';
import { formatSize } from './format-size.js';
import { ProgressLine } from './progress.js';
import { PG_COUNT_MAX, pgLayouts } from './pg.js';
import {
  Deadline, type WorkloadOptions, type WorkloadRecord, newRecord, preparePgs, runWorkload, workObjects,
} from './workload.js';
import { verifyRun } from './verify.js';
import { runFsck, formatFindings } from './cmd-fsck.js';
import { type DeviceStats, type RunSummary, formatSummary, progressText, summaryJson } from './run-report.js';

const USAGE = `usage: ebofs run [options]

The main job ('npm start'): creates the store file if it is missing (or opens it), runs an
OSD-shaped write workload — each client write is one transaction with the object data, an
object-info xattr and pg-log omap entries on its PG's meta object, with periodic log trims —
then closes the store cleanly, reopens it, runs fsck and reads back what was written last.

options:
  --store <path>         store file (default: .ebofs-data/store.img)
  --size <size>          size of a new store file (default: 1G)
  --seconds <n>          how long the clients write (default: 10)
  --clients <n>          concurrent clients, each awaiting durability (default: 16)
  --pgs <n>              placement groups (collections) in pool 1 (default: 8)
  --object-size <size>   bytes per object write, e.g. 4K, 64K, 4M (default: 4K)
  --seed <n>             seed of the workload's random choices (default: from the clock)
  --json                 print the summary as one JSON object (progress stays on stderr)
  -h, --help             show this help

Exit status 0 when every write committed, fsck is clean and the read-back matches.
`;

/** Largest object write (a single transaction must fit the journal and TRANSACTION_BYTES_MAX). */
const OBJECT_SIZE_BYTES_MAX = 16 * 1024 * 1024;
/** The working set: at most this many objects, using at most this share of the free space. */
const OBJECT_COUNT_MAX = 4096;
const OBJECT_SPACE_SHARE = 0.25;

interface RunArgs {
  readonly path: string;
  readonly sizeBytes: number;
  readonly seconds: number;
  readonly clients: number;
  readonly pgCount: number;
  readonly objectSizeBytes: number;
  readonly seed: number;
  /** Print the summary as one JSON object; the header lines go to stderr. */
  readonly json: boolean;
}

function runArgs(args: ParsedArgs): RunArgs {
  const objectSizeBytes = sizeOption(args, 'object-size', USAGE) ?? 4096;
  if (objectSizeBytes > OBJECT_SIZE_BYTES_MAX) {
    throw new UsageError(`--object-size: at most ${formatSize(OBJECT_SIZE_BYTES_MAX)}`, USAGE);
  }
  return {
    path: stringOption(args, 'store', '.ebofs-data/store.img'),
    sizeBytes: sizeOption(args, 'size', USAGE) ?? 1024 ** 3,
    seconds: numberOption(args, 'seconds', 10, { min: 0.1, max: 86_400, integer: false }, USAGE),
    clients: numberOption(args, 'clients', 16, { min: 1, max: 1024 }, USAGE),
    pgCount: numberOption(args, 'pgs', 8, { min: 1, max: PG_COUNT_MAX }, USAGE),
    objectSizeBytes,
    seed: numberOption(args, 'seed', Date.now() % 2 ** 32, { min: 0, max: 2 ** 32 - 1 }, USAGE),
    json: flagOption(args, 'json'),
  };
}

/** The lines before the summary: stdout, or stderr with --json (stdout holds only the JSON). */
function header(a: RunArgs, io: Io, text: string): void {
  if (a.json) io.err(text);
  else io.out(text);
}

/** Opens the store, creating it first when the file does not exist. */
async function createOrOpen(a: RunArgs, io: Io): Promise<EbofsStore> {
  if (await pathExists(a.path)) {
    header(a, io, `store        ${a.path} (existing)\n`);
  } else {
    await mkdir(dirname(a.path), { recursive: true });
    await mkfs(a.path, { sizeBytes: a.sizeBytes });
    header(a, io, `store        ${a.path} (created, ${formatSize(a.sizeBytes)})\n`);
  }
  try {
    return await openStore(a.path);
  } catch (err) {
    // The default store outlives code changes; say how to start over when it cannot mount.
    if (!(err instanceof EbofsError) || !['EFORMAT', 'ECORRUPT', 'ECHECKSUM'].includes(err.code)) throw err;
    const hint = `; 'ebofs run' keeps its store between runs: delete ${a.path} to start over with a new one`;
    throw new EbofsError(err.code, `${err.message.replace(/^[A-Z0-9_]+: /, '')}${hint}`, { cause: err });
  }
}

/** Workload options sized to the store: the object set takes at most a quarter of the free space. */
async function workloadOptions(store: EbofsStore, a: RunArgs): Promise<WorkloadOptions> {
  const { available } = await store.statfs();
  const fit = Math.floor((available * OBJECT_SPACE_SHARE) / a.objectSizeBytes);
  const objectCount = Math.min(OBJECT_COUNT_MAX, fit);
  if (objectCount < 1) {
    const what = `--object-size ${formatSize(a.objectSizeBytes)} does not fit in ${formatSize(available)} free`;
    throw new UsageError(what, USAGE);
  }
  return {
    seconds: a.seconds, clients: a.clients, pool: 1, pgs: pgLayouts(1, a.pgCount), objectSizeBytes: a.objectSizeBytes,
    objectCount, seed: a.seed, logKeep: 128, trimEvery: 32,
  };
}

/** Ctrl-C ends the run early (the store is still closed and checked); a second one exits. */
function onInterrupt(deadline: Deadline, io: Io): () => void {
  let count = 0;
  const handler = (): void => {
    count++;
    if (count > 1) process.exit(130);
    io.err('\ninterrupted: stopping the clients, then close and fsck (Ctrl-C again to abort)\n');
    deadline.stop();
  };
  process.on('SIGINT', handler);
  return () => { process.off('SIGINT', handler); };
}

export const runCommand: Command = {
  name: 'run',
  summary: "the main job ('npm start'): OSD-shaped workload, clean close, reopen, fsck",
  usage: USAGE,
  positionalNames: [],
  options: {
    store: { type: 'string' }, size: { type: 'string' }, seconds: { type: 'string' }, clients: { type: 'string' },
    pgs: { type: 'string' }, 'object-size': { type: 'string' }, seed: { type: 'string' }, json: { type: 'boolean' },
  },
  async run(args, io) {
    const a = runArgs(args);
    const store = await createOrOpen(a, io);
    let options: WorkloadOptions;
    try {
      options = await workloadOptions(store, a);
    } catch (err) {
      await store.close();
      throw err;
    }
    header(a, io, `workload     ${a.seconds} s, ${a.clients} clients, ${a.pgCount} PGs in pool 1, ` +
      `${formatSize(a.objectSizeBytes)} writes over ${options.objectCount} objects, ` +
      `pg log keep ${options.logKeep} trim every ${options.trimEvery}; seed ${a.seed}\n`);
    return runAndCheck(store, a, options, io);
  },
};

/** Runs the workload on the open store; closes the store and rethrows if setup fails. */
async function runPhase(
  store: EbofsStore, a: RunArgs, options: WorkloadOptions, io: Io,
): Promise<{ record: WorkloadRecord; seconds: number }> {
  try {
    const objects = workObjects(options.pool, a.pgCount, options.objectCount);
    const record = newRecord(options, objects, await preparePgs(store, options.pgs));
    const started = performance.now();
    const deadline = new Deadline(a.seconds);
    const sink = { write: (t: string) => io.err(t), isTTY: io.errIsTTY };
    const progress = new ProgressLine(sink, progressText(record, started));
    const release = onInterrupt(deadline, io);
    progress.start();
    try {
      await runWorkload(store, options, record, deadline);
    } finally {
      progress.stop();
      release();
    }
    return { record, seconds: (performance.now() - started) / 1000 };
  } catch (err) {
    await store.close().catch(() => undefined);
    throw err;
  }
}

function statsDelta(before: DeviceStats, after: DeviceStats): DeviceStats {
  return {
    readCount: after.readCount - before.readCount, readBytes: after.readBytes - before.readBytes,
    writeCount: after.writeCount - before.writeCount, writeBytes: after.writeBytes - before.writeBytes,
    flushCount: after.flushCount - before.flushCount,
  };
}

/** Reopens the store, runs fsck and reads back what the run wrote last. */
async function checkPhase(
  a: RunArgs, record: WorkloadRecord, io: Io,
): Promise<Pick<RunSummary, 'findings' | 'fsckSeconds' | 'verify'>> {
  const started = performance.now();
  const store = await openStore(a.path);
  try {
    const findings = await runFsck(store, false, io);
    const fsckSeconds = (performance.now() - started) / 1000;
    return { findings, fsckSeconds, verify: await verifyRun(store, record, a.objectSizeBytes) };
  } finally {
    await store.close();
  }
}

async function runAndCheck(store: EbofsStore, a: RunArgs, options: WorkloadOptions, io: Io): Promise<number> {
  const device = store.state.device;
  const before = device.stats();
  const { record, seconds } = await runPhase(store, a, options, io);
  const closeStarted = performance.now();
  await store.close();
  const closeSeconds = (performance.now() - closeStarted) / 1000;
  const deviceDelta = statsDelta(before, device.stats());
  const checked = await checkPhase(a, record, io);
  const summary: RunSummary = { record, seconds, device: deviceDelta, closeSeconds, ...checked };
  const ok = record.failure === undefined && checked.findings.length === 0 && checked.verify.problems.length === 0;
  if (record.failure !== undefined) {
    const f = record.failure;
    io.err(`ebofs run: a write failed and stopped the run: ${f instanceof Error ? f.message : String(f)}\n`);
  }
  if (a.json) {
    io.out(`${JSON.stringify({ ...summaryJson(summary), store: a.path, seed: a.seed, ok }, null, 2)}\n`);
    return ok ? EXIT_OK : EXIT_FAILURE;
  }
  io.out(formatSummary(summary));
  io.out(formatFindings(checked.findings));
  for (const problem of checked.verify.problems.slice(0, 20)) io.out(`verify: ${problem}\n`);
  io.out(`result       ${ok ? 'ok' : 'FAILED'}\n`);
  return ok ? EXIT_OK : EXIT_FAILURE;
}
