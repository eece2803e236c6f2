/**
 * bench journal: group commit against a plain write+fdatasync loop, on the same file system.
 *
 * Workload: "4 KiB records": each append carries 4032 payload bytes, so header + payload is
 * exactly one 4 KiB block. N concurrent appenders (1, 16, 64) each loop { append; await
 * durability; trim }. The peer does the same with N concurrent loops of { pwrite 4 KiB;
 * fdatasync } on a plain file — what a program without group commit does. Each round runs
 * every system for a fixed time; rounds interleave systems so machine noise hits all alike.
 * Metrics: records/s, MB/s (payload), flushes per record. Both files are written once with
 * zeros first, so no round pays for the file system allocating blocks (as mkfs does for the
 * engine's journal).
 */
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { FileDevice } from '../engine/device/index.js';
import { Journal } from '../journal/index.js';
import { type Bench, type BenchRow, interleave, nowMs, ratioRows } from './harness.js';

const BS = 4096;
const PAYLOAD_BYTES = BS - 64;
const RING_BYTES = 64 * 1024 * 1024;

async function journalRound(path: string, appenders: number, durationMs: number): Promise<Record<string, number>> {
  const device = await FileDevice.open(path, { create: true, sizeBytes: RING_BYTES + BS });
  const { journal } = await Journal.open(device, { ringOffset: BS, ringBytes: RING_BYTES, journalId: 1n });
  const payload = Buffer.alloc(PAYLOAD_BYTES, 0x5a);
  let records = 0;
  const start = nowMs();
  const deadline = start + durationMs;
  await Promise.all(Array.from({ length: appenders }, async () => {
    while (nowMs() < deadline) {
      const r = await journal.append(payload);
      journal.trim(r.seq);
      records++;
    }
  }));
  const secs = (nowMs() - start) / 1000;
  const stats = journal.stats();
  await journal.close();
  await device.close();
  return { 'records/s': records / secs, 'MB/s': (records * PAYLOAD_BYTES) / secs / 1e6, 'flushes/record': stats.flushCount / records };
}

async function plainRound(path: string, appenders: number, durationMs: number): Promise<Record<string, number>> {
  const file = await open(path, 'r+');
  const block = Buffer.alloc(BS, 0x5a);
  let records = 0;
  let next = 0;
  const start = nowMs();
  const deadline = start + durationMs;
  await Promise.all(Array.from({ length: appenders }, async () => {
    while (nowMs() < deadline) {
      const offset = (next++ % (RING_BYTES / BS)) * BS;
      await file.write(block, 0, BS, offset);
      await file.datasync();
      records++;
    }
  }));
  const secs = (nowMs() - start) / 1000;
  await file.close();
  return { 'records/s': records / secs, 'MB/s': (records * BS) / secs / 1e6, 'flushes/record': 1 };
}

async function preallocate(path: string): Promise<void> {
  const file = await open(path, 'w', 0o600);
  const chunk = Buffer.alloc(4 * 1024 * 1024);
  for (let at = 0; at < RING_BYTES + BS; at += chunk.byteLength) await file.write(chunk, 0, chunk.byteLength, at);
  await file.datasync();
  await file.close();
}

const bench: Bench = {
  describe: '4 KiB records, 1/16/64 concurrent appenders awaiting durability, vs write+fdatasync',
  async run(ctx) {
    const rows: BenchRow[] = [];
    const durationMs = ctx.quick ? 300 : 1500;
    const rounds = ctx.quick ? 1 : 3;
    await preallocate(join(ctx.scratchDir, 'journal.img'));
    await preallocate(join(ctx.scratchDir, 'plain.img'));
    const units = { 'records/s': 'records/s', 'MB/s': 'MB/s', 'flushes/record': 'flushes/record' };
    for (const appenders of [1, 16, 64]) {
      const workload = `append 4KiB x${appenders}`;
      const found = await interleave(workload, [
        { system: 'ebofs-journal', round: () => journalRound(join(ctx.scratchDir, 'journal.img'), appenders, durationMs) },
        { system: 'write+fdatasync', round: () => plainRound(join(ctx.scratchDir, 'plain.img'), appenders, durationMs) },
      ], rounds, units);
      rows.push(...found, ...ratioRows(found, 'ebofs-journal', 'write+fdatasync').filter((r) => r.metric === 'records/s'));
      ctx.log(`${workload}: done`);
    }
    const plainSingle = rows.find((r) => r.system === 'write+fdatasync' && r.workload === 'append 4KiB x1' && r.metric === 'records/s');
    const group64 = rows.find((r) => r.system === 'ebofs-journal' && r.workload === 'append 4KiB x64' && r.metric === 'records/s');
    if (plainSingle !== undefined && group64 !== undefined) {
      const ratio = group64.median / plainSingle.median;
      rows.push({ workload: 'group commit x64 vs plain loop x1', system: 'ebofs-journal/write+fdatasync', metric: 'records/s', unit: 'ratio', median: ratio, min: ratio, max: ratio, runs: 1 });
    }
    return rows;
  },
};
export default bench;
