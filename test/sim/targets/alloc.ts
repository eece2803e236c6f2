/**
 * Simulation target `alloc`: per seed, a random geometry (unit, capacity, stripe unit and
 * width, slack, extent limit, memory cap forcing the bitmap form in some runs) and a random
 * swarm-weighted sequence of allocate / free / markDurable / reserve / release / encode-decode /
 * rebuild / markUsed, run against the allocator and a slow per-unit reference model.
 * After every operation: check() is clean, the free map equals the model's, accounting adds
 * up, and every success or ENOSPC/EINVAL is the one the model predicts.
 */
import type { SimTarget } from '../target.js';
import { simulate } from '../../unit/alloc/model.js';

const target: SimTarget = {
  describe: 'allocator vs per-unit reference model: random geometry and op sequence per seed',
  async run(ctx) {
    const { violations, placements } = simulate(ctx.seed, ctx.scale);
    ctx.log(`${placements.length} allocations, ${violations.length} violations`);
    return violations;
  },
};

export default target;
