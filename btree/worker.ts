/**
 * Starts a worker thread running a TypeScript module (a reader of shared tree versions).
 * The module reads its input from `workerData.data` (see readerWorkerData).
 */
import { Worker, workerData } from 'node:worker_threads';

/** Spawns `moduleUrl` (a .ts file URL) in a worker with `data` as its input. */
export function spawnReaderWorker(moduleUrl: URL, data: unknown): Worker {
  const bootstrap = new URL('./worker-bootstrap.mjs', import.meta.url);
  return new Worker(bootstrap, { workerData: { moduleUrl: moduleUrl.href, data } });
}

/** Inside a worker started by spawnReaderWorker: its input. */
export function readerWorkerData<T>(): T {
  return (workerData as { data: T }).data;
}
