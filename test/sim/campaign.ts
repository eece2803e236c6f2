/**
 * Runs a seeded campaign of a simulation target; shared by the CLI (run.ts) and by the quick
 * slices in the test suite (test/sim.test.ts).
 */
import type { SimTarget } from './target.js';

export interface CampaignFailure {
  seed: number;
  violations: string[];
}

export interface CampaignResult {
  violations: number;
  failures: CampaignFailure[];
}

export async function loadTarget(name: string): Promise<SimTarget> {
  const mod = (await import(`./targets/${name}.ts`)) as { default: SimTarget };
  return mod.default;
}

export interface CampaignOptions {
  runs: number;
  seed: number;
  scale?: number;
  verbose?: boolean;
  progress?: boolean;
}

export async function runCampaign(name: string, options: CampaignOptions): Promise<CampaignResult> {
  return runTargetCampaign(await loadTarget(name), options);
}

/** The campaign loop over an already loaded target (tests hand in their own). */
export async function runTargetCampaign(target: SimTarget, options: CampaignOptions): Promise<CampaignResult> {
  const failures: CampaignFailure[] = [];
  let violations = 0;
  const started = Date.now();
  // A run whose promises can no longer settle leaves the event loop empty: Node would exit
  // (status 13) with no summary line. beforeExit fires first; it ends the run as a violation.
  let onStall: (() => void) | undefined;
  const stallListener = (): void => onStall?.();
  process.on('beforeExit', stallListener);
  for (let i = 0; i < options.runs; i++) {
    const seed = options.seed + i;
    let found: string[];
    const stalled = new Promise<string[]>((resolve) => {
      onStall = () => resolve(['hang: the run stopped with promises that can never settle (event loop empty)']);
    });
    try {
      found = await Promise.race([stalled, target.run({
        seed,
        scale: options.scale ?? 1,
        log: options.verbose ? (line) => console.log(`  [${seed}] ${line}`) : () => {},
      })]);
    } catch (err) {
      found = [`harness threw: ${err instanceof Error ? err.stack ?? err.message : String(err)}`];
    }
    onStall = undefined;
    if (found.length > 0) {
      violations += found.length;
      failures.push({ seed, violations: found });
      if (options.progress !== false) process.stderr.write(`  seed ${seed}: ${found.length} violations\n`);
    }
    if (options.progress !== false && (i + 1) % 50 === 0) {
      const secs = ((Date.now() - started) / 1000).toFixed(1);
      process.stderr.write(`  ${i + 1}/${options.runs} runs, ${violations} violations, ${secs}s\n`);
    }
  }
  process.off('beforeExit', stallListener);
  return { violations, failures };
}
