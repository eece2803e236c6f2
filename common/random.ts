/**
 * A small seeded PRNG (sfc32 seeded through splitmix32). Every randomized test, simulation and
 * FaultDevice derives all its randomness from one of these, so a seed replays a run exactly.
 * `Math.random` is banned outside test/ (STYLE.md).
 */

function splitmix32(state: number): () => number {
  let s = state >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

export class Random {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  readonly seed: number;

  constructor(seed: number) {
    this.seed = seed >>> 0;
    const mix = splitmix32(this.seed ^ Math.floor(seed / 2 ** 32));
    this.a = mix();
    this.b = mix();
    this.c = mix();
    this.d = mix() | 1;
    for (let i = 0; i < 12; i++) this.u32();
  }

  /** Uniform integer in [0, 2^32). */
  u32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }

  /** Uniform float in [0, 1). */
  float(): number {
    return this.u32() / 2 ** 32;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    if (n <= 2 ** 32) return Math.floor(this.float() * n);
    return Math.floor((this.u32() * 2 ** 21 + (this.u32() >>> 11)) / 2 ** 53 * n);
  }

  /** Uniform integer in [lo, hi] inclusive. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  chance(p: number): boolean {
    return this.float() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('pick from empty list');
    return items[this.int(items.length)] as T;
  }

  /** Fills `buf` (or a new buffer of `length`) with random bytes. */
  bytes(length: number): Buffer {
    const buf = Buffer.allocUnsafe(length);
    let i = 0;
    for (; i + 4 <= length; i += 4) buf.writeUInt32LE(this.u32(), i);
    for (; i < length; i++) buf[i] = this.u32() & 0xff;
    return buf;
  }

  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = items[i] as T;
      items[i] = items[j] as T;
      items[j] = tmp;
    }
    return items;
  }

  /** An independent generator derived from this one (for a sub-component). */
  fork(): Random {
    return new Random(this.u32() * 2 ** 20 + (this.u32() >>> 12));
  }
}

/** A fresh seed for runs that did not get one (printed by the caller so the run replays). */
export function freshSeed(): number {
  return Number(process.hrtime.bigint() % 2_147_483_647n);
}
