/**
 * Conformance cases: listing (ManyObjectTest, HashCollisionSorting, MultipoolListTest, TwoHash,
 * names with every byte value, hash 0xffffffff), move-rename (MoveRename, Rename,
 * BigRGWObjectName) and split/merge (ColSplitTest, MergeCollection).
 */
import type { ExecutionContext } from 'ava';
import { Transaction } from '../../engine/transaction.js';
import { compareGhobjects, formatGhobject, GHOBJECT_MAX, type Ghobject } from '../../engine/types.js';
import type { ObjectStore } from '../../engine/types-store.js';
import { OBJECT_KEY_BYTES_MAX, OBJECT_NAME_BYTES_MAX, OBJECT_NAMESPACE_BYTES_MAX } from '../../engine/limits.js';
import { CID, type Harness, obj, rejects, rejectsTx, text } from './harness.js';

type Case = (t: ExecutionContext, h: Harness) => Promise<void>;

/** Lists everything with pages of `max`, checking the paging contract on the way. */
async function listAll(t: ExecutionContext, store: ObjectStore, cid: string, max: number): Promise<Ghobject[]> {
  const out: Ghobject[] = [];
  let start: Ghobject | undefined;
  for (let pages = 0; pages < 100_000; pages++) {
    const page = await store.listObjects(cid, { ...(start === undefined ? {} : { start }), max });
    t.true(page.objects.length <= max);
    out.push(...page.objects);
    if (page.next.max) return out;
    t.is(page.objects.length, max, 'a short page only at the end');
    start = page.next;
  }
  throw new Error('listing did not finish');
}

const names = (oids: readonly Ghobject[]): string[] => oids.map(formatGhobject);

function sorted(oids: readonly Ghobject[]): Ghobject[] {
  return [...oids].sort(compareGhobjects);
}

export const listCases: Record<string, Case> = {
  async 'many objects: paginated listing is sorted, complete, and honours start/end/max'(t, h) {
    const oids: Ghobject[] = [];
    const tx = new Transaction().createCollection(CID, 0);
    for (let i = 0; i < 400; i++) {
      const o = obj(h.random.bytes(h.random.int(12)), h.random.chance(0.3) ? h.random.int(4) : h.random.u32(),
        { snap: h.random.chance(0.2) ? h.random.int(5) : undefined, namespace: h.random.chance(0.2) ? 'ns' : '' });
      if (oids.some((x) => compareGhobjects(x, o) === 0)) continue;
      oids.push(o);
      tx.touch(CID, o);
    }
    await h.apply(tx);
    const want = sorted(oids);
    for (const max of [1, 7, 50, 399, 400, 10_000]) t.deepEqual(names(await listAll(t, h.store, CID, max)), names(want));
    const exact = await h.store.listObjects(CID, { max: want.length });
    t.true(exact.next.max, 'exactly max objects remaining: next is MAX');
    for (let k = 0; k < 20; k++) {
      const i = h.random.int(want.length);
      const j = i + h.random.int(want.length - i);
      const start = want[i] as Ghobject;
      const end = want[j] as Ghobject;
      const page = await h.store.listObjects(CID, { start, end });
      t.deepEqual(names(page.objects), names(want.slice(i, j)));
      t.is(formatGhobject(page.next), formatGhobject(end), 'stopping at end: next is the first object >= end');
    }
    for (let k = 0; k < 30; k++) {
      // Bounds that are not stored objects (ScrubTest resumes from hash boundaries).
      const start = obj(h.random.bytes(h.random.int(3)), h.random.chance(0.5) ? h.random.int(4) : h.random.u32());
      const end = obj(h.random.bytes(h.random.int(3)), h.random.u32());
      const max = h.random.range(0, 40);
      const inRange = want.filter((o) => compareGhobjects(o, start) >= 0);
      const expected = inRange.filter((o) => compareGhobjects(o, end) < 0).slice(0, max);
      const page = await h.store.listObjects(CID, { start, end, max });
      t.deepEqual(names(page.objects), names(expected));
      const rest = inRange.slice(expected.length);
      t.is(formatGhobject(page.next), rest[0] === undefined ? 'GHMAX' : formatGhobject(rest[0]), 'next: first unreturned');
    }
    const none = await h.store.listObjects(CID, { start: GHOBJECT_MAX });
    t.deepEqual(none.objects, []);
    t.true(none.next.max);
    await h.remount(t);
  },

  async 'hash collisions sort by namespace, key, name, snap, generation'(t, h) {
    const oids: Ghobject[] = [];
    for (const ns of ['', 'n']) {
      for (const name of ['', 'a', 'a\0', 'ab', 'b']) {
        for (const key of ['', 'k']) {
          for (const snap of [1, undefined]) oids.push(obj(Buffer.from(name, 'latin1'), 0x1234, { namespace: ns, key, snap }));
        }
      }
    }
    oids.push(obj('a', 0x1234, { generation: 3 }), obj('a', 0x1234, { shard: 0 }), obj('a', 0x1234, { shard: 2 }));
    const tx = new Transaction().createCollection(CID, 0);
    for (const o of h.random.shuffle([...oids])) tx.touch(CID, o);
    await h.apply(tx);
    const want = sorted(oids);
    t.deepEqual(names(await listAll(t, h.store, CID, 3)), names(want));
    for (let i = 0; i < want.length; i += 5) {
      const j = Math.min(want.length - 1, i + 7);
      const page = await h.store.listObjects(CID, { start: want[i] as Ghobject, end: want[j] as Ghobject });
      t.deepEqual(names(page.objects), names(want.slice(i, j)));
      t.is(formatGhobject(page.next), formatGhobject(want[j] as Ghobject));
    }
  },

  async 'multi-pool and temp objects: temp pool -2-p sorts first and is listed'(t, h) {
    const tx = new Transaction().createCollection(CID, 0);
    const regular = [obj('r1', 5), obj('r2', 9)];
    const temp = [obj('t1', 5, { pool: -3 }), obj('t2', 1, { pool: -3 })];
    for (const o of [...regular, ...temp]) tx.touch(CID, o);
    await h.apply(tx);
    const all = await listAll(t, h.store, CID, 2);
    t.deepEqual(names(all), names([...sorted(temp), ...sorted(regular)]));
  },

  async 'empty names differing only by hash, and hash 0xffffffff'(t, h) {
    const oids = [obj('', 1), obj('', 2), obj('', 0), obj('', 0xffff_ffff), obj('x', 0xffff_ffff)];
    const tx = new Transaction().createCollection(CID, 0);
    for (const o of oids) tx.touch(CID, o);
    await h.apply(tx);
    t.deepEqual(names(await listAll(t, h.store, CID, 2)), names(sorted(oids)));
    t.true(await h.store.exists(CID, obj('', 0xffff_ffff)));
  },

  async 'names with every byte value'(t, h) {
    const oids: Ghobject[] = [];
    for (let b = 0; b < 256; b++) oids.push(obj(Uint8Array.of(b), 7), obj(Uint8Array.of(0x61, b, 0), 7));
    oids.push(obj(h.random.bytes(200), 7), obj(Buffer.alloc(100, 0), 7), obj(Buffer.alloc(99, 0), 7));
    const tx = new Transaction().createCollection(CID, 0);
    for (const o of oids) tx.write(CID, o, 0, o.name.subarray(0, 8));
    await h.apply(tx);
    t.deepEqual(names(await listAll(t, h.store, CID, 100)), names(sorted(oids)));
    for (const o of [oids[0], oids[1], oids[511]] as Ghobject[]) {
      t.true((await h.store.read(CID, o)).equals(Buffer.from(o.name.subarray(0, 8))));
    }
    await h.remount(t);
  },

  async 'long names, keys and namespaces up to the limits (BigRGWObjectName)'(t, h) {
    const long = (n: number, fill: number): Buffer => Buffer.alloc(n, fill);
    const oids = [
      obj(long(OBJECT_NAME_BYTES_MAX, 0x62), 7), obj(long(OBJECT_NAME_BYTES_MAX, 0), 7), obj(long(1000, 0x61), 7),
      obj(long(1000, 0x61), 7, { key: long(OBJECT_KEY_BYTES_MAX, 0x6b), namespace: long(OBJECT_NAMESPACE_BYTES_MAX, 0x6e) }),
      obj(h.random.bytes(1500), 7),
    ];
    const tx = new Transaction().createCollection(CID, 0);
    for (const o of oids) tx.write(CID, o, 0, 'v').setattr(CID, o, 'a', 'b');
    const c = obj(long(1500, 0x52), 7);
    tx.touch(CID, c).collectionMoveRename(CID, c, CID, obj('d', 7)).touch(CID, c).collectionMoveRename(CID, c, CID, obj('e', 7));
    await h.apply(tx);
    t.deepEqual(names(await listAll(t, h.store, CID, 3)), names(sorted([...oids, obj('d', 7), obj('e', 7)])));
    t.false(await h.store.exists(CID, c));
    await h.remount(t);
    await rejects(t, Promise.resolve().then(() => obj(long(OBJECT_NAME_BYTES_MAX + 1, 0x62))), 'E2BIG');
  },

  async 'move-rename moves data, xattrs and omap; EEXIST; missing source is a no-op'(t, h) {
    const a = obj('a');
    const b = obj('b');
    await h.apply(new Transaction().createCollection(CID, 0).write(CID, a, 0, 'data').setattr(CID, a, 'x', 'y')
      .omapSetHeader(CID, a, 'h').omapSetKeys(CID, a, { k: 'v' }));
    await h.apply(new Transaction().collectionMoveRename(CID, a, CID, b));
    t.false(await h.store.exists(CID, a));
    t.is(text(await h.store.read(CID, b)), 'data');
    t.is(text(await h.store.getattr(CID, b, 'x')), 'y');
    t.is(text(await h.store.omapGetHeader(CID, b)), 'h');
    t.deepEqual((await h.store.omapGetKeys(CID, b)).map(text), ['k']);
    const temp = obj('final', 5, { pool: -3 });
    await h.apply(new Transaction().write(CID, temp, 0, 'staged').collectionMoveRename(CID, temp, CID, obj('final', 5)));
    t.is(text(await h.store.read(CID, obj('final', 5))), 'staged', 'temp (pool -2-p) to final');
    t.false(await h.store.exists(CID, temp));
    await h.apply(new Transaction().collectionMoveRename(CID, obj('nothing'), CID, obj('c')));
    t.false(await h.store.exists(CID, obj('c')));
    await h.apply(new Transaction().touch(CID, a));
    await rejectsTx(t, h, new Transaction().write(CID, a, 0, 'zz').collectionMoveRename(CID, a, CID, b), 'EEXIST', 1);
    await h.apply(new Transaction().remove(CID, b).collectionMoveRename(CID, a, CID, b).write(CID, a, 0, 'new'));
    t.is((await h.store.stat(CID, b)).size, 0, 'renamed the touched object');
    t.is(text(await h.store.read(CID, a)), 'new', 'old name is free: a new object');
    const c = obj(Buffer.alloc(100, 0x52));
    const d = obj('d');
    await h.apply(new Transaction().touch(CID, c).collectionMoveRename(CID, c, CID, d).touch(CID, c)
      .collectionMoveRename(CID, c, CID, obj('e')));
    t.true(await h.store.exists(CID, d));
    t.true(await h.store.exists(CID, obj('e')));
    t.false(await h.store.exists(CID, c));
    await h.remount(t);
  },

  async 'split and merge by hash bits; objects outside a PG are refused'(t, h) {
    const parent = '2.5_head';
    const child = '2.d_head'; // seed 5 | 1 << 3
    const oids: Ghobject[] = [];
    const tx = new Transaction().createCollection(parent, 3);
    for (let i = 0; i < 200; i++) {
      const o = obj(`o${i}`, ((h.random.u32() & ~7) | 5) >>> 0, { pool: 2 });
      oids.push(o);
      tx.write(parent, o, 0, `v${i}`);
    }
    await h.apply(tx);
    await rejectsTx(t, h, new Transaction().touch(parent, obj('out', 4, { pool: 2 })), 'EINVAL', 0);
    await rejectsTx(t, h, new Transaction().createCollection(child, 3).splitCollection(parent, 4, 0xd, child), 'EINVAL', 1);
    await h.apply(new Transaction().createCollection(child, 4).splitCollection(parent, 4, 0xd, child));
    t.is(await h.store.collectionBits(parent), 4);
    t.is(await h.store.collectionBits(child), 4);
    const moved = sorted(oids.filter((o) => (o.hash & 15) === 0xd));
    const kept = sorted(oids.filter((o) => (o.hash & 15) === 5));
    t.deepEqual(names(await listAll(t, h.store, child, 64)), names(moved));
    t.deepEqual(names(await listAll(t, h.store, parent, 64)), names(kept));
    const m = moved[0];
    if (m !== undefined) t.is(text(await h.store.read(child, m)), `v${oids.indexOf(m)}`);
    await h.remount(t);
    await rejectsTx(t, h, new Transaction().mergeCollection(child, parent, 4), 'EINVAL', 0); // child objects outside
    await h.apply(new Transaction().mergeCollection(child, parent, 3));
    t.false(await h.store.collectionExists(child));
    t.is(await h.store.collectionBits(parent), 3);
    t.deepEqual(names(await listAll(t, h.store, parent, 64)), names(sorted(oids)));
    await rejectsTx(t, h, new Transaction().removeCollection(parent), 'ENOTEMPTY', 0);
    const rm = new Transaction();
    for (const o of oids) rm.remove(parent, o);
    await h.apply(rm.removeCollection(parent));
    t.false(await h.store.collectionExists(parent));
  },
};
