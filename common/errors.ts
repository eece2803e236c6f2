/**
 * The one error family of ebofs (see ERRORS.md for every code).
 *
 * Three kinds, never mixed (STYLE.md, "Corruption vs bug vs operating error"):
 * - `EbofsError` with a stable `code`: an expected operating condition (not found, full,
 *   too large, closed, I/O error, store in use). Callers branch on `code`.
 * - `CorruptionError` (code `ECHECKSUM` or `ECORRUPT`): bytes read from a device are wrong.
 *   It carries where (`location`: a device offset, page id, object and offset...).
 * - `AssertionError` (code `EASSERT`): a bug in ebofs. Never caught to carry on.
 *
 * Codes are API: never renamed, never reused, only added. Messages may change freely.
 */

/** Every stable error code. Ceph errno names where Ceph has one. */
export const ERROR_CODES = [
  'ENOENT', // object, collection or attribute not found
  'EEXIST', // already exists
  'ENOTEMPTY', // collection not empty
  'ENODATA', // xattr or omap key not present
  'ENOSPC', // not enough free space
  'EINVAL', // invalid argument
  'E2BIG', // argument exceeds a documented limit
  'EIO', // device I/O error
  'ECHECKSUM', // stored bytes fail their checksum
  'ECORRUPT', // stored structure is inconsistent (bad magic, bad length, bad pointer)
  'ESTALE_EPOCH', // transaction stamped with an epoch older than the fencing floor
  'EBUSY_LOCKED', // the store is in use by another process (device lock held)
  'ECLOSED', // operation on a closed store, device or journal
  'EFORMAT', // on-disk format newer than this code, or not an ebofs store
  'ENOTSUP', // operation not supported by this backend or configuration
  'EASSERT', // internal invariant violated: a bug in ebofs
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

const BRAND = Symbol.for('ebofs.error');

export interface EbofsErrorOptions {
  cause?: unknown;
  /** Where it happened, human-readable ("device offset 8192", "page 17", "1.7_head/foo@4096"). */
  location?: string;
}

/** Base of every error ebofs throws on purpose. */
export class EbofsError extends Error {
  readonly code: ErrorCode;
  readonly location: string | undefined;

  constructor(code: ErrorCode, message: string, options: EbofsErrorOptions = {}) {
    super(`${code}: ${message}`, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.location = options.location;
    this.name = new.target.name;
    Object.defineProperty(this, BRAND, { value: true });
  }

  /** Recognises ebofs errors across module copies (two installs of ebofs in one process). */
  static override [Symbol.hasInstance](value: unknown): boolean {
    if (typeof value !== 'object' || value === null) return false;
    if ((value as Record<symbol, unknown>)[BRAND] !== true) return false;
    // Subclasses narrow further with the prototype chain.
    return this === EbofsError || Function.prototype[Symbol.hasInstance].call(this, value);
  }
}

/** Bytes on a device are wrong. `location` says where; expected/actual say how. */
export class CorruptionError extends EbofsError {
  declare readonly code: 'ECHECKSUM' | 'ECORRUPT';
  readonly expected: string | undefined;
  readonly actual: string | undefined;

  constructor(
    code: 'ECHECKSUM' | 'ECORRUPT',
    message: string,
    options: EbofsErrorOptions & { location: string; expected?: string; actual?: string },
  ) {
    super(code, `${message} at ${options.location}`, options);
    this.expected = options.expected;
    this.actual = options.actual;
  }
}

/** An internal invariant failed: ebofs has a bug. */
export class AssertionError extends EbofsError {
  declare readonly code: 'EASSERT';
  constructor(message: string) {
    super('EASSERT', message);
  }
}

/** True when `err` is an ebofs error with one of `codes`. */
export function isErrorCode(err: unknown, ...codes: ErrorCode[]): err is EbofsError {
  return err instanceof EbofsError && codes.includes(err.code);
}
