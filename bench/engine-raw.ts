/**
 * bench/engine-raw.ts: the raw-file peers of `bench engine`, and the shared timing helpers.
 *
 * - write+fdatasync: N concurrent loops of { pwrite 4 KiB; fdatasync } over a preallocated
 *   64 MiB file (overwrite in place: the best a program can do for one durable small write);
 *   with 4 MiB blocks, the best a program can do when every 4 MiB write must be durable.
 * - sequential: 4 MiB pwrites to a fresh file until the round's time is up, then one fdatasync;
 *   MB/s counts the fdatasync (the bandwidth a durable bulk write gets from the file system).
 * - pread: random 4 KiB preads of the preallocated file (page cache), for the read workload.
 */
import { type FileHandle, open, rm } from 'node:fs/promises';
import { nowMs, type Sample } from './harness.js';

export const KIB = 1024;
export const MIB = 1024 * 1024;
const RAW_FILE_BYTES = 64 * MIB;

/** Result of a timed run of concurrent client loops. */
export interface TimedRun {
  ops: number;
  secs: number;
  latenciesMs: number[];
}

/** Runs `clients` loops of `op` until `durationMs` has passed; records each op's latency. */
export async function timedClients(
  clients: number, durationMs: number, op: (client: number, index: number) => Promise<void>,
): Promise<TimedRun> {
  const latenciesMs: number[] = [];
  let ops = 0;
  const start = nowMs();
  const deadline = start + durationMs;
  await Promise.all(Array.from({ length: clients }, async (_, client) => {
    for (let i = 0; nowMs() < deadline; i++) {
      const t0 = nowMs();
      await op(client, i);
      latenciesMs.push(nowMs() - t0);
      ops++;
    }
  }));
  return { ops, secs: (nowMs() - start) / 1000, latenciesMs };
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** ops/s, MB/s (of `bytesPerOp`), p50 and p99 latency of a timed run. */
export function rateSample(run: TimedRun, bytesPerOp: number): Sample {
  return {
    'ops/s': run.ops / run.secs,
    'MB/s': (run.ops * bytesPerOp) / run.secs / 1e6,
    'p50 ms': percentile(run.latenciesMs, 50),
    'p99 ms': percentile(run.latenciesMs, 99),
  };
}

/** The preallocated file the raw small-I/O peers overwrite. */
export async function openRawFile(path: string): Promise<FileHandle> {
  const file = await open(path, 'w+', 0o600);
  const chunk = Buffer.alloc(4 * MIB, 0x5a);
  for (let at = 0; at < RAW_FILE_BYTES; at += chunk.byteLength) await file.write(chunk, 0, chunk.byteLength, at);
  await file.datasync();
  return file;
}

/** N concurrent { pwrite `blockBytes` (default 4 KiB); fdatasync } loops. */
export async function rawWriteSyncRound(
  file: FileHandle, clients: number, durationMs: number, blockBytes = 4 * KIB,
): Promise<Sample> {
  const block = Buffer.alloc(blockBytes, 0xa5);
  let next = 0;
  const run = await timedClients(clients, durationMs, async () => {
    const offset = (next++ % (RAW_FILE_BYTES / block.byteLength)) * block.byteLength;
    await file.write(block, 0, block.byteLength, offset);
    await file.datasync();
  });
  return rateSample(run, block.byteLength);
}

/** 4 MiB pwrites to a fresh file until `durationMs` has passed, then one fdatasync. */
export async function rawSequentialRound(path: string, durationMs: number): Promise<Sample> {
  await rm(path, { force: true });
  const file = await open(path, 'w', 0o600);
  const chunk = Buffer.alloc(4 * MIB, 0x3c);
  let written = 0;
  const start = nowMs();
  try {
    while (nowMs() - start < durationMs) {
      await file.write(chunk, 0, chunk.byteLength, written);
      written += chunk.byteLength;
    }
    await file.datasync();
  } finally {
    await file.close();
  }
  const secs = (nowMs() - start) / 1000;
  await rm(path, { force: true });
  return { 'MB/s': written / secs / 1e6 };
}

/** N concurrent loops of random 4 KiB preads of the preallocated file. */
export async function rawReadRound(file: FileHandle, clients: number, durationMs: number, seed: number): Promise<Sample> {
  let state = seed >>> 0;
  const blocks = RAW_FILE_BYTES / (4 * KIB);
  const run = await timedClients(clients, durationMs, async () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    const target = Buffer.allocUnsafe(4 * KIB);
    await file.read(target, 0, target.byteLength, (state % blocks) * 4 * KIB);
  });
  return rateSample(run, 4 * KIB);
}
