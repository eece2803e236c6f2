/**
 * Goal: the btree's boundaries and promises outside the model runs: tree header round trips,
 * comparator registry errors, size limits with typed errors, corruption detection naming the
 * page, copy-once-per-batch, inline-root hysteresis, bulk load, cursors, abort, reader table.
 * Method: small deterministic scenarios with a seeded Random.
 */
import test from 'ava';
import { CorruptionError, EbofsError, isErrorCode } from '../../../common/errors.js';
import { Random } from '../../../common/random.js';
import {
  EMPTY_ROOT, ENTRIES_PER_PAGE_MIN, MemoryPageStore, Pager, ReaderTable, Reclaimer, check,
  decodeTreeHeader, encodeTreeHeader, makeDescriptor, openTree, u64Key, type PageId, type TreeDescriptor,
} from '../../../btree/index.js';
import { reachablePages } from '../../../btree/check.js';
import { VARIANTS } from './model.js';

const enc = (s: string): Uint8Array => Buffer.from(s);
const dec = (b: Uint8Array | undefined): string | undefined => (b === undefined ? undefined : Buffer.from(b).toString());

function fresh(descriptor: TreeDescriptor = makeDescriptor(), pageSizeBytes = 512) {
  const store = new MemoryPageStore({ pageSizeBytes });
  const pager = new Pager(store);
  return { store, pager, tree: openTree(pager, descriptor, EMPTY_ROOT) };
}

function keyOf(i: number): Uint8Array {
  return enc(`k${String(i).padStart(6, '0')}`);
}

test('tree header round-trips every variant and rejects bad bytes', (t) => {
  for (const v of VARIANTS) {
    const { tree } = fresh(v.descriptor, v.pageSizeBytes);
    const b = tree.begin();
    const r = new Random(3);
    for (let i = 0; i < 50; i++) b.put(v.key(r), v.descriptor.value === null ? undefined : v.value(r));
    const { root } = b.commit();
    const bytes = encodeTreeHeader(v.descriptor, root);
    const back = decodeTreeHeader(bytes);
    t.deepEqual(back.descriptor, v.descriptor, v.name);
    t.deepEqual(back.root, root, v.name);
    const bad = bytes.slice();
    bad[10] = bad[10]! ^ 1;
    const err = t.throws(() => decodeTreeHeader(bad, 'onode x'));
    t.true(err instanceof CorruptionError && err.code === 'ECHECKSUM' && err.location === 'onode x');
  }
});

test('an unregistered comparator is a clear ENOTSUP', (t) => {
  const err = t.throws(() => makeDescriptor({ comparator: 'no-such-order' }));
  t.true(isErrorCode(err, 'ENOTSUP'));
  t.regex(err!.message, /no-such-order/);
  const bytes = encodeTreeHeader(makeDescriptor(), EMPTY_ROOT);
  // Rewrite the comparator name 'bytes' -> 'bytez' and fix the checksum through a re-encode.
  const d = { ...makeDescriptor(), comparator: 'bytez' };
  t.true(isErrorCode(t.throws(() => encodeTreeHeader(d, EMPTY_ROOT) && decodeTreeHeader(encodeTreeHeader(d, EMPTY_ROOT))), 'ENOTSUP'));
  t.truthy(bytes);
  t.true(isErrorCode(t.throws(() => makeDescriptor({ comparator: 'u64' })), 'EINVAL'));
});

test('limits: oversized keys and values are E2BIG, wrong fixed sizes EINVAL; max entries fit 4 per page', (t) => {
  const { tree, pager } = fresh(makeDescriptor(), 512);
  const b = tree.begin();
  const codecLimit = pager.limits.cellSizeMax;
  t.true(isErrorCode(t.throws(() => b.put(new Uint8Array(2000), enc('v'))), 'E2BIG'));
  t.true(isErrorCode(t.throws(() => b.put(enc('k'), new Uint8Array(codecLimit))), 'E2BIG'));
  // The largest accepted entries still pack at least ENTRIES_PER_PAGE_MIN per page.
  const r = new Random(9);
  for (let i = 0; i < 200; i++) {
    const key = r.bytes(20);
    b.put(key, new Uint8Array(codecLimit - 2 - 20 - 2));
  }
  b.commit();
  t.deepEqual(check(tree), []);
  t.true(tree.current.root.kind === 'paged' && tree.current.count / (ENTRIES_PER_PAGE_MIN) > 0);
  const fixed = fresh(makeDescriptor({ key: { kind: 'fixed', sizeBytes: 8 }, value: { kind: 'fixed', sizeBytes: 4 } }));
  const fb = fixed.tree.begin();
  t.true(isErrorCode(t.throws(() => fb.put(new Uint8Array(7), new Uint8Array(4))), 'EINVAL'));
  t.true(isErrorCode(t.throws(() => fb.put(new Uint8Array(8), new Uint8Array(5))), 'EINVAL'));
  t.true(isErrorCode(t.throws(() => makeDescriptor({ key: { kind: 'fixed', sizeBytes: 5000 } })), 'EINVAL'));
  t.true(isErrorCode(t.throws(() => fresh(makeDescriptor({ key: { kind: 'fixed', sizeBytes: 900 } }), 512)), 'E2BIG'));
});

test('a corrupted page is a CorruptionError naming the page, and check() reports it', (t) => {
  const { tree, store } = fresh();
  const b = tree.begin();
  for (let i = 0; i < 500; i++) b.put(keyOf(i), enc(`value ${i}`));
  const { root } = b.commit();
  t.is(root.kind, 'paged');
  if (root.kind !== 'paged') return;
  // Corrupt the leaf holding keyOf(3); a fresh Pager has nothing cached, so it verifies on load.
  const cursor = tree.current.cursor();
  t.true(cursor.seek(keyOf(3)));
  const leaf = (cursor as unknown as { currentLeaf(): Uint8Array }).currentLeaf();
  const leafId = Buffer.from(leaf.buffer, leaf.byteOffset, leaf.length).readUInt32LE(16) as PageId;
  t.true(reachablePages(tree, tree.current).has(leafId));
  const victim = store.read(leafId);
  victim[100] = victim[100]! ^ 0x40;
  const reopened = openTree(new Pager(store), tree.descriptor, root);
  const err = t.throws(() => reopened.current.get(keyOf(3)));
  t.true(err instanceof CorruptionError);
  t.is((err as CorruptionError).code, 'ECHECKSUM');
  t.is((err as CorruptionError).location, `page ${leafId}`);
  const findings = check(tree);
  t.true(findings.some((f) => f.location === `page ${leafId}` && /checksum/.test(f.problem)));
  // The root page is verified when the tree is opened.
  const rootPage = store.read(root.pageId);
  rootPage[50] = rootPage[50]! ^ 1;
  t.true(isErrorCode(t.throws(() => openTree(new Pager(store), tree.descriptor, root)), 'ECHECKSUM'));
});

test('a batch copies each touched page once, and reports old pages as freed', (t) => {
  const { tree } = fresh(makeDescriptor(), 4096);
  const entries = Array.from({ length: 5000 }, (_, i) => [keyOf(i), enc(`v${i}`)] as const);
  tree.bulkLoad(entries);
  t.deepEqual(check(tree), []);
  const depth = tree.current.root.kind === 'paged' ? tree.current.root.depth : 0;
  const b = tree.begin();
  for (let i = 100; i < 110; i++) b.put(keyOf(i), enc(`w${i}`)); // all in one leaf
  const result = b.commit();
  t.is(result.freed.length, depth);
  t.is(result.written.length, depth);
  t.is(new Set(result.freed).size, result.freed.length);
  t.is(dec(tree.current.get(keyOf(105))), 'w105');
  t.deepEqual(check(tree), []);
});

test('inline roots spill to pages and come back with hysteresis', (t) => {
  const d = makeDescriptor({ key: { kind: 'variable', prefixBytes: 1 }, value: { kind: 'variable', prefixBytes: 1 }, inlineMaxBytes: 200 });
  const { tree, store } = fresh(d, 512);
  const put = (i: number): void => { const b = tree.begin(); b.put(enc(`key${i}`), enc('0123456789')); b.commit(); };
  const del = (i: number): void => { const b = tree.begin(); b.delete(enc(`key${i}`)); b.commit(); };
  // Each entry is 1+4+1+10 = 16 bytes; header 3.
  let n = 0;
  while (tree.current.root.kind !== 'paged') put(n++);
  t.is(n, 13); // 3 + 13*16 = 211 > 200
  t.is(store.allocatedPageCount, 1);
  // Shrinking below the limit is not enough: it must reach half of it.
  while (n > 7) del(--n); // 3 + 7*16 = 115 > 100
  const kind = (): string => tree.current.root.kind;
  t.is(kind(), 'paged');
  del(--n); // 3 + 6*16 = 99 <= 100
  t.is(kind(), 'inline');
  while (n < 12) put(n++);
  t.is(kind(), 'inline');
  t.deepEqual(check(tree), []);
  t.is(dec(tree.current.get(enc('key11'))), '0123456789');
});

test('bulk load builds a valid tree and refuses unsorted input', (t) => {
  const { tree, pager } = fresh(makeDescriptor(), 512);
  const entries = Array.from({ length: 3001 }, (_, i) => ({ key: keyOf(i), value: enc(`value-${i}`) }));
  const result = tree.bulkLoad(entries);
  t.deepEqual(check(tree), []);
  t.is(tree.current.count, 3001);
  t.is(dec(tree.current.get(keyOf(1234))), 'value-1234');
  t.is(result.written.length, pager.store instanceof MemoryPageStore ? pager.store.allocatedPageCount : 0);
  const other = fresh(makeDescriptor(), 512);
  const bad = [{ key: enc('b'), value: enc('') }, { key: enc('a'), value: enc('') }];
  t.true(isErrorCode(t.throws(() => other.tree.bulkLoad(bad)), 'EINVAL'));
  t.is(other.store.allocatedPageCount, 0);
});

test('cursors: seek, seekLast, next and prev across duplicates and leaves', (t) => {
  const d = makeDescriptor({ key: { kind: 'variable', prefixBytes: 1 }, value: { kind: 'fixed', sizeBytes: 8 }, duplicates: true, valueComparator: 'u64' });
  const { tree } = fresh(d, 512);
  const b = tree.begin();
  for (let k = 0; k < 40; k += 2) for (let v = 0; v < 30; v++) b.put(enc(`k${String(k).padStart(2, '0')}`), u64Key(v * 1000));
  b.commit();
  const v = tree.current;
  t.is(v.count, 20 * 30);
  t.deepEqual(v.getAll(enc('k10')).map((x) => Buffer.from(x).readUInt32LE(0)), Array.from({ length: 30 }, (_, i) => i * 1000));
  const c = v.cursor();
  t.true(c.seek(enc('k11')));
  t.is(dec(c.key()), 'k12');
  t.is(Buffer.from(c.value()).readUInt32LE(0), 0);
  t.true(c.prev());
  t.is(dec(c.key()), 'k10');
  t.is(Buffer.from(c.value()).readUInt32LE(0), 29000);
  t.true(c.seekLast(enc('k12')));
  t.is(dec(c.key()), 'k12');
  t.is(Buffer.from(c.value()).readUInt32LE(0), 29000);
  t.true(c.next());
  t.is(dec(c.key()), 'k14');
  t.false(c.seek(enc('k99')));
  t.false(c.seekLast(enc('a')));
  t.true(v.has(enc('k20'), u64Key(5000)));
  t.false(v.has(enc('k20'), u64Key(5001)));
});

test('abort frees what the batch allocated and leaves the version unchanged', (t) => {
  const { tree, store } = fresh();
  const b = tree.begin();
  for (let i = 0; i < 300; i++) b.put(keyOf(i), enc('x'));
  b.commit();
  const pages = store.allocatedPageCount;
  const b2 = tree.begin();
  for (let i = 300; i < 900; i++) b2.put(keyOf(i), enc('y'));
  t.throws(() => tree.begin(), { instanceOf: EbofsError });
  b2.abort();
  t.is(store.allocatedPageCount, pages);
  t.is(tree.current.count, 300);
  t.deepEqual(check(tree), []);
});

test('reader table: pins hold back reclamation until released', (t) => {
  const { tree, pager, store } = fresh();
  const table = ReaderTable.create(4, 256);
  const reclaimer = new Reclaimer(pager, table);
  const slot = ReaderTable.attach(table.buffer).claimSlot();
  const b = tree.begin();
  for (let i = 0; i < 300; i++) b.put(keyOf(i), enc('x'));
  let result = b.commit();
  table.publish(1, encodeTreeHeader(tree.descriptor, result.root));
  const pin = table.pin(slot);
  t.is(pin.generation, 1);
  t.deepEqual(decodeTreeHeader(pin.payload).root, result.root);
  const b2 = tree.begin();
  for (let i = 0; i < 300; i++) b2.put(keyOf(i), enc('y'));
  result = b2.commit();
  reclaimer.retire(2, result.freed);
  table.publish(2, encodeTreeHeader(tree.descriptor, result.root));
  t.is(reclaimer.reclaim(), 0);
  for (const id of result.freed) t.true(store.isAllocated(id));
  table.unpin(slot);
  t.is(reclaimer.reclaim(), result.freed.length);
  t.is(table.oldestPinned(), undefined);
});

test('duplicates: deleting a key removes every value, across many leaves', (t) => {
  const d = makeDescriptor({ key: { kind: 'variable', prefixBytes: 1 }, value: { kind: 'variable', prefixBytes: 1 }, duplicates: true });
  const { tree, store } = fresh(d, 512);
  const b = tree.begin();
  for (const k of ['a', 'b', 'c']) for (let v = 0; v < 300; v++) b.put(enc(k), enc(`value-${String(v).padStart(4, '0')}`));
  b.commit();
  t.deepEqual(check(tree), []);
  const b2 = tree.begin();
  t.true(b2.delete(enc('b')));
  t.false(b2.delete(enc('b')));
  t.true(b2.delete(enc('a'), enc('value-0007')));
  for (const id of b2.commit().freed) store.free(id);
  t.deepEqual(check(tree), []);
  t.is(tree.current.count, 599);
  t.deepEqual(tree.current.getAll(enc('b')), []);
  t.is(tree.current.getAll(enc('a')).length, 299);
  t.is(dec(tree.current.get(enc('c'))), 'value-0000');
  const b3 = tree.begin();
  t.true(b3.delete(enc('a')));
  t.true(b3.delete(enc('c')));
  const result = b3.commit();
  t.is(result.root.kind, 'empty');
  for (const id of result.freed) store.free(id);
  t.is(store.allocatedPageCount, 0);
});

test('a bounded page cache stays bounded and changes nothing but speed', (t) => {
  const store = new MemoryPageStore({ pageSizeBytes: 512 });
  const pager = new Pager(store, { cachePagesMax: 4 });
  const tree = openTree(pager, makeDescriptor(), EMPTY_ROOT);
  const r = new Random(5);
  const model = new Map<string, string>();
  for (let round = 0; round < 20; round++) {
    const b = tree.begin();
    for (let i = 0; i < 100; i++) {
      const k = `k${r.int(500)}`;
      const v = `v${r.int(1e6)}`;
      b.put(enc(k), enc(v));
      model.set(k, v);
    }
    b.commit();
    t.true(pager.cachedPageCount <= 4);
  }
  for (const [k, v] of model) t.is(dec(tree.current.get(enc(k))), v);
  t.true(pager.cachedPageCount <= 4);
  t.deepEqual(check(tree), []);
  t.true(isErrorCode(t.throws(() => new Pager(store, { cachePagesMax: 0 })), 'EINVAL'));
});
