/**
 * Goal: MemStore — the reference every other store is compared with — is itself right.
 * Method: seeded random op sequences on a few objects, applied to MemStore and to a trivial
 * model (a Buffer per object's data, Maps for xattrs and omap), both compared in full after
 * every transaction. Only ops that succeed under Ceph's rules are generated, so the model
 * stays trivial; rejection is covered by the conformance suite and the validator test.
 */
import test from 'ava';
import { MemStore } from '../../../engine/memstore.js';
import { Transaction } from '../../../engine/transaction.js';
import { normalizeObjectId, type Ghobject } from '../../../engine/types.js';
import { Random } from '../../../common/random.js';
import { suiteSeed } from '../../conformance/harness.js';

const C = '1.0_head';
const NAMES = ['a', 'b', 'c'];
const SIZE_MAX = 40_000;

interface ModelObject { data: Buffer; attrs: Map<string, string>; omap: Map<string, string>; header: string }

const oidOf = (name: string, snap?: number): Ghobject => normalizeObjectId({ pool: 1, name, hash: 7, snap });
const clone = (o: ModelObject): ModelObject => ({
  data: Buffer.from(o.data), attrs: new Map(o.attrs), omap: new Map(o.omap), header: o.header,
});

function resize(data: Buffer, size: number): Buffer {
  const out = Buffer.alloc(size);
  data.copy(out, 0, 0, Math.min(size, data.length));
  return out;
}

/** Adds one op valid under the model's current state to `tx` and applies it to `model`. */
function step(r: Random, tx: Transaction, model: Map<string, ModelObject>): void {
  const name = r.pick(NAMES);
  const oid = oidOf(name);
  const cur = model.get(name);
  const fresh = (): ModelObject => ({ data: Buffer.alloc(0), attrs: new Map(), omap: new Map(), header: '' });
  const off = r.chance(0.3) ? r.int(9000) : r.int(SIZE_MAX / 2);
  const len = r.chance(0.1) ? 0 : r.int(SIZE_MAX / 2 - 1);
  switch (r.int(14)) {
    case 0: case 1: {
      const bytes = r.bytes(len);
      const o = cur ?? fresh();
      if (len > 0 && off + len > o.data.length) o.data = resize(o.data, off + len);
      bytes.copy(o.data, off);
      model.set(name, o);
      tx.write(C, oid, off, bytes);
      return;
    }
    case 2: {
      const o = cur ?? fresh();
      if (len > 0 && off + len > o.data.length) o.data = resize(o.data, off + len);
      o.data.fill(0, off, Math.min(o.data.length, off + len));
      model.set(name, o);
      tx.zero(C, oid, off, len);
      return;
    }
    case 3: if (cur !== undefined) { cur.data = resize(cur.data, off); } tx.truncate(C, oid, off); return;
    case 4: model.delete(name); tx.remove(C, oid); return;
    case 5: if (cur === undefined) model.set(name, fresh()); tx.touch(C, oid); return;
    case 6: if (cur === undefined) return; { const k = `x${r.int(4)}`; const v = `v${r.int(100)}`; cur.attrs.set(k, v); tx.setattr(C, oid, k, v); } return;
    case 7: if (cur === undefined) return; { const k = `x${r.int(4)}`; cur.attrs.delete(k); tx.rmattr(C, oid, k); } return;
    case 8: if (cur === undefined) return; { const k = `k${r.int(10)}`; const v = `${r.int(1000)}`; cur.omap.set(k, v); tx.omapSetKeys(C, oid, { [k]: v }); } return;
    case 9: {
      if (cur === undefined) return;
      const [x, y] = [`k${r.int(10)}`, `k${r.int(10)}`];
      for (const k of [...cur.omap.keys()]) if (k >= x && k < y) cur.omap.delete(k);
      tx.omapRmKeyRange(C, oid, x, y);
      return;
    }
    case 10: if (cur !== undefined) { cur.omap.clear(); cur.header = ''; } tx.omapClear(C, oid); return;
    case 11: if (cur === undefined) return; { const h = `h${r.int(9)}`; cur.header = h; tx.omapSetHeader(C, oid, h); } return;
    case 12: {
      const target = r.pick(NAMES.filter((n) => n !== name));
      if (cur === undefined) return;
      model.set(target, clone(cur));
      tx.clone(C, oid, oidOf(target));
      return;
    }
    default: {
      const target = r.pick(NAMES.filter((n) => n !== name));
      if (cur === undefined) return;
      const so = r.int(cur.data.length + 1);
      const l = r.int(cur.data.length - so + 1);
      const to = r.int(SIZE_MAX / 2);
      const t = model.get(target) ?? fresh();
      if (l > 0 && to + l > t.data.length) t.data = resize(t.data, to + l);
      cur.data.copy(t.data, to, so, so + l);
      model.set(target, t);
      tx.cloneRange(C, oid, oidOf(target), so, l, to);
    }
  }
}

async function compare(store: MemStore, model: Map<string, ModelObject>): Promise<string | undefined> {
  const listed = (await store.listObjects(C)).objects.map((o) => Buffer.from(o.name).toString());
  if (listed.sort().join() !== [...model.keys()].sort().join()) return `objects ${listed} vs ${[...model.keys()]}`;
  for (const [name, o] of model) {
    const oid = oidOf(name);
    if (!(await store.read(C, oid)).equals(o.data)) return `${name}: data`;
    if ((await store.stat(C, oid)).size !== o.data.length) return `${name}: size`;
    const attrs = [...(await store.getattrs(C, oid))].map(([k, v]) => `${k}=${v}`).join();
    if (attrs !== [...o.attrs].sort().map(([k, v]) => `${k}=${v}`).join()) return `${name}: attrs ${attrs}`;
    const omap: string[] = [];
    for await (const [k, v] of store.omapIterate(C, oid)) omap.push(`${k}=${v}`);
    if (omap.join() !== [...o.omap].sort().map(([k, v]) => `${k}=${v}`).join()) return `${name}: omap ${omap}`;
    if ((await store.omapGetHeader(C, oid)).toString() !== o.header) return `${name}: header`;
  }
  return undefined;
}

test('MemStore matches a trivial model under random valid ops', async (t) => {
  const seed = suiteSeed();
  t.log(`seed ${seed}`);
  const r = new Random(seed);
  const store = new MemStore();
  await store.queueTransaction(new Transaction().createCollection(C, 0));
  const model = new Map<string, ModelObject>();
  for (let round = 0; round < 400; round++) {
    const tx = new Transaction();
    for (let n = r.range(1, 5); n > 0; n--) step(r, tx, model);
    await store.queueTransaction(tx);
    const diff = await compare(store, model);
    if (diff !== undefined) {
      t.fail(`round ${round}: ${diff} (seed ${seed})`);
      return;
    }
  }
  t.pass();
});
