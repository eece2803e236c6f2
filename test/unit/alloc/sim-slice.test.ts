/**
 * Goal: a quick slice of the `alloc` simulation campaign runs in the test suite, so a broken
 * allocator fails `npm test` and not only `npm run sim`. Method: 20 seeded runs from seed 1.
 */
import test from 'ava';
import { runCampaign } from '../../sim/campaign.js';

test('sim alloc: 20 runs from seed 1 have no violations', async (t) => {
  const result = await runCampaign('alloc', { runs: 20, seed: 1, progress: false });
  for (const failure of result.failures) t.log(`seed ${failure.seed}: ${failure.violations[0]}`);
  t.is(result.violations, 0);
});
