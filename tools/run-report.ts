/**
 * tools/run-report.ts: the progress line and the end-of-run summary of `ebofs run`.
 */
import type { EbofsStore, FsckFinding } from '../engine/index.js';
import { formatRate, formatSize } from './format-size.js';
import { formatMs } from './progress.js';
import type { WorkloadRecord } from './workload.js';
import type { VerifyResult } from './verify.js';

/** Builds the live progress text: totals so far and the last window's rates and latencies. */
export function progressText(record: WorkloadRecord, startedMs: number): () => string {
  let lastMs = startedMs;
  let lastOps = 0;
  return () => {
    const now = performance.now();
    const ops = record.ops - lastOps;
    const seconds = (now - lastMs) / 1000;
    const [p50, p99] = record.latency.takeWindow(50, 99);
    lastMs = now;
    lastOps = record.ops;
    const rate = seconds > 0 ? ops / seconds : 0;
    return `run ${((now - startedMs) / 1000).toFixed(0).padStart(3)}s  ops ${String(record.ops).padStart(7)}  ` +
      `${formatRate(rate * (record.ops > 0 ? record.dataBytes / record.ops : 0), 1).padStart(11)}  ` +
      `${rate.toFixed(0).padStart(6)} ops/s  p50 ${formatMs(p50!)}  p99 ${formatMs(p99!)}`;
  };
}

/** The device's I/O counters (BlockDevice.stats(); the type is not exported by the engine). */
export type DeviceStats = ReturnType<EbofsStore['state']['device']['stats']>;

/** Everything the summary reports. */
export interface RunSummary {
  readonly record: WorkloadRecord;
  readonly seconds: number;
  /** Device counters from the start of the workload through the clean close. */
  readonly device: DeviceStats | undefined;
  readonly closeSeconds: number;
  readonly findings: readonly FsckFinding[];
  readonly fsckSeconds: number;
  readonly verify: VerifyResult;
}

/** Device bytes written per byte of object data the clients wrote. */
export function writeAmplification(summary: RunSummary): number | undefined {
  if (summary.device === undefined || summary.record.dataBytes === 0) return undefined;
  return summary.device.writeBytes / summary.record.dataBytes;
}

export function formatSummary(s: RunSummary): string {
  const r = s.record;
  const [p50, p99, pmax] = r.latency.percentiles(50, 99, 100);
  const amp = writeAmplification(s);
  const lines = [
    `ops          ${r.ops} in ${s.seconds.toFixed(1)} s: ${(r.ops / s.seconds).toFixed(0)} ops/s, ${r.trims} log trims`,
    `throughput   ${formatRate(r.dataBytes, s.seconds)} of object data ` +
      `(${formatSize(r.dataBytes)}; plus ${formatSize(r.metaBytes)} of xattrs and omap)`,
    `latency      p50 ${formatMs(p50!)}  p99 ${formatMs(p99!)}  max ${formatMs(pmax!)} (queue to durable)`,
  ];
  if (s.device !== undefined) {
    const d = s.device;
    lines.push(`device       ${formatSize(d.writeBytes)} written in ${d.writeCount} writes, ${d.flushCount} flushes; ` +
      `${amp === undefined ? '-' : amp.toFixed(2)} device bytes per user byte (through close)`);
  }
  lines.push(`close        clean in ${s.closeSeconds.toFixed(2)} s`);
  const fsck = s.findings.length === 0 ? 'clean' : `${s.findings.length} finding(s)`;
  lines.push(`fsck         ${fsck} after reopen (reopen and fsck ${s.fsckSeconds.toFixed(2)} s)`);
  const v = s.verify;
  const verdict = v.problems.length === 0 ? 'ok' : `${v.problems.length} problem(s)`;
  lines.push(`verify       ${verdict}: ${v.objectsChecked} objects read back, ${v.pgsChecked} pg logs checked ` +
    `(${v.seconds.toFixed(2)} s)`);
  return `${lines.join('\n')}\n`;
}

/** The summary as plain data (`ebofs run --json`); latencies in ms, sizes in bytes. */
export function summaryJson(s: RunSummary): Record<string, unknown> {
  const r = s.record;
  const [p50, p99, pmax] = r.latency.percentiles(50, 99, 100);
  return {
    ops: r.ops, seconds: s.seconds, opsPerSecond: r.ops / s.seconds, dataBytes: r.dataBytes, metaBytes: r.metaBytes,
    dataBytesPerSecond: r.dataBytes / s.seconds, trims: r.trims,
    latencyMs: { p50: p50 ?? null, p99: p99 ?? null, max: pmax ?? null },
    device: s.device ?? null, deviceBytesPerUserByte: writeAmplification(s) ?? null,
    closeSeconds: s.closeSeconds, fsckSeconds: s.fsckSeconds, findings: s.findings,
    failure: r.failure === undefined ? null : r.failure instanceof Error ? r.failure.message : String(r.failure),
    verify: s.verify,
  };
}
