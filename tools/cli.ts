/**
 * tools/cli.ts: the `ebofs` command line (bin/ebofs.mjs loads it through tsx).
 *
 *   ebofs <command> [options]     commands: mkfs, fsck, stat, run (see --help of each)
 *
 * Exit status: 0 ok; 1 fsck findings, a failed check or an operating error (printed as
 * `ebofs: CODE: message`, no stack trace); 2 a bad command line (message and usage).
 * Unexpected errors (bugs) print their stack and exit 1. `EBOFS_DEBUG=1` prints stacks always.
 */
import { parseArgs } from 'node:util';
import { EbofsError } from '../engine/index.js';
import { type Command, type ParsedArgs } from './command.js';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, type Io, UsageError, processIo } from './io.js';
import { mkfsCommand } from './cmd-mkfs.js';
import { fsckCommand } from './cmd-fsck.js';
import { statCommand } from './cmd-stat.js';
import { runCommand } from './cmd-run.js';

export const COMMANDS: readonly Command[] = [mkfsCommand, fsckCommand, statCommand, runCommand];

/** The global help text. */
export function globalUsage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'usage: ebofs <command> [options]',
    '',
    'commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    "'ebofs <command> --help' shows a command's options. 'npm start' runs 'ebofs run'.",
    '',
  ].join('\n');
}

/** Runs the command line `argv` (without `node` and the script); resolves to the exit status. */
export async function main(argv: readonly string[], io: Io = processIo()): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    io.err(globalUsage());
    return EXIT_USAGE;
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    const topic = COMMANDS.find((c) => c.name === rest[0]);
    io.out(topic?.usage ?? globalUsage());
    return EXIT_OK;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (command === undefined) {
    io.err(`ebofs: unknown command ${JSON.stringify(name)}\n\n${globalUsage()}`);
    return EXIT_USAGE;
  }
  try {
    const args = parse(command, rest);
    if (args.values['help'] === true) {
      io.out(command.usage);
      return EXIT_OK;
    }
    checkPositionals(command, args.positionals);
    return await command.run(args, io);
  } catch (err) {
    return report(err, command, io);
  }
}

function parse(command: Command, args: string[]): ParsedArgs {
  try {
    return parseArgs({
      args,
      options: { ...command.options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    if (err instanceof TypeError && String((err as { code?: unknown }).code).startsWith('ERR_PARSE_ARGS')) {
      throw new UsageError(err.message, command.usage);
    }
    throw err;
  }
}

function checkPositionals(command: Command, positionals: readonly string[]): void {
  const names = command.positionalNames;
  if (positionals.length < names.length) {
    throw new UsageError(`missing ${names.slice(positionals.length).join(' ')}`, command.usage);
  }
  if (positionals.length > names.length) {
    throw new UsageError(`unexpected argument ${JSON.stringify(positionals[names.length])}`, command.usage);
  }
}

function report(err: unknown, command: Command, io: Io): number {
  const debug = process.env['EBOFS_DEBUG'] === '1';
  if (err instanceof UsageError) {
    io.err(`ebofs ${command.name}: ${err.message}\n\n${err.usage}`);
    return EXIT_USAGE;
  }
  if (err instanceof EbofsError && err.code !== 'EASSERT') {
    const where = err.location !== undefined && !err.message.includes(err.location) ? ` (at ${err.location})` : '';
    io.err(`ebofs: ${err.message}${where}\n`);
    if (debug) io.err(`${err.stack ?? ''}\n`);
    return EXIT_FAILURE;
  }
  const text = err instanceof Error ? err.stack ?? err.message : String(err);
  io.err(`ebofs ${command.name}: unexpected error (a bug in ebofs):\n${text}\n`);
  return EXIT_FAILURE;
}
