/**
 * tools/command.ts: the shape of one `ebofs` subcommand and typed access to its parsed
 * options (node:util parseArgs gives `string | boolean | undefined` per option).
 */
import type { ParseArgsConfig } from 'node:util';
import type { Io } from './io.js';
import { UsageError } from './io.js';
import { parseSize } from './format-size.js';

export type OptionSpecs = NonNullable<ParseArgsConfig['options']>;

/** What parseArgs returned for one command line. */
export interface ParsedArgs {
  readonly values: Readonly<Record<string, string | boolean | (string | boolean)[] | undefined>>;
  readonly positionals: readonly string[];
}

export interface Command {
  readonly name: string;
  /** One line for the global help. */
  readonly summary: string;
  /** The full `--help` text. */
  readonly usage: string;
  readonly options: OptionSpecs;
  /** Names of the positional arguments the command takes (exactly these), e.g. `['<path>']`. */
  readonly positionalNames: readonly string[];
  /** Runs the command; resolves to the exit status. Throws UsageError or EbofsError. */
  run(args: ParsedArgs, io: Io): Promise<number>;
}

/** A string option's value, or `fallback` when absent. */
export function stringOption(args: ParsedArgs, name: string, fallback: string): string;
export function stringOption(args: ParsedArgs, name: string): string | undefined;
export function stringOption(args: ParsedArgs, name: string, fallback?: string): string | undefined {
  const value = args.values[name];
  return typeof value === 'string' ? value : fallback;
}

/** A boolean flag. */
export function flagOption(args: ParsedArgs, name: string): boolean {
  return args.values[name] === true;
}

/** A size option (`64M`), or undefined when absent; a bad value is a usage error. */
export function sizeOption(args: ParsedArgs, name: string, usage: string): number | undefined {
  const text = stringOption(args, name);
  if (text === undefined) return undefined;
  try {
    return parseSize(text, `--${name}`);
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message.replace(/^EINVAL: /, '') : String(err), usage);
  }
}

/** Bounds of a number option; integers only unless `integer` is false. */
export interface NumberRange {
  readonly min: number;
  readonly max: number;
  readonly integer?: boolean;
}

/** A number option within [min, max] (integers only unless `integer` is false). */
export function numberOption(
  args: ParsedArgs, name: string, fallback: number, range: NumberRange, usage: string,
): number {
  const text = stringOption(args, name);
  if (text === undefined) return fallback;
  const value = Number(text);
  const integer = range.integer ?? true;
  const valid = text.trim() !== '' && Number.isFinite(value) && (!integer || Number.isInteger(value));
  if (!valid || value < range.min || value > range.max) {
    const kind = integer ? 'an integer' : 'a number';
    const got = JSON.stringify(text);
    throw new UsageError(`--${name}: expected ${kind} in [${range.min}, ${range.max}], got ${got}`, usage);
  }
  return value;
}
