/** Goal: a quick slice of `npm run sim -- journal` runs in the test suite (fixed seeds). */
import test from 'ava';
import { runCampaign } from '../../sim/campaign.js';

test('sim journal: 150 seeded crash/replay runs have no violations', async (t) => {
  const result = await runCampaign('journal', { runs: 150, seed: 1, progress: false });
  for (const f of result.failures) t.log(`seed ${f.seed}: ${f.violations.join(' | ')} (replay: npm run sim -- journal --runs 1 --seed ${f.seed})`);
  t.is(result.violations, 0);
});
