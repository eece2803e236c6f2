/**
 * Worker entry for workers.test.ts: pins published generations, scans the whole tree, and
 * compares the scan's digest and count with what the writer recorded for that generation
 * before publishing it. Reports { scans, mismatches, generations } and exits.
 */
import { parentPort } from 'node:worker_threads';
import { SharedReader, readerWorkerData, type SharedTreeHandle } from '../../../btree/index.js';
import { scanDigest } from './digest.js';

interface Data { handle: SharedTreeHandle; digests: SharedArrayBuffer; scans: number }

const data = readerWorkerData<Data>();
const reader = new SharedReader(data.handle);
const digests = new Int32Array(data.digests);
const counts = new Int32Array(data.digests, digests.length / 2 * 4);
let mismatches = 0;
const generations = new Set<number>();
const problems: string[] = [];
for (let s = 0; s < data.scans; s++) {
  const pinned = reader.pin();
  const version = reader.open(pinned.payload);
  const { digest, count } = scanDigest(version);
  const want = Atomics.load(digests, pinned.generation);
  const wantCount = Atomics.load(counts, pinned.generation);
  if (digest !== want || count !== wantCount || version.count !== count) {
    mismatches++;
    if (problems.length < 3) problems.push(`generation ${pinned.generation}: digest ${digest}/${want}, count ${count}/${wantCount}/${version.count}`);
  }
  generations.add(pinned.generation);
  reader.unpin();
}
reader.close();
parentPort!.postMessage({ scans: data.scans, mismatches, generations: generations.size, problems });
