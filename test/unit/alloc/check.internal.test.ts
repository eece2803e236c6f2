/**
 * Goal: check() finds damage in every part of the allocator and reports it as findings (it
 * never just logs). Method: white-box tampering with a sound allocator's internals, one fault
 * per case, then asserting the finding's kind.
 */
import test from 'ava';
import { createAllocator, check, type Allocator } from '../../../alloc/index.js';
import type { ReservationRecord } from '../../../alloc/reservations.js';

function sound(): Allocator {
  const a = createAllocator({ capacityBytes: 4 << 20, stripeUnitBytes: 16 << 10, stripeWidth: 2 });
  const e = a.allocate(64 << 10);
  a.allocate(8 << 10);
  a.free(e.slice(0, 1), 1);
  a.reserve(16 << 10);
  return a;
}

test('a sound allocator has no findings', (t) => {
  t.deepEqual(check(sound()), []);
});

test('free space that is also deferred is found', (t) => {
  const a = sound();
  a.deferred.add(1000, 1, 5);
  t.true(check(a).some((f) => f.kind === 'deferred'));
});

test('a deferred run with a durable generation is found', (t) => {
  const a = sound();
  a.durableGeneration = 9;
  t.true(check(a).some((f) => f.kind === 'deferred' && f.message.includes('durable generation')));
});

test('a reservation total that disagrees with the records is found', (t) => {
  const a = sound();
  a.reservations.units += 1;
  t.true(check(a).some((f) => f.kind === 'reservation'));
});

test('reservations larger than free space are found', (t) => {
  const a = sound();
  const record = a.reserve(0) as ReservationRecord;
  record.remainingUnits = 10 ** 6;
  a.reservations.units += 10 ** 6;
  t.true(check(a).some((f) => f.kind === 'reservation' && f.message.includes('below reserved')));
});

test('a cursor outside the device is found', (t) => {
  const a = sound();
  a.placer.cursor = 10 ** 9;
  t.true(check(a).some((f) => f.kind === 'cursor'));
});

test('free-map counters that disagree with a recount are found', (t) => {
  const a = sound();
  (a.map as { freeUnits: number }).freeUnits += 1;
  const findings = check(a);
  t.true(findings.some((f) => f.kind === 'map'));
  t.true(findings.length <= 100);
  t.is(check(a, { maxFindings: 1 }).length, 1);
});
