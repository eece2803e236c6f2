/**
 * Goal: the public allocator API keeps its documented promises, one behaviour per test
 * (rounding, typed ENOSPC, slack, reservations, deferred frees, double frees, stripes, next-fit,
 * hints, contiguity, extent limit, markUsed, option validation). Method: black-box calls on
 * small devices, with check() run after each test.
 */
import test from 'ava';
import {
  check, createAllocator, type Allocator, type AllocatorOptions, type Extent,
} from '../../../alloc/index.js';

const KiB = 1024;
const MiB = 1024 * KiB;

function make(options: Partial<AllocatorOptions> = {}): Allocator {
  return createAllocator({ capacityBytes: 16 * MiB, slackBytes: 0, ...options });
}

function total(extents: Extent[]): number {
  return extents.reduce((sum, e) => sum + e.length, 0);
}

function clean(t: { deepEqual: (a: unknown, b: unknown) => void }, a: Allocator): void {
  t.deepEqual(check(a), []);
  const s = a.stats();
  t.deepEqual(s.freeBytes + s.allocatedBytes + s.reservedBytes + s.deferredBytes, s.capacityBytes);
}

test('requests round up to the allocation unit; consecutive requests are sequential', (t) => {
  const a = make();
  t.deepEqual(a.allocate(1), [{ offset: 0, length: 4 * KiB }]);
  t.deepEqual(a.allocate(5000), [{ offset: 4 * KiB, length: 8 * KiB }]);
  t.deepEqual(a.allocate(4 * KiB), [{ offset: 12 * KiB, length: 4 * KiB }]);
  t.is(a.stats().allocatedBytes, 16 * KiB);
  clean(t, a);
});

test('ENOSPC is typed and leaves state unchanged', (t) => {
  const a = make({ capacityBytes: 64 * KiB });
  a.allocate(60 * KiB);
  const before = a.encode();
  t.throws(() => a.allocate(8 * KiB), { code: 'ENOSPC' });
  t.deepEqual(a.encode(), before);
  t.is(a.stats().counters.enospc, 1);
  clean(t, a);
});

test('bad arguments are EINVAL or E2BIG', (t) => {
  const a = make();
  t.throws(() => a.allocate(0), { code: 'EINVAL' });
  t.throws(() => a.allocate(-1), { code: 'EINVAL' });
  t.throws(() => a.allocate(1.5), { code: 'EINVAL' });
  t.throws(() => a.allocate(2 ** 40), { code: 'E2BIG' });
  t.throws(() => a.allocate(4096, { hint: 32 * MiB }), { code: 'EINVAL' });
  t.throws(() => a.free([{ offset: 100, length: 4096 }], 1), { code: 'EINVAL' });
  t.throws(() => a.free([{ offset: 16 * MiB, length: 4096 }], 1), { code: 'EINVAL' });
  t.throws(() => createAllocator({ capacityBytes: 1 * MiB, unitBytes: 3000 }), { code: 'EINVAL' });
  t.throws(() => createAllocator({ capacityBytes: 1 * MiB, unitBytes: 2048 }), { code: 'EINVAL' });
  t.throws(() => createAllocator({ capacityBytes: 1 * MiB, unitBytes: 2 * MiB }), { code: 'EINVAL' });
  t.throws(() => createAllocator({ capacityBytes: 1 * MiB, stripeUnitBytes: 6 * KiB }), { code: 'EINVAL' });
  t.throws(() => createAllocator({ capacityBytes: 100 }), { code: 'EINVAL' });
});

test('capacity rounds down to the unit', (t) => {
  const a = createAllocator({ capacityBytes: 10 * 4096 + 123, slackBytes: 0 });
  t.is(a.stats().capacityBytes, 10 * 4096);
  t.deepEqual(a.allocate(10 * 4096), [{ offset: 0, length: 10 * 4096 }]);
});

test('freed extents stay unallocatable until their generation is durable', (t) => {
  const a = make({ capacityBytes: 64 * KiB });
  const e = a.allocate(64 * KiB);
  a.free(e, 3);
  t.is(a.stats().deferredBytes, 64 * KiB);
  t.throws(() => a.allocate(4 * KiB), { code: 'ENOSPC' });
  a.markDurable(2);
  t.throws(() => a.allocate(4 * KiB), { code: 'ENOSPC' });
  a.markDurable(3);
  t.is(a.stats().deferredBytes, 0);
  t.is(total(a.allocate(64 * KiB)), 64 * KiB);
  t.throws(() => a.free(e, 3), { code: 'EINVAL' }, 'generation already durable');
  t.throws(() => a.markDurable(2), { code: 'EINVAL' }, 'durable generation goes backwards');
  clean(t, a);
});

test('double frees are EINVAL and change nothing', (t) => {
  const a = make();
  const [e] = a.allocate(16 * KiB);
  a.free([{ offset: e!.offset, length: 8 * KiB }], 1);
  const before = a.encode();
  t.throws(() => a.free([{ offset: e!.offset, length: 4 * KiB }], 1), { code: 'EINVAL' });
  t.throws(() => a.free([{ offset: e!.offset + 8 * KiB, length: 4 * KiB }, { offset: e!.offset + 8 * KiB, length: 8 * KiB }], 1), { code: 'EINVAL' });
  t.throws(() => a.free([{ offset: 8 * MiB, length: 4 * KiB }], 1), { code: 'EINVAL' }, 'free space');
  t.deepEqual(a.encode(), before);
  clean(t, a);
});

test('slack is held back for privileged callers', (t) => {
  const a = createAllocator({ capacityBytes: 1 * MiB, slackBytes: 64 * KiB });
  t.is(a.stats().allocatableBytes, 1 * MiB - 64 * KiB);
  a.allocate(1 * MiB - 64 * KiB);
  t.throws(() => a.allocate(4 * KiB), { code: 'ENOSPC' });
  t.throws(() => a.reserve(4 * KiB), { code: 'ENOSPC' });
  t.is(total(a.allocate(64 * KiB, { privileged: true })), 64 * KiB);
  clean(t, a);
});

test('a reservation guarantees its bytes; unused rest returns on release', (t) => {
  const a = make({ capacityBytes: 1 * MiB });
  const r = a.reserve(256 * KiB);
  t.is(r.bytes, 256 * KiB);
  t.is(a.stats().reservedBytes, 256 * KiB);
  t.throws(() => a.allocate(1 * MiB - 252 * KiB), { code: 'ENOSPC' });
  a.allocate(1 * MiB - 256 * KiB);
  t.throws(() => a.allocate(4 * KiB), { code: 'ENOSPC' });
  t.is(total(a.allocate(100 * KiB, { reservation: r })), 100 * KiB);
  t.is(r.remainingBytes, 156 * KiB);
  t.is(a.release(r), 156 * KiB);
  t.false(r.live);
  t.is(a.stats().reservedBytes, 0);
  t.throws(() => a.release(r), { code: 'EINVAL' });
  t.throws(() => a.allocate(4 * KiB, { reservation: r }), { code: 'EINVAL' });
  clean(t, a);
});

test('a reservation draw past its rest takes the excess from unreserved space', (t) => {
  const a = make({ capacityBytes: 1 * MiB });
  const r = a.reserve(8 * KiB);
  t.is(total(a.allocate(16 * KiB, { reservation: r })), 16 * KiB);
  t.is(r.remainingBytes, 0);
  a.allocate(1 * MiB - 16 * KiB);
  const r2 = a.reserve(0);
  t.throws(() => a.allocate(4 * KiB, { reservation: r2 }), { code: 'ENOSPC' });
  clean(t, a);
});

test('reserved allocations succeed in fragmented space, beyond the extent limit', (t) => {
  const a = make({ capacityBytes: 1 * MiB, extentsPerAllocationMax: 2 });
  const pieces = Array.from({ length: 256 }, () => a.allocate(4 * KiB)[0]!);
  a.free(pieces.filter((_, i) => i % 2 === 0), 1);
  a.markDurable(1);
  t.throws(() => a.allocate(64 * KiB), { code: 'ENOSPC' }, 'needs 16 extents, limit 2');
  const r = a.reserve(64 * KiB);
  const got = a.allocate(64 * KiB, { reservation: r });
  t.is(got.length, 16);
  t.is(total(got), 64 * KiB);
  clean(t, a);
});

test('contiguous requests get one extent or ENOSPC', (t) => {
  const a = make({ capacityBytes: 64 * KiB });
  const pieces = Array.from({ length: 16 }, () => a.allocate(4 * KiB)[0]!);
  a.free([pieces[3]!, pieces[4]!, pieces[9]!], 1);
  a.markDurable(1);
  t.throws(() => a.allocate(12 * KiB, { contiguous: true }), { code: 'ENOSPC' });
  t.deepEqual(a.allocate(8 * KiB, { contiguous: true }), [{ offset: 12 * KiB, length: 8 * KiB }]);
  clean(t, a);
});

test('fragmented space yields several extents up to the limit', (t) => {
  const a = make({ capacityBytes: 64 * KiB, extentsPerAllocationMax: 3 });
  const pieces = Array.from({ length: 16 }, () => a.allocate(4 * KiB)[0]!);
  a.free([pieces[1]!, pieces[5]!, pieces[6]!, pieces[10]!, pieces[14]!], 1);
  a.markDurable(1);
  const got = a.allocate(16 * KiB);
  t.true(got.length >= 2 && got.length <= 3);
  t.is(total(got), 16 * KiB);
  t.throws(() => a.allocate(8 * KiB), { code: 'ENOSPC' }, 'one unit left');
  clean(t, a);
});

test('a hint places at or after the hinted offset', (t) => {
  const a = make();
  t.deepEqual(a.allocate(8 * KiB, { hint: 1 * MiB + 5 }), [{ offset: 1 * MiB, length: 8 * KiB }]);
  t.deepEqual(a.allocate(4 * KiB), [{ offset: 0, length: 4 * KiB }], 'the cursor did not move');
  clean(t, a);
});

test('full-stripe requests get aligned whole stripes; small requests pack skipped space', (t) => {
  const stripe = 256 * KiB;
  const a = make({ stripeUnitBytes: 64 * KiB, stripeWidth: 4 });
  t.deepEqual(a.allocate(12 * KiB), [{ offset: 0, length: 12 * KiB }]);
  const big = a.allocate(2 * stripe + 8 * KiB);
  t.deepEqual(big, [{ offset: stripe, length: 2 * stripe + 8 * KiB }], 'aligned, tail right after');
  t.deepEqual(a.allocate(4 * KiB), [{ offset: 12 * KiB, length: 4 * KiB }], 'fills the skipped stripe 0');
  t.deepEqual(a.allocate(2 * stripe), [{ offset: 4 * stripe, length: 2 * stripe }], 'next aligned stripes');
  t.is(a.stats().counters.fullStripeRequests, 2);
  t.is(a.stats().counters.stripeFallbacks, 0);
  clean(t, a);
});

test('small writes fill holes in partly used stripes when whole stripes are scarce', (t) => {
  const stripe = 64 * KiB;
  const a = make({ capacityBytes: 16 * stripe, stripeUnitBytes: 16 * KiB, stripeWidth: 4 });
  t.is(a.allocate(16 * stripe).length, 1);
  // Free 8 KiB in each of stripes 1..14, and all of stripe 15: whole stripes hold 64 of 176 KiB.
  const holes = Array.from({ length: 14 }, (_, i) => ({ offset: (i + 1) * stripe + 8 * KiB, length: 8 * KiB }));
  a.free([...holes, { offset: 15 * stripe, length: stripe }], 1);
  a.markDurable(1);
  t.is(a.stats().freeFullStripes, 1);
  const small = a.allocate(4 * KiB);
  const hole = holes.find((h) => h.offset === small[0]!.offset);
  t.truthy(hole, 'a hole, not the whole stripe');
  t.deepEqual(a.allocate(4 * KiB), [{ offset: hole!.offset + 4 * KiB, length: 4 * KiB }], 'packs the same stripe');
  t.deepEqual(a.allocate(stripe), [{ offset: 15 * stripe, length: stripe }]);
  clean(t, a);
});

test('small writes go next-fit from the cursor while space is plentiful', (t) => {
  const stripe = 64 * KiB;
  const a = make({ capacityBytes: 16 * stripe, stripeUnitBytes: 16 * KiB, stripeWidth: 4 });
  t.deepEqual(a.allocate(40 * KiB), [{ offset: 0, length: 40 * KiB }]);
  t.deepEqual(a.allocate(40 * KiB), [{ offset: 40 * KiB, length: 40 * KiB }], 'sequential, across a stripe boundary');
  t.deepEqual(a.allocate(20 * KiB), [{ offset: 80 * KiB, length: 20 * KiB }]);
  clean(t, a);
});

test('full-stripe requests fall back to unaligned space only when no whole stripe is free', (t) => {
  const stripe = 64 * KiB;
  const a = make({ capacityBytes: 4 * stripe, stripeUnitBytes: 16 * KiB, stripeWidth: 4 });
  a.allocate(4 * stripe);
  a.free([{ offset: 32 * KiB, length: stripe }], 1);
  a.markDurable(1);
  t.is(a.stats().freeFullStripes, 0);
  t.deepEqual(a.allocate(stripe), [{ offset: 32 * KiB, length: stripe }]);
  t.is(a.stats().counters.stripeFallbacks, 1);
  clean(t, a);
});

test('markUsed takes free space and refuses space that is not free', (t) => {
  const a = make({ capacityBytes: 1 * MiB });
  a.markUsed([{ offset: 0, length: 8 * KiB }, { offset: 512 * KiB, length: 64 * KiB }]);
  t.is(a.stats().allocatedBytes, 72 * KiB);
  t.throws(() => a.markUsed([{ offset: 4 * KiB, length: 8 * KiB }]), { code: 'EINVAL' });
  t.is(a.stats().allocatedBytes, 72 * KiB);
  const got = a.allocate(4 * KiB);
  t.deepEqual(got, [{ offset: 8 * KiB, length: 4 * KiB }]);
  clean(t, a);
});

test('stats report largest extent, free stripes and fragmentation', (t) => {
  const a = make({ capacityBytes: 1 * MiB, stripeUnitBytes: 16 * KiB, stripeWidth: 4 });
  let s = a.stats();
  t.is(s.largestFreeBytes, 1 * MiB);
  t.is(s.freeFullStripes, 16);
  t.is(s.fragmentation, 0);
  const all = a.allocate(1 * MiB);
  a.free([{ offset: 0, length: 64 * KiB }, { offset: 512 * KiB, length: 64 * KiB }], 1);
  t.is(a.stats().deferredBytes, 128 * KiB);
  a.markDurable(1);
  s = a.stats();
  t.is(s.largestFreeBytes, 64 * KiB);
  t.is(s.freeExtentCount, 2);
  t.is(s.freeFullStripes, 2);
  t.is(s.fragmentation, 0.5);
  t.is(all.length, 1);
});

test('a tiny memory cap switches to the bitmap form and back without changing placements', (t) => {
  const run = (cap: number) => {
    const a = make({ capacityBytes: 4 * MiB, freeExtentCountCap: cap, stripeUnitBytes: 16 * KiB, stripeWidth: 2 });
    const forms = new Set<string>();
    const placed: Extent[][] = [];
    const pieces = Array.from({ length: 200 }, () => a.allocate(8 * KiB)[0]!);
    a.free(pieces.filter((_, i) => i % 3 === 0), 1);
    a.markDurable(1);
    forms.add(a.stats().mapForm);
    for (let i = 0; i < 50; i++) placed.push(a.allocate(4 * KiB * (1 + (i % 9)), { contiguous: i % 4 === 0 }));
    a.free(pieces.filter((_, i) => i % 3 !== 0), 2);
    a.markDurable(2);
    forms.add(a.stats().mapForm);
    placed.push(a.allocate(64 * KiB));
    a.free(placed.flat(), 3);
    a.markDurable(3);
    forms.add(a.stats().mapForm);
    t.deepEqual(check(a), []);
    return { forms: [...forms], placed, changes: a.stats().counters.formChanges };
  };
  const small = run(16);
  const large = run(1 << 20);
  t.deepEqual(small.forms, ['bitmap', 'extents']);
  t.deepEqual(large.forms, ['extents']);
  t.true(small.changes >= 2);
  t.deepEqual(small.placed, large.placed);
});

test('unallocate returns an unpublished allocation at once and refunds its reservation', (t) => {
  const a = make();
  const r = a.reserve(64 * KiB);
  const before = a.stats().freeBytes;
  const drawn = a.allocate(32 * KiB, { reservation: r });
  t.is(r.remainingBytes, 32 * KiB);
  a.unallocate(drawn, { reservation: r, bytes: 32 * KiB });
  t.is(r.remainingBytes, 64 * KiB, 'the reservation has its bytes back');
  t.is(a.stats().freeBytes, before, 'free again with no checkpoint');
  t.is(a.stats().deferredBytes, 0);
  t.throws(() => a.unallocate(drawn), { code: 'EINVAL' }, 'undoing twice is a double free');
  const plain = a.allocate(8 * KiB);
  a.release(r);
  a.unallocate(plain, { reservation: r, bytes: 8 * KiB });
  t.is(a.stats().reservedBytes, 0, 'a released reservation is not refilled');
  clean(t, a);
});

test('aligned requests (alignBytes) get extents that start and end on the alignment', (t) => {
  const a = make({ capacityBytes: 4 * MiB });
  const A = 64 * KiB;
  a.allocate(12 * KiB); // the cursor is now unaligned
  const one = a.allocate(100 * KiB, { alignBytes: A });
  t.deepEqual(one.map((e) => [e.offset % A, e.length % A]), [[0, 0]], 'rounded up to 128 KiB, one aligned extent');
  t.is(total(one), 128 * KiB);
  // Fragment the rest into unaligned pieces: every other 60 KiB run is taken, holes of 4 KiB...
  const pieces: Extent[] = [];
  for (;;) {
    try {
      pieces.push(...a.allocate(60 * KiB, { contiguous: true }), ...a.allocate(4 * KiB, { contiguous: true }));
    } catch {
      break;
    }
  }
  for (const [i, e] of pieces.entries()) if (i % 2 === 1) a.free([e], 1);
  a.markDurable(1);
  // ... so 4 KiB is free in many places, but no aligned 64 KiB block: an aligned request fails typed.
  t.true(a.stats().freeBytes >= A);
  t.throws(() => a.allocate(A, { alignBytes: A }), { message: /ENOSPC/ });
  for (const [i, e] of pieces.entries()) if (i % 2 === 0) a.free([e], 2);
  a.markDurable(2);
  const many = a.allocate(1024 * KiB, { alignBytes: A });
  t.true(many.every((e) => e.offset % A === 0 && e.length % A === 0), JSON.stringify(many));
  t.is(total(many), 1024 * KiB);
  for (const bad of [3 * KiB, 6 * KiB, 12 * KiB, 1.5 * A]) t.throws(() => a.allocate(A, { alignBytes: bad }), { message: /EINVAL/ });
  clean(t, a);
});
