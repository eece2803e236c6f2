/**
 * Assertions that stay on in production (STYLE.md, "Assertions").
 *
 * `assert` is cheap and always on. `verify` runs an expensive cross-check only when
 * EBOFS_VERIFY is set (the test suite sets it). `maybe` documents "either way is fine".
 */
import { AssertionError } from './errors.js';

export function assert(condition: unknown, message = 'assertion failed'): asserts condition {
  if (!condition) throw new AssertionError(message);
}

export function assertNever(value: never, what = 'value'): never {
  throw new AssertionError(`unexpected ${what}: ${String(value)}`);
}

/** Whether expensive invariant checks run (EBOFS_VERIFY=1 or strict). */
export const VERIFY_ENABLED: boolean =
  typeof process !== 'undefined' && (process.env['EBOFS_VERIFY'] ?? '') !== '' &&
  process.env['EBOFS_VERIFY'] !== '0';

/** Runs an expensive check when verification is enabled; the check throws on failure. */
export function verify(check: () => void): void {
  if (VERIFY_ENABLED) check();
}

/** Documents that a condition may be true or false; does nothing. */
export function maybe(_condition: unknown): void {}
