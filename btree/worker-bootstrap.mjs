// Worker entry that registers the tsx loader, then imports the TypeScript module named in
// workerData.moduleUrl. Node 20 does not carry `--import tsx` hooks into worker threads, so
// spawnReaderWorker (worker.ts) starts every worker through this file.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.moduleUrl);
