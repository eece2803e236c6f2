/**
 * tools/io.ts: what a command may touch of the process — its output streams — plus the usage
 * error and the store-opening guard shared by the commands. Commands write only through `Io`,
 * so tests run the CLI in-process and capture both streams.
 */
import { stat } from 'node:fs/promises';
import { EbofsError, open, type EbofsOptions, type EbofsStore } from '../engine/index.js';

/** The output side of a command: results to `out` (stdout), diagnostics and progress to `err`. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** Whether stderr is a terminal (live progress lines rewrite themselves). */
  readonly errIsTTY: boolean;
}

/** An `Io` over the process's streams. */
export function processIo(): Io {
  return {
    out: (text) => { process.stdout.write(text); },
    err: (text) => { process.stderr.write(text); },
    errIsTTY: process.stderr.isTTY === true,
  };
}

/** A bad command line: exit status 2, message plus the command's usage. */
export class UsageError extends Error {
  constructor(message: string, readonly usage: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Exit statuses of every command. */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** Two superblocks: anything shorter cannot be a store. */
const STORE_BYTES_MIN = 2 * 4096;

/**
 * Opens the store at `path` (replaying its journal). A regular file too short to hold the two
 * superblocks is reported as EFORMAT ("not an ebofs store") rather than as the device layer's
 * size error, which would not tell the user what is wrong.
 */
export async function openStore(path: string, options: EbofsOptions = {}): Promise<EbofsStore> {
  const info = await stat(path).catch((err: unknown) => {
    const code = (err as { code?: string }).code;
    if (code === 'ENOENT') throw new EbofsError('ENOENT', `no such store file: ${path}`, { cause: err });
    throw new EbofsError('EIO', `cannot stat ${path}`, { cause: err });
  });
  if (info.isFile() && info.size < STORE_BYTES_MIN) {
    throw new EbofsError('EFORMAT', `not an ebofs store: ${path} is ${info.size} bytes (no superblock)`);
  }
  try {
    return await open(path, options);
  } catch (err) {
    if (err instanceof EbofsError && err.code === 'EFORMAT') {
      throw new EbofsError('EFORMAT', `${path}: ${err.message.replace(/^EFORMAT: /, '')}`, { cause: err });
    }
    throw err;
  }
}

/** Whether a path exists (any kind of file). */
export async function pathExists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false);
}
