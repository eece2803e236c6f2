/**
 * Goal: a sim run that hangs (its promises can never settle, the event loop empties) is a
 * violation naming its seed, and the campaign goes on to the next seed — not a silent exit 13
 * without the summary line (how a real engine hang first showed, seed 140016).
 * Method: test/sim/fixtures/hang-campaign.ts in a child process.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

test('a hanging run is reported as a violation with its seed and the campaign finishes', (t) => {
  const fixture = fileURLToPath(new URL('../sim/fixtures/hang-campaign.ts', import.meta.url));
  const child = spawnSync(process.execPath, ['--import', 'tsx', fixture], { encoding: 'utf8', timeout: 60_000 });
  t.is(child.status, 0, child.stderr);
  const result = JSON.parse(child.stdout.trim().split('\n').pop() ?? '{}') as { violations: number; failures: { seed: number; violations: string[] }[] };
  t.is(result.violations, 1);
  t.is(result.failures[0]?.seed, 2);
  t.regex(result.failures[0]?.violations[0] ?? '', /^hang:/);
});
