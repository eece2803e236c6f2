/**
 * tools/format-size.ts: byte sizes for the command line — parsing `4K`, `64M`, `1G`, `1GiB`,
 * `4096` (binary multiples: K = 1024) and printing them back (`64 MiB`, `1.50 GiB`).
 *
 * Why binary multiples: every ebofs geometry value (block, stripe unit, journal) is a power of
 * two; `--size 1G` meaning 10^9 would give a store size that is not a multiple of 4096.
 */
import { EbofsError } from '../common/errors.js';

const UNITS: Readonly<Record<string, number>> = {
  '': 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40,
};
const SIZE_FORM = /^(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?$/i;

/**
 * Parses a size such as `64M`, `1G`, `4KiB` or `4096`. Throws EINVAL (naming `what`) for
 * anything else, or for a value that is not a whole, positive, safe number of bytes.
 */
export function parseSize(text: string, what: string): number {
  const m = SIZE_FORM.exec(text.trim());
  if (m === null) throw new EbofsError('EINVAL', `${what}: not a size: ${JSON.stringify(text)} (use e.g. 4K, 64M, 1G)`);
  const unit = UNITS[(m[2] ?? '').toUpperCase()];
  const bytes = Number(m[1]) * (unit ?? 1);
  if (!Number.isSafeInteger(bytes) || bytes <= 0) {
    throw new EbofsError('EINVAL', `${what}: ${JSON.stringify(text)} is not a whole positive number of bytes`);
  }
  return bytes;
}

/** Formats bytes with a binary unit: `512 B`, `4 KiB`, `1.50 GiB` (exact values keep no decimals). */
export function formatSize(bytes: number): string {
  const names = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let index = 0;
  while (Math.abs(value) >= 1024 && index < names.length - 1) {
    value /= 1024;
    index++;
  }
  const text = Number.isInteger(value) ? String(value) : value.toFixed(value < 10 ? 2 : 1);
  return `${text} ${names[index]}`;
}

/** Formats a rate in MiB/s with one decimal. */
export function formatRate(bytes: number, seconds: number): string {
  return `${(seconds > 0 ? bytes / seconds / 2 ** 20 : 0).toFixed(1)} MiB/s`;
}
