/**
 * Goal: the public entry exports the documented API, and its types compose the way a caller
 * writes them (a compile-time check as much as a runtime one).
 */
import test from 'ava';
import * as ebofs from '../../../engine/index.js';
import {
  type ObjectStore, type ObjectId, type Op, MemStore, Transaction, TransactionError, EbofsError, GHOBJECT_MAX,
  normalizeObjectId, encodeOidKey, validateTransactions, dumpStoreState,
} from '../../../engine/index.js';

test('public entry exports the object model, MemStore and errors', async (t) => {
  for (const name of ['MemStore', 'Transaction', 'TransactionError', 'EbofsError', 'CorruptionError', 'encodeOidKey',
    'decodeOidKey', 'compareGhobjects', 'parseCollectionId', 'cephObjectHash', 'validateTransactions',
    'dumpStoreState', 'OBJECT_SIZE_BYTES_MAX', 'OP_TAGS', 'CEPH_NOSNAP', 'GEOMETRY_BYTES_MIN', 'GEOMETRY_BYTES_MAX',
    'ALLOC_UNIT_BYTES_DEFAULT', 'CSUM_BLOCK_BYTES_DEFAULT', 'CSUMS_PER_BLOCK_MAX']) {
    t.true(name in ebofs, name);
  }
  const store: ObjectStore = new MemStore();
  const id: ObjectId = { pool: 1, name: 'foo' };
  const tx = new Transaction().createCollection('1.0_head', 0).write('1.0_head', id, 0, 'x');
  const ops: readonly Op[] = tx.ops;
  t.is(ops.length, 2);
  t.deepEqual(validateTransactions((store as MemStore).validationView(), [tx]).skipped, [[false, false]]);
  await store.queueTransaction(tx);
  t.true((await dumpStoreState(store)).includes('foo'));
  t.true(encodeOidKey(normalizeObjectId(id)).length > 0);
  t.true(GHOBJECT_MAX.max);
  const err = await t.throwsAsync(store.queueTransaction(new Transaction().createCollection('1.0_head', 0)));
  t.true(err instanceof TransactionError && err instanceof EbofsError);
  await store.close();
});
