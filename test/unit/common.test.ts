/** Goal: the shared helpers behave as documented (errors, PRNG determinism, checksums, ints). */
import test from 'ava';
import { AssertionError, CorruptionError, EbofsError, isErrorCode } from '../../common/errors.js';
import { Random } from '../../common/random.js';
import { checksum32, checksum64, checksum64Parts } from '../../common/checksum.js';
import { readU64, writeU64, divCeil, alignUp, isPowerOfTwo } from '../../common/ints.js';
import { assert as check } from '../../common/assert.js';

test('errors carry stable codes and brands', (t) => {
  const e = new CorruptionError('ECHECKSUM', 'bad page', { location: 'page 7', expected: '1', actual: '2' });
  t.true(e instanceof EbofsError);
  t.true(e instanceof CorruptionError);
  t.false(new EbofsError('ENOENT', 'x') instanceof CorruptionError);
  t.is(e.code, 'ECHECKSUM');
  t.is(e.location, 'page 7');
  t.true(isErrorCode(e, 'ECHECKSUM'));
  t.false(isErrorCode(new Error('x'), 'ENOENT'));
  const a = t.throws(() => check(false, 'boom'));
  t.true(a instanceof AssertionError);
});

test('Random is deterministic per seed', (t) => {
  const a = new Random(42);
  const b = new Random(42);
  const c = new Random(43);
  const sa = Array.from({ length: 8 }, () => a.u32());
  t.deepEqual(sa, Array.from({ length: 8 }, () => b.u32()));
  t.notDeepEqual(sa, Array.from({ length: 8 }, () => c.u32()));
  const r = new Random(1);
  for (let i = 0; i < 1000; i++) {
    const v = r.int(10);
    t.true(v >= 0 && v < 10);
  }
});

test('checksums', (t) => {
  const data = Buffer.from('hello world');
  t.is(checksum32(data), checksum32(Buffer.from('hello world')));
  t.not(checksum32(data), checksum32(Buffer.from('hello worle')));
  t.is(checksum64Parts([data.subarray(0, 3), data.subarray(3)]), checksum64(data));
});

test('ints', (t) => {
  const buf = Buffer.alloc(8);
  writeU64(buf, 0, 2 ** 52 + 12345);
  t.is(readU64(buf, 0), 2 ** 52 + 12345);
  buf.writeUInt32LE(0xffffffff, 4);
  t.throws(() => readU64(buf, 0, 'test field'), { instanceOf: CorruptionError });
  // Byte for byte what Node's own little-endian u64 codec writes, at any offset of a view.
  const r = new Random(64);
  const big = Buffer.alloc(64);
  for (let i = 0; i < 2000; i++) {
    const value = r.chance(0.1) ? r.pick([0, 1, 2 ** 32 - 1, 2 ** 32, Number.MAX_SAFE_INTEGER]) : Math.floor(r.float() * 2 ** 53);
    const at = r.range(0, 57);
    const view = big.subarray(r.range(0, 1), 64);
    if (at + 8 > view.length) continue;
    writeU64(view, at, value);
    t.is(view.readBigUInt64LE(at), BigInt(value));
    t.is(readU64(view, at), value);
  }
  t.throws(() => writeU64(buf, 1, 5), { instanceOf: RangeError });
  t.throws(() => readU64(buf, 1), { instanceOf: RangeError });
  t.throws(() => writeU64(buf, 0, -1));
  t.is(divCeil(9, 4), 3);
  t.is(alignUp(4097, 4096), 8192);
  t.true(isPowerOfTwo(4096));
  t.false(isPowerOfTwo(4095));
});
