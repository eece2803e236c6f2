/**
 * Goal: object ids whose encoded keys exceed a btree key (long-key form, onode-keys.ts) list
 * in exactly Ceph's order among neighbours sharing long prefixes, paginate, rename, and
 * survive remount — compared against MemStore.
 * Method: names that share 890..2048-byte prefixes, with and without zero bytes.
 */
import test from 'ava';
import { MemDevice } from '../../../engine/device/index.js';
import { mkfs, open } from '../../../engine/lifecycle.js';
import { MemStore } from '../../../engine/memstore.js';
import type { EbofsStore } from '../../../engine/store.js';
import { Transaction } from '../../../engine/transaction.js';
import { type Ghobject, formatGhobject, normalizeObjectId } from '../../../engine/types.js';
import type { ObjectStore } from '../../../engine/types-store.js';
import { dumpStoreState } from '../../../engine/types-store.js';
import { Random } from '../../../common/random.js';

const C = '1.0_head';

function names(): Buffer[] {
  const r = new Random(11);
  const out: Buffer[] = [];
  for (const base of [880, 899, 900, 901, 950, 961, 1200, 2040]) {
    const stem = Buffer.alloc(base, 0x61);
    out.push(stem, Buffer.concat([stem, Buffer.from('b')]), Buffer.concat([stem, Buffer.from([0])]), Buffer.concat([stem, r.bytes(8)]));
  }
  out.push(Buffer.alloc(2048, 0), Buffer.alloc(2047, 0), Buffer.alloc(1000, 0xff));
  return out;
}

async function listAll(store: ObjectStore, max: number): Promise<string[]> {
  const seen: string[] = [];
  let start: Ghobject | undefined;
  for (let page = 0; page < 1000; page++) {
    const { objects, next } = await store.listObjects(C, { ...(start === undefined ? {} : { start }), max });
    seen.push(...objects.map(formatGhobject));
    if (next.max) return seen;
    start = next;
  }
  throw new Error('listing did not end');
}

test('long object keys list, paginate, rename and remount exactly like MemStore', async (t) => {
  const device = new MemDevice(128 * 1024 * 1024);
  await mkfs(device);
  let ebofs: ObjectStore = await open(device.reopen(), { checkpoint: { intervalMs: 0 } });
  const mem = new MemStore();
  const setup = new Transaction().createCollection(C, 0);
  for (const name of names()) setup.write(C, { pool: 1, name, hash: 7 }, 0, Buffer.from(name.subarray(0, 10)));
  for (const s of [ebofs, mem]) await s.queueTransaction(setup);
  const rename = new Transaction().collectionMoveRename(C, normalizeObjectId({ pool: 1, name: Buffer.alloc(2048, 0), hash: 7 }),
    C, normalizeObjectId({ pool: 1, name: Buffer.alloc(1999, 0x62), hash: 7 }));
  for (const s of [ebofs, mem]) await s.queueTransaction(rename);
  for (const max of [1, 3, 1000]) t.deepEqual(await listAll(ebofs, max), await listAll(mem, max), `max ${max}`);
  t.is(await dumpStoreState(ebofs), await dumpStoreState(mem));
  const dev = (ebofs as EbofsStore).state.device as MemDevice;
  await ebofs.close();
  ebofs = await open(dev.reopen(), { checkpoint: { intervalMs: 0 } });
  t.is(await dumpStoreState(ebofs), await dumpStoreState(mem));
  t.deepEqual(await (ebofs as EbofsStore).fsck(), []);
  await ebofs.close();
});

test('a tiny metadata cache still reads every object exactly (pages re-read from the device)', async (t) => {
  const device = new MemDevice(64 * 1024 * 1024);
  await mkfs(device);
  const store = await open(device.reopen(), { checkpoint: { intervalMs: 0 }, cacheBytes: 16 * 4096 });
  const tx = new Transaction().createCollection(C, 0);
  for (let i = 0; i < 400; i++) tx.write(C, { pool: 1, name: `o${i}`, hash: 1 }, 0, Buffer.from(`v${i}`)).setattr(C, { pool: 1, name: `o${i}`, hash: 1 }, 'a', Buffer.alloc(300, i));
  await store.queueTransaction(tx);
  await (store as EbofsStore).checkpoint();
  for (let i = 0; i < 400; i += 7) t.is((await store.read(C, { pool: 1, name: `o${i}`, hash: 1 })).toString(), `v${i}`);
  t.is((await store.listObjects(C, { max: 1000 })).objects.length, 400);
  t.deepEqual(await (store as EbofsStore).fsck(), []);
  await store.close();
});
