/**
 * Goal: the `ebofs` command line works end to end on a real store file: mkfs, a short `run`
 * (the main job behind `npm start`), fsck, stat --json; bad command lines exit 2 with a
 * usage message; fsck of a file that is not a store says EFORMAT and exits 1.
 * Method: `main()` of tools/cli.ts in-process with captured stdout/stderr against a temp
 * directory (fast), plus one real `node bin/ebofs.mjs` child process to cover the launcher.
 */
import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { main } from '../../../tools/cli.js';
import type { Io } from '../../../tools/io.js';
import { parseSize, formatSize } from '../../../tools/format-size.js';
import { pgBits, pgMask, stableMod } from '../../../tools/pg.js';
import { hashMatches } from '../../../engine/index.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

interface Captured {
  code: number;
  out: string;
  err: string;
}

async function cli(...argv: string[]): Promise<Captured> {
  let out = '';
  let err = '';
  const io: Io = { out: (t) => { out += t; }, err: (t) => { err += t; }, errIsTTY: false };
  const code = await main(argv, io);
  return { code, out, err };
}

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'ebofs-cli-'));
}

test('mkfs, run, fsck and stat --json on a fresh store', async (t) => {
  const dir = await tempDir();
  try {
    const store = join(dir, 'store.img');
    const made = await cli('mkfs', store, '--size', '64M', '--journal', '4M');
    t.is(made.code, 0, made.err);
    t.regex(made.out, /created/);
    const again = await cli('mkfs', store, '--size', '64M');
    t.is(again.code, 1);
    t.regex(again.err, /^ebofs: EEXIST: .*--force/);
    const run = await cli('run', '--store', store, '--seconds', '1', '--clients', '2', '--pgs', '3', '--seed', '7');
    t.is(run.code, 0, `${run.out}\n${run.err}`);
    t.regex(run.out, /store +.*\(existing\)/);
    t.regex(run.out, /fsck +clean/);
    t.regex(run.out, /verify +ok/);
    t.regex(run.out, /device bytes per user byte/);
    const json = await cli('run', '--store', store, '--seconds', '0.5', '--clients', '2', '--pgs', '3', '--json');
    t.is(json.code, 0, json.err);
    const summary = JSON.parse(json.out) as {
      ok: boolean; ops: number; findings: unknown[]; deviceBytesPerUserByte: number;
    };
    t.true(summary.ok);
    t.true(summary.ops > 0);
    t.deepEqual(summary.findings, []);
    t.true(summary.deviceBytesPerUserByte > 0);
    const fsck = await cli('fsck', store, '--deep');
    t.is(fsck.code, 0, fsck.out);
    t.regex(fsck.out, /clean/);
    const stat = await cli('stat', store, '--json');
    t.is(stat.code, 0, stat.err);
    const facts = JSON.parse(stat.out) as {
      collections: { cid: string; bits: number; objects: number }[];
      statfs: { total: number };
    };
    t.deepEqual(facts.collections.map((c) => [c.cid, c.bits]), [['1.0_head', 2], ['1.1_head', 1], ['1.2_head', 2]]);
    t.true(facts.collections.every((c) => c.objects >= 1)); // at least the PG meta object
    t.is(facts.statfs.total, 64 * 1024 * 1024);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('mkfs --alloc-unit and --csum-block: the store gets that geometry; bad values are EINVAL, nothing created', async (t) => {
  const dir = await tempDir();
  try {
    const store = join(dir, 'geo.img');
    const made = await cli('mkfs', store, '--size', '64M', '--journal', '4M', '--alloc-unit', '64K', '--csum-block', '16K');
    t.is(made.code, 0, made.err);
    t.regex(made.out, /allocation unit 64 KiB, checksum block 16 KiB/);
    const stat = await cli('stat', store, '--json');
    const facts = JSON.parse(stat.out) as { allocUnitBytes: number; csumBlockBytes: number };
    t.deepEqual([facts.allocUnitBytes, facts.csumBlockBytes], [65536, 16384]);
    const bad = join(dir, 'bad.img');
    const r = await cli('mkfs', bad, '--size', '64M', '--alloc-unit', '48K');
    t.is(r.code, 1);
    t.regex(r.err, /^ebofs: EINVAL: allocation unit 49152 is not a power of two/);
    t.is(await cli('stat', bad).then((x) => x.code), 1, 'no store made');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('bad command lines exit 2 with a usage message', async (t) => {
  for (const argv of [[], ['frobnicate'], ['fsck'], ['fsck', 'a', 'b'], ['mkfs', 'x', '--size', '12Q'],
    ['run', '--clients', '0'], ['run', '--bogus'], ['stat', 'x', '--json=3']]) {
    const r = await cli(...argv);
    t.is(r.code, 2, `${argv.join(' ')}: ${r.err}`);
    t.regex(r.err, /usage: ebofs/, argv.join(' '));
  }
  const help = await cli('run', '--help');
  t.is(help.code, 0);
  t.regex(help.out, /usage: ebofs run/);
});

test('fsck of a file that is not a store: EFORMAT, exit 1, no stack trace', async (t) => {
  const dir = await tempDir();
  try {
    const small = join(dir, 'notes.txt');
    await writeFile(small, 'hello, not a store\n');
    const big = join(dir, 'zeros.bin');
    await writeFile(big, Buffer.alloc(1024 * 1024));
    for (const path of [small, big]) {
      const r = await cli('fsck', path);
      t.is(r.code, 1, r.err);
      t.regex(r.err, /^ebofs: EFORMAT: .*not an ebofs store/);
      t.notRegex(r.err, /\n\s+at /);
    }
    const run = await cli('run', '--store', big, '--seconds', '0.5');
    t.is(run.code, 1);
    t.regex(run.err, /^ebofs: EFORMAT: .*delete .*zeros\.bin to start over/);
    const missing = await cli('stat', join(dir, 'nope.img'));
    t.is(missing.code, 1);
    t.regex(missing.err, /^ebofs: ENOENT: /);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the bin launcher runs the CLI and passes the exit status through', async (t) => {
  const result = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
    execFile(process.execPath, [join(ROOT, 'bin/ebofs.mjs'), 'fsck'], { cwd: ROOT }, (error, _stdout, stderr) => {
      resolve({ code: error === null ? 0 : (error as { code?: number }).code ?? null, stderr });
    });
  });
  t.is(result.code, 2);
  t.regex(result.stderr, /usage: ebofs fsck/);
});

test('sizes and PG placement helpers', (t) => {
  t.is(parseSize('4K', 'x'), 4096);
  t.is(parseSize('64M', 'x'), 64 * 2 ** 20);
  t.is(parseSize('1GiB', 'x'), 2 ** 30);
  t.is(parseSize('4096', 'x'), 4096);
  t.throws(() => parseSize('1.5', 'x'), { message: /whole/ });
  t.is(formatSize(64 * 2 ** 20), '64 MiB');
  // Every hash lands in a PG whose collection admits it, for power-of-two and other counts.
  for (const pgCount of [1, 3, 6, 8, 12]) {
    const mask = pgMask(pgCount);
    for (let hash = 0; hash < 4096; hash += 7) {
      const seed = stableMod(hash, pgCount, mask);
      t.true(seed < pgCount);
      t.true(hashMatches(hash, pgBits(seed, pgCount), seed), `pgs ${pgCount} hash ${hash}`);
    }
  }
});
