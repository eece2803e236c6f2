/** An order-sensitive digest of a full scan (shared by the writer and the worker readers). */
import type { TreeReader } from '../../../btree/index.js';

export function scanDigest(reader: TreeReader): { digest: number; count: number } {
  let h = 0x811c9dc5 | 0;
  let count = 0;
  const cursor = reader.cursor();
  for (let ok = cursor.first(); ok; ok = cursor.next()) {
    const k = cursor.keyView();
    const v = cursor.valueView();
    for (let i = 0; i < k.length; i++) h = Math.imul(h ^ k[i]!, 0x01000193);
    h = Math.imul(h ^ 0xff, 0x01000193);
    for (let i = 0; i < v.length; i++) h = Math.imul(h ^ v[i]!, 0x01000193);
    count++;
  }
  return { digest: h | 0, count };
}
