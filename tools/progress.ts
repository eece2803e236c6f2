/**
 * tools/progress.ts: latency bookkeeping and the live progress line of long commands.
 *
 * On a TTY the line is rewritten in place about once a second (`\r` + erase line); on a pipe
 * or file a plain line is printed every few seconds, so logs stay readable. The line always
 * goes to stderr: stdout carries only results (and `--json`).
 */

/** Latencies in milliseconds: all of them, plus the ones since the last `takeWindow()`. */
export class LatencyRecorder {
  private all = new Float64Array(4096);
  private count = 0;
  private window: number[] = [];

  record(latencyMs: number): void {
    if (this.count === this.all.length) {
      const grown = new Float64Array(this.all.length * 2);
      grown.set(this.all);
      this.all = grown;
    }
    this.all[this.count++] = latencyMs;
    this.window.push(latencyMs);
  }

  get recordCount(): number {
    return this.count;
  }

  /** Percentiles (p in [0, 100]) over every recorded latency. */
  percentiles(...ps: number[]): number[] {
    return percentilesOf(this.all.slice(0, this.count), ps);
  }

  /** Percentiles of the latencies since the previous call, then starts a new window. */
  takeWindow(...ps: number[]): number[] {
    const window = Float64Array.from(this.window);
    this.window = [];
    return percentilesOf(window, ps);
  }
}

/** Nearest-rank percentiles of `values` (sorted in place); NaN when empty. */
export function percentilesOf(values: Float64Array, ps: readonly number[]): number[] {
  values.sort();
  return ps.map((p) => {
    if (values.length === 0) return Number.NaN;
    const rank = Math.min(values.length - 1, Math.max(0, Math.ceil((p / 100) * values.length) - 1));
    return values[rank]!;
  });
}

/** Formats milliseconds: `0.42 ms`, `12.3 ms`, `-` for NaN. */
export function formatMs(ms: number): string {
  if (Number.isNaN(ms)) return '-';
  return ms < 10 ? `${ms.toFixed(2)} ms` : `${ms.toFixed(1)} ms`;
}

/** Where progress goes: a writable stream's `write` and whether it is a terminal. */
export interface ProgressSink {
  write(text: string): void;
  readonly isTTY: boolean;
}

/** Period of the progress line: ~1 s on a terminal, every 5 s in logs. */
export const PROGRESS_TTY_INTERVAL_MS = 1000;
export const PROGRESS_LOG_INTERVAL_MS = 5000;

/**
 * Calls `line()` periodically and shows the result on `sink`. `stop()` ends the ticks and,
 * on a terminal, erases the line so the summary starts on a clean row.
 */
export class ProgressLine {
  private timer: NodeJS.Timeout | undefined;
  private shown = false;

  constructor(private readonly sink: ProgressSink, private readonly line: () => string) {}

  start(): void {
    const interval = this.sink.isTTY ? PROGRESS_TTY_INTERVAL_MS : PROGRESS_LOG_INTERVAL_MS;
    this.timer = setInterval(() => this.show(), interval);
    this.timer.unref();
  }

  private show(): void {
    const text = this.line();
    if (this.sink.isTTY) {
      this.sink.write(`\r\x1b[K${text}`);
      this.shown = true;
    } else {
      this.sink.write(`${text}\n`);
    }
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    if (this.shown) this.sink.write('\r\x1b[K');
    this.shown = false;
  }
}
