/** Goal: every stable error code is documented in ERRORS.md (codes are API). */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { ERROR_CODES } from '../../common/errors.js';

test('ERRORS.md documents every error code, and nothing else', (t) => {
  const text = readFileSync(new URL('../../ERRORS.md', import.meta.url), 'utf8');
  const documented = [...text.matchAll(/^## (\w+)$/gm)].map((m) => m[1]);
  t.deepEqual([...documented].sort(), [...ERROR_CODES].sort());
});
