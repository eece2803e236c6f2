/**
 * `npm run sim -- <target> [--runs N] [--seed S] [--scale K] [--verbose]`
 *
 * Runs N seeded runs of a simulation target (test/sim/targets/<target>.ts). Run i uses seed
 * S + i, so a failing run replays with `--runs 1 --seed <its seed>`. The last line is exactly
 * `sim <target>: <N> runs, <V> violations`; the exit status is 0 only when V is 0.
 */
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { freshSeed } from '../../common/random.js';
import { runCampaign } from './campaign.js';

function parseArgs(argv: string[]): { target: string; runs: number; seed: number; scale: number; verbose: boolean } {
  const [target, ...rest] = argv;
  const out = { target: target ?? '', runs: 100, seed: freshSeed(), scale: 1, verbose: false };
  for (let i = 0; i < rest.length; i++) {
    const flag = rest[i];
    const value = rest[i + 1];
    if (flag === '--verbose') { out.verbose = true; continue; }
    if (value === undefined || !/^\d+$/.test(value)) usage(`${flag} needs a non-negative integer`);
    if (flag === '--runs') out.runs = Number(value);
    else if (flag === '--seed') out.seed = Number(value);
    else if (flag === '--scale') out.scale = Number(value);
    else usage(`unknown flag ${flag}`);
    i++;
  }
  if (out.target === '' || out.target.startsWith('-')) usage('missing target');
  return out;
}

function targets(): string[] {
  const dir = fileURLToPath(new URL('./targets/', import.meta.url));
  return readdirSync(dir).filter((f) => f.endsWith('.ts')).map((f) => f.slice(0, -3)).sort();
}

function usage(problem: string): never {
  console.error(`sim: ${problem}`);
  console.error('usage: npm run sim -- <target> [--runs N] [--seed S] [--scale K] [--verbose]');
  console.error(`targets: ${targets().join(', ')}`);
  process.exit(2);
}

const args = parseArgs(process.argv.slice(2));
if (!targets().includes(args.target)) usage(`unknown target ${args.target}`);
console.log(`sim ${args.target}: seeds ${args.seed}..${args.seed + args.runs - 1}`);
const result = await runCampaign(args.target, args);
for (const failure of result.failures.slice(0, 20)) {
  console.log(`FAIL seed ${failure.seed}: ${failure.violations.slice(0, 5).join(' | ')}`);
  console.log(`  replay: npm run sim -- ${args.target} --runs 1 --seed ${failure.seed}`);
}
console.log(`sim ${args.target}: ${args.runs} runs, ${result.violations} violations`);
process.exitCode = result.violations === 0 ? 0 : 1;
