/**
 * `npm run bench -- <name> [--quick] [--only <text>] [--rounds <n>] [--round-ms <ms>]`: runs
 * bench/<name>.ts, prints a table and writes bench/results/<name>.json = { name, date, node,
 * rows }. `--only`, `--rounds` and `--round-ms` are honoured by benches that read them (engine).
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Bench, BenchRow } from './harness.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const names = readdirSync(here)
  .filter((f) => f.endsWith('.ts') && !['harness.ts', 'run.ts'].includes(f))
  .map((f) => f.slice(0, -3));

const [name, ...flags] = process.argv.slice(2);
if (name === undefined || !names.includes(name)) {
  console.error(`usage: npm run bench -- <name> [--quick] [--only <workload text>] [--rounds <n>] [--round-ms <ms>]\nbenchmarks: ${names.sort().join(', ')}`);
  process.exit(2);
}
const quick = flags.includes('--quick');
const flagValue = (name: string): string | undefined => {
  const i = flags.indexOf(name);
  return i >= 0 ? flags[i + 1] : undefined;
};
const only = flagValue('--only');
const roundsFlag = flagValue('--rounds');
const roundMsFlag = flagValue('--round-ms');
for (const [flag, value] of [['--rounds', roundsFlag], ['--round-ms', roundMsFlag]] as const) {
  if (value !== undefined && !(Number.isSafeInteger(Number(value)) && Number(value) > 0)) {
    console.error(`${flag} needs a positive integer, got ${value}`);
    process.exit(2);
  }
}
const bench = ((await import(`./${name}.ts`)) as { default: Bench }).default;
const scratchDir = mkdtempSync(join(process.env['EBOFS_BENCH_DIR'] ?? here, '.scratch-'));
console.log(`bench ${name}: ${bench.describe}${quick ? ' (quick)' : ''}`);
let rows: BenchRow[];
try {
  rows = await bench.run({
    scratchDir, quick, log: (line) => console.log(`  ${line}`),
    ...(only === undefined ? {} : { only }), ...(roundsFlag === undefined ? {} : { rounds: Number(roundsFlag) }),
    ...(roundMsFlag === undefined ? {} : { roundMs: Number(roundMsFlag) }),
  });
} finally {
  rmSync(scratchDir, { recursive: true, force: true });
}
printTable(rows);
mkdirSync(join(here, 'results'), { recursive: true });
const file = join(here, 'results', `${name}.json`);
const result = { name, date: new Date().toISOString(), node: process.version, rows };
writeFileSync(file, JSON.stringify(result, null, 2) + '\n');
console.log(`wrote ${file}`);

function printTable(list: BenchRow[]): void {
  const head = ['workload', 'system', 'metric', 'median', 'min', 'max', 'unit', 'runs'];
  const cells = list.map((r) => [r.workload, r.system, r.metric, fmt(r.median), fmt(r.min), fmt(r.max), r.unit, String(r.runs)]);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]): string => c.map((v, i) => v.padEnd(widths[i]!)).join('  ');
  console.log(line(head));
  for (const c of cells) console.log(line(c));
}

function fmt(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (Math.abs(v) >= 1000) return v.toFixed(0);
  if (Math.abs(v) >= 10) return v.toFixed(1);
  return v.toFixed(3);
}
