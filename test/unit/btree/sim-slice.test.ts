/** Goal: a quick slice of the btree simulator runs clean in the unit suite (10 seeded runs). */
import test from 'ava';
import { runCampaign } from '../../sim/campaign.js';

test('btree simulator slice: 10 runs, 0 violations', async (t) => {
  const result = await runCampaign('btree', { runs: 10, seed: 1, progress: false });
  for (const f of result.failures) t.log(`seed ${f.seed}: ${f.violations.slice(0, 5).join('\n')}`);
  t.is(result.violations, 0);
});
