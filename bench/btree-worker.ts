/**
 * Worker entry of bench/btree.ts (not a benchmark by itself): random gets against a published
 * ebofs tree version (through SharedReader) or an lmdb-js environment opened in this thread.
 */
import { isMainThread, parentPort } from 'node:worker_threads';
import { open } from 'lmdb';
import { Random } from '../common/random.js';
import { SharedReader, readerWorkerData, type SharedTreeHandle } from '../btree/index.js';
import type { Bench } from './harness.js';

export interface GetWorkerData {
  system: 'ebofs' | 'lmdb';
  keyBuffer: SharedArrayBuffer;
  keyOffsets: SharedArrayBuffer;
  gets: number;
  handle: SharedTreeHandle;
  lmdbDir: string;
  seed: number;
}

export interface GetWorkerResult {
  gets: number;
  elapsedMs: number;
}

function keysOf(input: GetWorkerData): Uint8Array[] {
  const offsets = new Uint32Array(input.keyOffsets);
  const bytes = new Uint8Array(input.keyBuffer);
  const keys: Uint8Array[] = [];
  for (let i = 0; i + 1 < offsets.length; i++) keys.push(Buffer.from(bytes.slice(offsets[i]!, offsets[i + 1]!)));
  return keys;
}

function run(input: GetWorkerData): GetWorkerResult {
  const keys = keysOf(input);
  const r = new Random(input.seed);
  const picks = new Uint32Array(input.gets);
  for (let i = 0; i < picks.length; i++) picks[i] = r.int(keys.length);
  let sink = 0;
  let get: (key: Uint8Array) => Uint8Array | undefined;
  let done = (): void => {};
  if (input.system === 'ebofs') {
    const reader = new SharedReader(input.handle);
    const version = reader.open(reader.pin().payload);
    get = (key) => version.get(key);
    done = () => reader.close();
  } else {
    const db = open<Buffer, Buffer>({ path: input.lmdbDir, noSync: true, keyEncoding: 'binary', encoding: 'binary', readOnly: true });
    get = (key) => db.get(key as Buffer);
    done = () => void db.close();
  }
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < picks.length; i++) sink += get(keys[picks[i]!]!)!.length;
  const elapsedMs = Number(process.hrtime.bigint() - t0) / 1e6;
  done();
  if (sink === 0) throw new Error('no values read');
  return { gets: input.gets, elapsedMs };
}

if (!isMainThread && parentPort !== null) {
  parentPort.postMessage(run(readerWorkerData<GetWorkerData>()));
}

const notABench: Bench = {
  describe: 'worker entry of the btree benchmark (run `npm run bench -- btree`)',
  async run() {
    return [];
  },
};
export default notABench;
