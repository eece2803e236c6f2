/**
 * Goal: the Transaction builder refuses bad arguments with typed errors and copies caller
 * buffers; the binary encoding round-trips every op exactly and refuses bad bytes.
 * Method: examples for validation; fast-check random op lists for encode/decode (decode must
 * re-encode to identical bytes and equal ops); truncation and tag corruption for the decoder.
 */
import test from 'ava';
import fc from 'fast-check';
import { suiteSeed } from '../../conformance/harness.js';
import { Transaction, TransactionError } from '../../../engine/transaction.js';
import { OP_TAGS, isToleratedError, type Op } from '../../../engine/types-ops.js';
import { OBJECT_SIZE_BYTES_MAX, XATTR_VALUE_BYTES_MAX, OMAP_KEY_BYTES_MAX } from '../../../engine/limits.js';
import { EbofsError, CorruptionError } from '../../../common/errors.js';
import { normalizeObjectId } from '../../../engine/types.js';

const SEED = suiteSeed();
const C = '1.0_head';
const A = { pool: 1, name: 'a' };

function code(t: import('ava').ExecutionContext, fn: () => unknown): string {
  const e = t.throws(fn);
  return e instanceof EbofsError ? e.code : 'not-ebofs';
}

test('builder validates arguments with typed codes', (t) => {
  const tx = new Transaction();
  t.is(code(t, () => tx.touch('nope', A)), 'EINVAL');
  t.is(code(t, () => tx.write(C, A, -1, 'x')), 'EINVAL');
  t.is(code(t, () => tx.write(C, A, 1.5, 'x')), 'EINVAL');
  t.is(code(t, () => tx.write(C, A, OBJECT_SIZE_BYTES_MAX, 'x')), 'E2BIG');
  t.is(code(t, () => tx.zero(C, A, OBJECT_SIZE_BYTES_MAX - 1, 2)), 'E2BIG');
  t.is(code(t, () => tx.truncate(C, A, OBJECT_SIZE_BYTES_MAX + 1)), 'E2BIG');
  t.is(code(t, () => tx.setattr(C, A, 'n', new Uint8Array(XATTR_VALUE_BYTES_MAX + 1))), 'E2BIG');
  t.is(code(t, () => tx.omapSetKeys(C, A, [[new Uint8Array(OMAP_KEY_BYTES_MAX + 1), 'v']])), 'E2BIG');
  t.is(code(t, () => tx.createCollection(C, 33)), 'EINVAL');
  t.is(code(t, () => tx.splitCollection(C, 2, 4, '1.4_head')), 'EINVAL');
  t.is(code(t, () => tx.collectionMoveRename(C, A, '1.1_head', { pool: 1, name: 'b' })), 'EINVAL');
  t.is(code(t, () => tx.clone(C, A, { pool: 1, name: 'b', hash: 1 })), 'EINVAL');
  t.is(code(t, () => tx.clone(C, A, A)), 'EINVAL');
  t.is(code(t, () => tx.touch(C, { pool: 1, name: 'x'.repeat(3000) })), 'E2BIG');
  t.is(code(t, () => tx.touch(C, { pool: 1.5, name: 'x' })), 'EINVAL');
  t.is(code(t, () => tx.touch(C, { pool: 1, name: 'x', shard: 128 })), 'EINVAL');
  t.is(code(t, () => tx.touch(C, { pool: 1, name: 'x', hash: 2 ** 32 })), 'EINVAL');
  t.is(code(t, () => tx.touch(C, { pool: -(2n ** 63n), name: 'x' })), 'EINVAL');
  t.is(code(t, () => tx.touch(C, { pool: 2n ** 63n, name: 'x' })), 'EINVAL');
  t.is(tx.opCount, 0, 'nothing was added by failed builders');
});

test('builder copies caller buffers', (t) => {
  const data = Buffer.from('hello');
  const tx = new Transaction().write(C, A, 0, data);
  data.fill(0);
  const op = tx.ops[0];
  t.true(op?.type === 'write' && Buffer.from(op.data).toString() === 'hello');
});

test('tolerated errors follow Ceph', (t) => {
  t.true(isToleratedError('remove', 'ENOENT'));
  t.true(isToleratedError('collectionMoveRename', 'ENOENT'));
  t.true(isToleratedError('setattr', 'ENODATA'));
  t.false(isToleratedError('setattr', 'ENOENT'));
  t.false(isToleratedError('clone', 'ENOENT'));
  t.false(isToleratedError('remove', 'EEXIST'));
  t.true(new TransactionError('EEXIST', 'x', { opIndex: 3, opType: 'createCollection' }) instanceof EbofsError);
});

const bytes = fc.uint8Array({ maxLength: 20 });
const oidArb = fc.record({
  pool: fc.integer({ min: -5, max: 5 }), name: bytes, namespace: fc.constantFrom('', 'ns'),
  hash: fc.constantFrom(1, 2, 0xffff_ffff), snap: fc.constantFrom(undefined, 3),
}).map((r) => normalizeObjectId(r));
const cidArb = fc.constantFrom('meta', '1.0_head', '2.7s1_head');
const small = fc.nat({ max: 1 << 20 });

type Build = (tx: Transaction) => void;
const buildArb: fc.Arbitrary<Build> = fc.oneof(
  fc.tuple(cidArb, fc.integer({ min: 0, max: 32 })).map(([c, b]) => (tx: Transaction) => { tx.createCollection(c, b); }),
  cidArb.map((c) => (tx: Transaction) => { tx.removeCollection(c); }),
  fc.tuple(cidArb, oidArb).map(([c, o]) => (tx: Transaction) => { tx.touch(c, o); }),
  fc.tuple(cidArb, oidArb, small, bytes).map(([c, o, off, d]) => (tx: Transaction) => { tx.write(c, o, off, d); }),
  fc.tuple(cidArb, oidArb, small, small).map(([c, o, off, l]) => (tx: Transaction) => { tx.zero(c, o, off, l); }),
  fc.tuple(cidArb, oidArb, small).map(([c, o, n]) => (tx: Transaction) => { tx.truncate(c, o, n); }),
  fc.tuple(cidArb, oidArb).map(([c, o]) => (tx: Transaction) => { tx.remove(c, o); }),
  fc.tuple(cidArb, oidArb, bytes, bytes).map(([c, o, k, v]) => (tx: Transaction) => { tx.setattr(c, o, k, v); }),
  fc.tuple(cidArb, oidArb, fc.array(fc.tuple(bytes, bytes), { maxLength: 4 }))
    .map(([c, o, p]) => (tx: Transaction) => { tx.setattrs(c, o, p); }),
  fc.tuple(cidArb, oidArb, bytes).map(([c, o, k]) => (tx: Transaction) => { tx.rmattr(c, o, k); }),
  fc.tuple(cidArb, oidArb).map(([c, o]) => (tx: Transaction) => { tx.rmattrs(c, o); }),
  fc.tuple(cidArb, oidArb, fc.array(fc.tuple(bytes, bytes), { maxLength: 4 }))
    .map(([c, o, p]) => (tx: Transaction) => { tx.omapSetKeys(c, o, p); }),
  fc.tuple(cidArb, oidArb, fc.array(bytes, { maxLength: 4 })).map(([c, o, k]) => (tx: Transaction) => { tx.omapRmKeys(c, o, k); }),
  fc.tuple(cidArb, oidArb, bytes, bytes).map(([c, o, a, b]) => (tx: Transaction) => { tx.omapRmKeyRange(c, o, a, b); }),
  fc.tuple(cidArb, oidArb).map(([c, o]) => (tx: Transaction) => { tx.omapClear(c, o); }),
  fc.tuple(cidArb, oidArb, bytes).map(([c, o, h]) => (tx: Transaction) => { tx.omapSetHeader(c, o, h); }),
  fc.tuple(cidArb, oidArb, oidArb).map(([c, o, p]) => (tx: Transaction) => { tx.collectionMoveRename(c, o, c, p); }),
  fc.tuple(cidArb, oidArb, small, small, fc.nat({ max: 1023 }))
    .map(([c, o, a, b, f]) => (tx: Transaction) => { tx.setAllocHint(c, o, a, b, f); }),
  fc.tuple(cidArb, oidArb, bytes).map(([c, o, n]) => (tx: Transaction) => {
    tx.clone(c, o, normalizeObjectId({ pool: o.pool, name: Uint8Array.from([...n, 1]), hash: o.hash, snap: 9 }));
  }),
  fc.tuple(cidArb, oidArb, oidArb, small, small, small).map(([c, o, p, a, l, b]) => (tx: Transaction) => {
    if (Buffer.compare(o.name, p.name) !== 0 || o.pool !== p.pool) tx.cloneRange(c, o, p, a, l, b);
  }),
  fc.tuple(cidArb, fc.integer({ min: 1, max: 31 }), fc.nat(), fc.constantFrom('3.1_head', '3.2_head'))
    .map(([c, b, r, d]) => (tx: Transaction) => { tx.splitCollection(c, b, r % 2 ** b, d); }),
  fc.tuple(cidArb, fc.integer({ min: 0, max: 32 })).map(([c, b]) => (tx: Transaction) => { tx.mergeCollection(c, '9.0_head', b); }),
  fc.nat().map((e) => (tx: Transaction) => { tx.setFloor(e); }),
);

function opsJson(ops: readonly Op[]): string {
  return JSON.stringify(ops, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v));
}

test('encode/decode round-trips random transactions', (t) => {
  t.log(`seed ${SEED}`);
  fc.assert(fc.property(fc.array(buildArb, { maxLength: 25 }), fc.option(fc.nat()), (builds, epoch) => {
    const tx = new Transaction();
    for (const b of builds) {
      try { b(tx); } catch (e) { if (!(e instanceof EbofsError)) throw e; }
    }
    if (epoch !== null) tx.setEpoch(epoch);
    const bytesOut = tx.encode();
    const back = Transaction.decode(bytesOut);
    return opsJson(back.ops) === opsJson(tx.ops) && back.epoch === tx.epoch &&
      Buffer.compare(back.encode(), bytesOut) === 0 && back.byteCount === tx.byteCount;
  }), { seed: SEED, numRuns: 400 });
  t.pass();
});

test('every op type has a unique non-zero tag', (t) => {
  const tags = Object.values(OP_TAGS);
  t.is(new Set(tags).size, tags.length);
  t.false(tags.includes(0));
});

test('decoder refuses truncation, trailing bytes, bad tags and newer versions', (t) => {
  const tx = new Transaction().createCollection(C, 3).write(C, A, 5, 'data').omapSetKeys(C, A, { k: 'v' });
  const enc = tx.encode();
  for (let n = 0; n < enc.length; n++) {
    const e = t.throws(() => Transaction.decode(enc.subarray(0, n)));
    t.true(e instanceof CorruptionError, `truncated to ${n}`);
  }
  t.true(t.throws(() => Transaction.decode(Uint8Array.from([...enc, 0]))) instanceof CorruptionError);
  const newer = Uint8Array.from(enc);
  newer[4] = 2;
  t.is((t.throws(() => Transaction.decode(newer)) as EbofsError).code, 'EFORMAT');
  // Locate the first op's tag: after the header and tables; search for createCollection's tag.
  const at = enc.indexOf(OP_TAGS.createCollection, 28 + 2 + C.length);
  const badTag = Uint8Array.from(enc);
  badTag[at] = 0;
  t.is((t.throws(() => Transaction.decode(badTag)) as EbofsError).code, 'EFORMAT');
});

test('append keeps op order and epoch', (t) => {
  const a = new Transaction().touch(C, A);
  const b = new Transaction().setEpoch(4).remove(C, A);
  const c = new Transaction().append(a).append(b);
  t.deepEqual(c.ops.map((o) => o.type), ['touch', 'remove']);
  t.is(c.epoch, 4);
});
