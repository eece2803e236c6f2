/**
 * The benchmark harness behind `npm run bench -- <name>`.
 *
 * A benchmark is bench/<name>.ts default-exporting a Bench. It measures ebofs and its peers
 * in one process run, interleaved round by round (`interleave`), so machine noise hits all
 * systems alike. Each measurement becomes a row { workload, system, metric, unit, median,
 * min, max, runs }; the runner writes bench/results/<name>.json and prints a table.
 *
 * We use our own small harness rather than benchmark.js (unmaintained since 2017, no ESM or
 * types) or tinybench (built for microsecond-scale functions): our workloads are macro runs
 * (concurrent appenders awaiting durability, bytes written to a device) whose metrics are
 * rates and ratios of our own choosing.
 */

export interface BenchRow {
  workload: string;
  system: string;
  metric: string;
  unit: string;
  median: number;
  min: number;
  max: number;
  runs: number;
}

export interface BenchContext {
  /** A scratch directory on the file system under test, removed afterwards. */
  scratchDir: string;
  /** Quick mode (--quick): fewer rounds and smaller sizes, for smoke tests. */
  quick: boolean;
  /** --only <text>: run only the workloads whose name contains it (benches that support it). */
  only?: string;
  /** --rounds <n>: rounds per workload instead of the bench's default (benches that support it). */
  rounds?: number;
  /** --round-ms <ms>: length of each timed round instead of the bench's default (benches that support it). */
  roundMs?: number;
  log: (line: string) => void;
}

export interface Bench {
  describe: string;
  run(ctx: BenchContext): Promise<BenchRow[]>;
}

/** A measured sample: one or more named metrics from one round of one system. */
export type Sample = Record<string, number>;

export interface SystemUnderTest {
  system: string;
  /** Runs one round and returns its metrics (e.g. { 'records/s': 1234 }). */
  round: () => Promise<Sample>;
}

/**
 * Runs `rounds` rounds, each running every system once in turn (rotating who goes first), and
 * summarises each (system, metric) pair into a row.
 */
export async function interleave(
  workload: string,
  systems: SystemUnderTest[],
  rounds: number,
  units: Record<string, string>,
): Promise<BenchRow[]> {
  const samples = new Map<string, number[]>();
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < systems.length; k++) {
      const sut = systems[(r + k) % systems.length]!;
      const sample = await sut.round();
      for (const [metric, value] of Object.entries(sample)) {
        const key = `${sut.system}\u0000${metric}`;
        const list = samples.get(key) ?? [];
        list.push(value);
        samples.set(key, list);
      }
    }
  }
  const rows: BenchRow[] = [];
  for (const [key, values] of samples) {
    const [system, metric] = key.split('\u0000') as [string, string];
    rows.push(summarise(workload, system, metric, units[metric] ?? metric, values));
  }
  return rows;
}

export function summarise(
  workload: string, system: string, metric: string, unit: string, values: number[],
): BenchRow {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return {
    workload, system, metric, unit,
    median, min: sorted[0] ?? NaN, max: sorted[sorted.length - 1] ?? NaN, runs: values.length,
  };
}

/** Milliseconds since an arbitrary origin, high resolution. */
export function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/** Adds a ratio row (system / peer) for every metric both have, e.g. 'ebofs/lmdb'. */
export function ratioRows(rows: BenchRow[], system: string, peer: string): BenchRow[] {
  const out: BenchRow[] = [];
  for (const row of rows) {
    if (row.system !== system) continue;
    const other = rows.find((r) => r.system === peer && r.workload === row.workload && r.metric === row.metric);
    if (other === undefined || other.median === 0) continue;
    const ratio = row.median / other.median;
    out.push({ ...row, system: `${system}/${peer}`, unit: 'ratio', median: ratio, min: ratio, max: ratio });
  }
  return out;
}
