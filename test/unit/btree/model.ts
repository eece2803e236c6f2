/**
 * A plain sorted-array model of a btree (the oracle for model-based tests and the simulator),
 * random key/value generators per descriptor, and a comparison of a tree version against a
 * model snapshot. Everything random comes from a seeded Random.
 */
import { Random } from '../../../common/random.js';
import {
  type Entry, type TreeDescriptor, type TreeReader, getComparator, makeDescriptor, registerComparator,
  u64Key,
} from '../../../btree/index.js';

/** A descending comparator, registered by name to exercise the registry. */
export const REVERSE_COMPARATOR = 'test-reverse-bytes';
registerComparator({
  name: REVERSE_COMPARATOR,
  compare: (a, ao, al, b, bo, bl) => {
    const n = Math.min(al, bl);
    for (let i = 0; i < n; i++) {
      const d = b[bo + i]! - a[ao + i]!;
      if (d !== 0) return d;
    }
    return bl - al;
  },
});

export interface Variant {
  name: string;
  descriptor: TreeDescriptor;
  pageSizeBytes: number;
  /** Key generator (small key space so replaces and deletes hit). */
  key: (r: Random) => Uint8Array;
  value: (r: Random) => Uint8Array;
}

function varBytes(r: Random, maxLength: number, alphabet: number): Uint8Array {
  const n = r.int(maxLength + 1);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = r.int(alphabet);
  return out;
}

function fixedBytes(r: Random, length: number, alphabet: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = r.int(alphabet);
  return out;
}

export const VARIANTS: Variant[] = [
  {
    name: 'bytes var1/var2 p512',
    descriptor: makeDescriptor({ key: { kind: 'variable', prefixBytes: 1 }, value: { kind: 'variable', prefixBytes: 2 } }),
    pageSizeBytes: 512,
    key: (r) => varBytes(r, 12, 6),
    value: (r) => varBytes(r, r.chance(0.05) ? 80 : 20, 256),
  },
  {
    name: 'fixed 8/16 p512',
    descriptor: makeDescriptor({ key: { kind: 'fixed', sizeBytes: 8 }, value: { kind: 'fixed', sizeBytes: 16 } }),
    pageSizeBytes: 512,
    key: (r) => fixedBytes(r, 8, 3),
    value: (r) => fixedBytes(r, 16, 256),
  },
  {
    name: 'u64 fixed8/var4 p512',
    descriptor: makeDescriptor({ comparator: 'u64', key: { kind: 'fixed', sizeBytes: 8 }, value: { kind: 'variable', prefixBytes: 4 } }),
    pageSizeBytes: 512,
    key: (r) => u64Key(r.chance(0.5) ? r.int(3000) : r.int(2 ** 40) * 4096 + r.int(4096)),
    value: (r) => varBytes(r, 30, 256),
  },
  {
    name: 'set var2 p512',
    descriptor: makeDescriptor({ key: { kind: 'variable', prefixBytes: 2 }, value: null }),
    pageSizeBytes: 512,
    key: (r) => varBytes(r, 24, 4),
    value: () => new Uint8Array(0),
  },
  {
    name: 'duplicates var1/var1 p512',
    descriptor: makeDescriptor({ key: { kind: 'variable', prefixBytes: 1 }, value: { kind: 'variable', prefixBytes: 1 }, duplicates: true }),
    pageSizeBytes: 512,
    key: (r) => varBytes(r, 4, 6),
    value: (r) => varBytes(r, 10, 4),
  },
  {
    name: 'custom reverse comparator p512',
    descriptor: makeDescriptor({ comparator: REVERSE_COMPARATOR, key: { kind: 'variable', prefixBytes: 1 } }),
    pageSizeBytes: 512,
    key: (r) => varBytes(r, 10, 5),
    value: (r) => varBytes(r, 40, 256),
  },
  {
    name: 'inline root 256 p512',
    descriptor: makeDescriptor({ key: { kind: 'variable', prefixBytes: 1 }, value: { kind: 'variable', prefixBytes: 1 }, inlineMaxBytes: 256 }),
    pageSizeBytes: 512,
    key: (r) => varBytes(r, 4, 5),
    value: (r) => varBytes(r, 12, 256),
  },
  {
    name: 'duplicates fixed u64 values p4096',
    descriptor: makeDescriptor({ key: { kind: 'variable', prefixBytes: 2 }, value: { kind: 'fixed', sizeBytes: 8 }, duplicates: true, valueComparator: 'u64' }),
    pageSizeBytes: 4096,
    key: (r) => varBytes(r, 40, 3),
    value: (r) => u64Key(r.int(50)),
  },
];

/** Sorted entries ordered like the tree (key, then value in a duplicates tree). */
export class Model {
  entries: Entry[] = [];
  private readonly keyCmp: (a: Uint8Array, b: Uint8Array) => number;
  private readonly valueCmp: (a: Uint8Array, b: Uint8Array) => number;
  readonly duplicates: boolean;

  constructor(descriptor: TreeDescriptor) {
    const k = getComparator(descriptor.comparator).compare;
    const v = getComparator(descriptor.valueComparator).compare;
    this.keyCmp = (a, b) => k(a, 0, a.length, b, 0, b.length);
    this.valueCmp = (a, b) => v(a, 0, a.length, b, 0, b.length);
    this.duplicates = descriptor.duplicates;
  }

  compareKeys(a: Uint8Array, b: Uint8Array): number {
    return this.keyCmp(a, b);
  }

  private cmp(a: Entry, key: Uint8Array, value: Uint8Array | undefined): number {
    const c = this.keyCmp(a.key, key);
    if (c !== 0 || !this.duplicates || value === undefined) return c;
    return this.valueCmp(a.value, value);
  }

  /** First index with entry >= (key, value). */
  lowerBound(key: Uint8Array, value?: Uint8Array): number {
    let lo = 0;
    let hi = this.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.cmp(this.entries[mid]!, key, value) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  put(key: Uint8Array, value: Uint8Array): void {
    const i = this.lowerBound(key, this.duplicates ? value : undefined);
    const e = this.entries[i];
    if (e !== undefined && this.cmp(e, key, this.duplicates ? value : undefined) === 0) {
      if (!this.duplicates) this.entries[i] = { key, value };
      return;
    }
    this.entries.splice(i, 0, { key, value });
  }

  delete(key: Uint8Array, value?: Uint8Array): boolean {
    const i = this.lowerBound(key, value);
    let n = 0;
    while (i + n < this.entries.length && this.cmp(this.entries[i + n]!, key, value) === 0) {
      n++;
      if (!this.duplicates || value !== undefined) break;
    }
    this.entries.splice(i, n);
    return n > 0;
  }

  deleteRange(start: Uint8Array | undefined, end: Uint8Array | undefined): number {
    const before = this.entries.length;
    this.entries = this.entries.filter((e) =>
      (start !== undefined && this.keyCmp(e.key, start) < 0) || (end !== undefined && this.keyCmp(e.key, end) >= 0));
    return before - this.entries.length;
  }

  get(key: Uint8Array): Uint8Array | undefined {
    const e = this.entries[this.lowerBound(key)];
    return e !== undefined && this.keyCmp(e.key, key) === 0 ? e.value : undefined;
  }

  snapshot(): Entry[] {
    return this.entries.slice();
  }
}

export function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

function entryText(e: Entry | undefined): string {
  return e === undefined ? 'none' : `${hex(e.key)}=${hex(e.value)}`;
}

/**
 * Compares a reader with a model snapshot: count, full forward and reverse scans, gets of
 * present and random keys, and random bounded ranges. Returns problems (empty = equal).
 */
export function compareWithModel(
  reader: TreeReader, snapshot: Entry[], model: Model, r: Random, variant: Variant, probes: number,
): string[] {
  const problems: string[] = [];
  if (reader.count !== snapshot.length) problems.push(`count ${reader.count}, model ${snapshot.length}`);
  const forward = [...reader.range()];
  if (forward.length !== snapshot.length) problems.push(`scan found ${forward.length}, model ${snapshot.length}`);
  for (let i = 0; i < Math.min(forward.length, snapshot.length) && problems.length < 5; i++) {
    if (entryText(forward[i]) !== entryText(snapshot[i])) {
      problems.push(`scan[${i}] ${entryText(forward[i])}, model ${entryText(snapshot[i])}`);
    }
  }
  const reverse = [...reader.range({ reverse: true })].reverse();
  if (reverse.map(entryText).join() !== forward.map(entryText).join()) problems.push('reverse scan differs');
  if (entryText(reader.first()) !== entryText(snapshot[0])) problems.push('first differs');
  if (entryText(reader.last()) !== entryText(snapshot[snapshot.length - 1])) problems.push('last differs');
  const view = new Model(reader.descriptor);
  view.entries = snapshot;
  for (let p = 0; p < probes; p++) {
    const key = r.chance(0.5) && snapshot.length > 0 ? r.pick(snapshot).key : variant.key(r);
    const got = reader.get(key);
    const want = view.get(key);
    if ((got === undefined) !== (want === undefined) || (got !== undefined && hex(got) !== hex(want!))) {
      problems.push(`get ${hex(key)}: ${got === undefined ? 'none' : hex(got)}, model ${want === undefined ? 'none' : hex(want)}`);
    }
    if (model.duplicates) {
      const all = reader.getAll(key).map(hex).join();
      const wantAll = snapshot.filter((e) => view.compareKeys(e.key, key) === 0).map((e) => hex(e.value)).join();
      if (all !== wantAll) problems.push(`getAll ${hex(key)} differs`);
    }
    problems.push(...compareRange(reader, view, snapshot, r, variant));
    if (problems.length > 10) break;
  }
  return problems;
}

function compareRange(reader: TreeReader, view: Model, snapshot: Entry[], r: Random, variant: Variant): string[] {
  const a = variant.key(r);
  const b = variant.key(r);
  const [start, end] = view.compareKeys(a, b) <= 0 ? [a, b] : [b, a];
  const options = {
    start: r.chance(0.8) ? start : undefined, end: r.chance(0.8) ? end : undefined,
    startExclusive: r.chance(0.3), endInclusive: r.chance(0.3), reverse: r.chance(0.5),
    limit: r.chance(0.2) ? r.int(10) : undefined,
  };
  let want = snapshot.filter((e) => {
    if (options.start !== undefined) {
      const c = view.compareKeys(e.key, options.start);
      if (c < 0 || (c === 0 && options.startExclusive)) return false;
    }
    if (options.end !== undefined) {
      const c = view.compareKeys(e.key, options.end);
      if (c > 0 || (c === 0 && !options.endInclusive)) return false;
    }
    return true;
  });
  if (options.reverse) want = want.reverse();
  if (options.limit !== undefined) want = want.slice(0, options.limit);
  const got = [...reader.range(options)];
  if (got.map(entryText).join() !== want.map(entryText).join()) {
    return [`range ${JSON.stringify({ ...options, start: options.start && hex(options.start), end: options.end && hex(options.end) })}: ` +
      `got ${got.length} entries, model ${want.length}`];
  }
  return [];
}
