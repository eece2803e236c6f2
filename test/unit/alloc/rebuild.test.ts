/**
 * Goal: fsck can rebuild the free map from the used extents: the result is the exact
 * complement of their union (shared and repeated extents allowed), in any input order.
 * Method: build an allocator by random allocations and frees, rebuild from what is in use,
 * compare free maps; plus edge cases and argument errors.
 */
import test from 'ava';
import { Random } from '../../../common/random.js';
import { check, createAllocator, rebuildAllocator, type Extent } from '../../../alloc/index.js';

const KiB = 1024;
const options = { capacityBytes: 8192 * KiB, slackBytes: 0, stripeUnitBytes: 8 * KiB, stripeWidth: 4 };

test('rebuild from used extents reproduces the free map', (t) => {
  for (const seed of [1, 2, 3]) {
    t.log(`seed ${seed}`);
    const random = new Random(seed);
    const a = createAllocator(options);
    let live: Extent[] = [];
    for (let i = 0; i < 300; i++) {
      if (live.length > 0 && random.chance(0.4)) {
        const e = live.splice(random.int(live.length), 1)[0]!;
        a.free([e], i + 1);
        a.markDurable(i + 1);
      } else {
        live.push(...a.allocate(4 * KiB * random.range(1, 30)));
      }
    }
    const used = random.shuffle([...live, ...live.slice(0, 10)]);
    const rebuilt = rebuildAllocator(options, used, 300);
    t.deepEqual(rebuilt.image().free, a.image().free);
    t.is(rebuilt.stats().allocatedBytes, a.stats().allocatedBytes);
    t.is(rebuilt.stats().durableGeneration, 300);
    t.deepEqual(check(rebuilt), []);
    live = [];
  }
});

test('overlapping used extents count once', (t) => {
  const rebuilt = rebuildAllocator(options, [
    { offset: 0, length: 64 * KiB }, { offset: 32 * KiB, length: 64 * KiB }, { offset: 8 * KiB, length: 8 * KiB },
  ]);
  t.is(rebuilt.stats().allocatedBytes, 96 * KiB);
  t.deepEqual(rebuilt.image().free, [{ offset: 96 * KiB, length: 8192 * KiB - 96 * KiB }]);
});

test('nothing used and everything used', (t) => {
  t.is(rebuildAllocator(options, []).stats().freeExtentCount, 1);
  const full = rebuildAllocator(options, [{ offset: 0, length: 8192 * KiB }]);
  t.is(full.stats().freeExtentCount, 0);
  t.deepEqual(check(full), []);
});

test('unaligned or out-of-range used extents are EINVAL', (t) => {
  t.throws(() => rebuildAllocator(options, [{ offset: 1, length: 4096 }]), { code: 'EINVAL' });
  t.throws(() => rebuildAllocator(options, [{ offset: 8192 * KiB, length: 4096 }]), { code: 'EINVAL' });
  t.throws(() => rebuildAllocator(options, [{ offset: 0, length: 0 }]), { code: 'EINVAL' });
});
