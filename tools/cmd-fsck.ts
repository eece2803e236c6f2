/**
 * tools/cmd-fsck.ts: `ebofs fsck <path>` — mounts the store (which replays the journal), runs
 * the engine's invariant checker and prints its findings. Exit 1 when there is any finding.
 * fsck never repairs; mounting does replay the journal and checkpoint, as any mount would.
 */
import type { EbofsStore, FsckFinding } from '../engine/index.js';
import { type Command, flagOption } from './command.js';
import { EXIT_FAILURE, EXIT_OK, type Io, openStore } from './io.js';
import { ProgressLine } from './progress.js';

const USAGE = `usage: ebofs fsck <path> [--deep] [--json]

Mounts the store (replaying its journal) and checks every invariant: tree order and page
checksums, every page and extent referenced once, space accounting, the journal.
Exit status 0 when clean, 1 when there are findings.

options:
  --deep       also read every data block and verify its checksum
  --json       print one JSON object: { path, deep, clean, seconds, findings }
  -h, --help   show this help
`;

/** Runs fsck on an open store, with a progress line on a terminal while data is verified. */
export async function runFsck(store: EbofsStore, deep: boolean, io: Io): Promise<FsckFinding[]> {
  let done = 0;
  let total = 0;
  const sink = { write: (t: string) => io.err(t), isTTY: io.errIsTTY };
  const text = (): string => (total > 0
    ? `fsck: verifying data blocks ${done}/${total} (${Math.floor((100 * done) / total)}%)`
    : 'fsck: checking trees, extents, space and the journal');
  const progress = new ProgressLine(sink, text);
  if (io.errIsTTY) progress.start();
  try {
    return await store.fsck({ deep, onProgress: (d, t) => { done = d; total = t; } });
  } finally {
    progress.stop();
  }
}

/** One line per finding: `CODE  location: message`. */
export function formatFindings(findings: readonly FsckFinding[]): string {
  return findings.map((f) => `${f.code.padEnd(9)} ${f.location}: ${f.message}\n`).join('');
}

export const fsckCommand: Command = {
  name: 'fsck',
  summary: 'check a store (journal replay, then every invariant); exit 1 on findings',
  usage: USAGE,
  positionalNames: ['<path>'],
  options: { deep: { type: 'boolean' }, json: { type: 'boolean' } },
  async run(args, io) {
    const path = args.positionals[0]!;
    const deep = flagOption(args, 'deep');
    const started = performance.now();
    const store = await openStore(path);
    let findings: FsckFinding[];
    try {
      findings = await runFsck(store, deep, io);
    } finally {
      await store.close();
    }
    const seconds = (performance.now() - started) / 1000;
    if (flagOption(args, 'json')) {
      io.out(`${JSON.stringify({ path, deep, clean: findings.length === 0, seconds, findings }, null, 2)}\n`);
    } else {
      io.out(formatFindings(findings));
      const verdict = findings.length === 0 ? 'clean' : `${findings.length} finding(s)`;
      io.out(`ebofs fsck: ${path}: ${verdict} (${deep ? 'deep' : 'metadata'} check, ${seconds.toFixed(2)} s)\n`);
    }
    return findings.length === 0 ? EXIT_OK : EXIT_FAILURE;
  },
};
