/**
 * An in-memory ordered index: a treap over typed arrays, keyed by a pair (keyA, keyB) of safe
 * integers, holding one integer value per key, augmented with the maximum value in each subtree.
 *
 * The free-space map keeps two of these: one by offset (value = length; the subtree maximum
 * answers "first extent at or after X that is at least L long" in O(log n), which is next-fit),
 * and one by (length, offset) (a lower bound is best-fit). Nodes live in parallel typed arrays
 * (about 44 bytes per node, no per-node objects), so a million free extents cost tens of MiB and
 * no garbage-collector pressure. Freed node slots are reused through a free list.
 *
 * Invariants (checked by `checkStructure`, the spec for alloc/check.ts):
 * - in-order keys strictly increase; priorities form a max-heap;
 * - `maxValue` of every node is the maximum of its value and its children's `maxValue`;
 * - the number of reachable nodes equals `size`.
 *
 * Why a treap: it is the shortest balanced tree to get right (split/merge), its expected depth is
 * O(log n), and the priorities come from a fixed-seed PRNG, so the shape (and any timing) is
 * deterministic. The layering rule forbids importing btree/, and a copy-on-write page B+tree
 * would be the wrong tool for a structure that lives only in memory.
 */
import { assert } from '../common/assert.js';
import { AssertionError } from '../common/errors.js';
import { Random } from '../common/random.js';
import { ORDERED_INDEX_DEPTH_MAX, ORDERED_INDEX_INITIAL_CAPACITY } from './format.js';

/** A node handle; 0 means "none". */
export type NodeId = number;
export const NONE: NodeId = 0;

/** Fixed so that every run builds the same shapes. */
const PRIORITY_SEED = 0x5eed_a110;

/** A treap of (keyA, keyB) -> value with subtree maxima of value (see the head comment). */
export class OrderedIndex {
  private keyA: Float64Array;
  private keyB: Float64Array;
  private value: Float64Array;
  private maxValue: Float64Array;
  private left: Int32Array;
  private right: Int32Array;
  private priority: Uint32Array;
  private root: NodeId = NONE;
  private nextId = 1;
  private freeHead: NodeId = NONE;
  private readonly random = new Random(PRIORITY_SEED);
  /** Number of keys in the index. */
  size = 0;

  constructor(initialCapacity = ORDERED_INDEX_INITIAL_CAPACITY) {
    assert(initialCapacity >= 2, 'index capacity too small');
    this.keyA = new Float64Array(initialCapacity);
    this.keyB = new Float64Array(initialCapacity);
    this.value = new Float64Array(initialCapacity);
    this.maxValue = new Float64Array(initialCapacity);
    this.left = new Int32Array(initialCapacity);
    this.right = new Int32Array(initialCapacity);
    this.priority = new Uint32Array(initialCapacity);
  }

  keyAOf(id: NodeId): number {
    assert(id !== NONE, 'keyAOf(NONE)');
    return this.keyA[id]!;
  }

  keyBOf(id: NodeId): number {
    assert(id !== NONE, 'keyBOf(NONE)');
    return this.keyB[id]!;
  }

  valueOf(id: NodeId): number {
    assert(id !== NONE, 'valueOf(NONE)');
    return this.value[id]!;
  }

  /** Approximate bytes held by the node arrays (for memory statistics). */
  memoryBytes(): number {
    return this.keyA.length * 44;
  }

  /** Inserts a key that is not present. */
  insert(a: number, b: number, v: number): void {
    const id = this.allocNode(a, b, v);
    this.root = this.insertAt(this.root, id, 0);
    this.size++;
  }

  /** Removes a key that is present. */
  remove(a: number, b: number): void {
    this.root = this.removeAt(this.root, a, b, 0);
    this.size--;
  }

  /**
   * Fills an empty index from `count` entries already in strictly increasing key order, in
   * O(count) (a Cartesian-tree build over the random priorities: the same shapes insert would
   * give, without count * log(count) rebalancing).
   */
  loadSorted(keyA: ArrayLike<number>, keyB: ArrayLike<number>, value: ArrayLike<number>): void {
    assert(this.size === 0 && this.root === NONE, 'loadSorted into a non-empty index');
    const count = keyA.length;
    assert(keyB.length === count && value.length === count, 'loadSorted columns differ in length');
    while (this.keyA.length <= count) this.grow();
    const stack: NodeId[] = [];
    for (let i = 0; i < count; i++) {
      const id = this.allocNode(keyA[i]!, keyB[i]!, value[i]!);
      if (stack.length > 0 && this.compare(keyA[i]!, keyB[i]!, stack[stack.length - 1]!) <= 0) {
        throw new AssertionError('loadSorted input not increasing');
      }
      let last = NONE;
      while (stack.length > 0 && this.priority[stack[stack.length - 1]!]! < this.priority[id]!) {
        last = stack.pop()!;
      }
      this.left[id] = last;
      if (stack.length > 0) this.right[stack[stack.length - 1]!] = id;
      stack.push(id);
    }
    this.root = stack[0] ?? NONE;
    this.size = count;
    this.pullAll();
  }

  /** Recomputes every subtree maximum, children before parents (explicit post-order). */
  private pullAll(): void {
    const order: NodeId[] = [];
    const stack: NodeId[] = this.root === NONE ? [] : [this.root];
    while (stack.length > 0) {
      const n = stack.pop()!;
      order.push(n);
      if (this.left[n]! !== NONE) stack.push(this.left[n]!);
      if (this.right[n]! !== NONE) stack.push(this.right[n]!);
    }
    for (let i = order.length - 1; i >= 0; i--) this.pull(order[i]!);
  }

  /** Drops every key (node storage is kept for reuse). */
  clear(): void {
    this.root = NONE;
    this.nextId = 1;
    this.freeHead = NONE;
    this.size = 0;
  }

  /** The node with exactly (a, b), or NONE. */
  find(a: number, b: number): NodeId {
    let t = this.root;
    while (t !== NONE) {
      const c = this.compare(a, b, t);
      if (c === 0) return t;
      t = c < 0 ? this.left[t]! : this.right[t]!;
    }
    return NONE;
  }

  /** First node with key >= (a, b), or NONE. */
  lowerBound(a: number, b: number): NodeId {
    let t = this.root;
    let best = NONE;
    while (t !== NONE) {
      if (this.compare(a, b, t) <= 0) {
        best = t;
        t = this.left[t]!;
      } else {
        t = this.right[t]!;
      }
    }
    return best;
  }

  /** Last node with key <= (a, b), or NONE. */
  floor(a: number, b: number): NodeId {
    let t = this.root;
    let best = NONE;
    while (t !== NONE) {
      if (this.compare(a, b, t) >= 0) {
        best = t;
        t = this.right[t]!;
      } else {
        t = this.left[t]!;
      }
    }
    return best;
  }

  /** First node with key > (a, b), or NONE. */
  successor(a: number, b: number): NodeId {
    let t = this.root;
    let best = NONE;
    while (t !== NONE) {
      if (this.compare(a, b, t) < 0) {
        best = t;
        t = this.left[t]!;
      } else {
        t = this.right[t]!;
      }
    }
    return best;
  }

  /** The largest key, or NONE. */
  last(): NodeId {
    let t = this.root;
    if (t === NONE) return NONE;
    while (this.right[t]! !== NONE) t = this.right[t]!;
    return t;
  }

  /** The largest value in the index (0 when empty). */
  maxValueAll(): number {
    return this.root === NONE ? 0 : this.maxValue[this.root]!;
  }

  /** The first node (in key order) with keyA >= a and value >= minValue, or NONE. O(log n). */
  firstWithValueAtLeast(a: number, minValue: number): NodeId {
    return this.searchFrom(this.root, a, minValue, 0);
  }

  /** Visits every node in key order; stops early when `visit` returns false. */
  forEach(visit: (a: number, b: number, v: number) => boolean | void): void {
    const stack: NodeId[] = [];
    let t = this.root;
    while (t !== NONE || stack.length > 0) {
      while (t !== NONE) {
        stack.push(t);
        assert(stack.length <= ORDERED_INDEX_DEPTH_MAX, 'ordered index too deep');
        t = this.left[t]!;
      }
      const n = stack.pop()!;
      if (visit(this.keyA[n]!, this.keyB[n]!, this.value[n]!) === false) return;
      t = this.right[n]!;
    }
  }

  /** Structural invariant violations (empty when sound). */
  checkStructure(): string[] {
    const problems: string[] = [];
    let reached = 0;
    const stack: Array<[NodeId, number]> = this.root === NONE ? [] : [[this.root, 0]];
    while (stack.length > 0 && problems.length < 16) {
      const [n, depth] = stack.pop()!;
      reached++;
      if (depth > ORDERED_INDEX_DEPTH_MAX) problems.push(`node ${n} deeper than limit`);
      const l = this.left[n]!;
      const r = this.right[n]!;
      let max = this.value[n]!;
      for (const c of [l, r]) {
        if (c === NONE) continue;
        if (this.priority[c]! > this.priority[n]!) problems.push(`heap order broken at ${n}`);
        max = Math.max(max, this.maxValue[c]!);
        stack.push([c, depth + 1]);
      }
      if (l !== NONE && this.compare(this.keyA[l]!, this.keyB[l]!, n) >= 0) {
        problems.push(`left child of ${n} not smaller`);
      }
      if (r !== NONE && this.compare(this.keyA[r]!, this.keyB[r]!, n) <= 0) {
        problems.push(`right child of ${n} not larger`);
      }
      if (max !== this.maxValue[n]!) problems.push(`subtree maximum wrong at ${n}`);
    }
    if (problems.length === 0 && reached !== this.size) {
      problems.push(`reachable nodes ${reached} != size ${this.size}`);
    }
    return problems;
  }

  private compare(a: number, b: number, node: NodeId): number {
    const na = this.keyA[node]!;
    if (a !== na) return a < na ? -1 : 1;
    const nb = this.keyB[node]!;
    return b === nb ? 0 : b < nb ? -1 : 1;
  }

  private searchFrom(t: NodeId, a: number, minValue: number, depth: number): NodeId {
    assert(depth <= ORDERED_INDEX_DEPTH_MAX, 'ordered index too deep');
    if (t === NONE || this.maxValue[t]! < minValue) return NONE;
    if (this.keyA[t]! < a) return this.searchFrom(this.right[t]!, a, minValue, depth + 1);
    const inLeft = this.searchFrom(this.left[t]!, a, minValue, depth + 1);
    if (inLeft !== NONE) return inLeft;
    if (this.value[t]! >= minValue) return t;
    return this.searchFrom(this.right[t]!, a, minValue, depth + 1);
  }

  private pull(t: NodeId): void {
    let max = this.value[t]!;
    const l = this.left[t]!;
    const r = this.right[t]!;
    if (l !== NONE && this.maxValue[l]! > max) max = this.maxValue[l]!;
    if (r !== NONE && this.maxValue[r]! > max) max = this.maxValue[r]!;
    this.maxValue[t] = max;
  }

  private insertAt(t: NodeId, id: NodeId, depth: number): NodeId {
    assert(depth <= ORDERED_INDEX_DEPTH_MAX, 'ordered index too deep');
    if (t === NONE) return id;
    const c = this.compare(this.keyA[id]!, this.keyB[id]!, t);
    if (c === 0) throw new AssertionError(`duplicate key (${this.keyA[id]}, ${this.keyB[id]})`);
    if (this.priority[id]! > this.priority[t]!) {
      this.splitInto(t, id, depth);
      this.pull(id);
      return id;
    }
    if (c < 0) this.left[t] = this.insertAt(this.left[t]!, id, depth + 1);
    else this.right[t] = this.insertAt(this.right[t]!, id, depth + 1);
    this.pull(t);
    return t;
  }

  /** Splits subtree t by the key of `pivot` into pivot's left and right children. */
  private splitInto(t: NodeId, pivot: NodeId, depth: number): void {
    const [l, r] = this.split(t, this.keyA[pivot]!, this.keyB[pivot]!, depth);
    this.left[pivot] = l;
    this.right[pivot] = r;
  }

  private split(t: NodeId, a: number, b: number, depth: number): [NodeId, NodeId] {
    assert(depth <= ORDERED_INDEX_DEPTH_MAX, 'ordered index too deep');
    if (t === NONE) return [NONE, NONE];
    if (this.compare(a, b, t) > 0) {
      const [l, r] = this.split(this.right[t]!, a, b, depth + 1);
      this.right[t] = l;
      this.pull(t);
      return [t, r];
    }
    const [l, r] = this.split(this.left[t]!, a, b, depth + 1);
    this.left[t] = r;
    this.pull(t);
    return [l, t];
  }

  private merge(l: NodeId, r: NodeId, depth: number): NodeId {
    assert(depth <= ORDERED_INDEX_DEPTH_MAX, 'ordered index too deep');
    if (l === NONE) return r;
    if (r === NONE) return l;
    if (this.priority[l]! > this.priority[r]!) {
      this.right[l] = this.merge(this.right[l]!, r, depth + 1);
      this.pull(l);
      return l;
    }
    this.left[r] = this.merge(l, this.left[r]!, depth + 1);
    this.pull(r);
    return r;
  }

  private removeAt(t: NodeId, a: number, b: number, depth: number): NodeId {
    assert(depth <= ORDERED_INDEX_DEPTH_MAX, 'ordered index too deep');
    if (t === NONE) throw new AssertionError(`remove of absent key (${a}, ${b})`);
    const c = this.compare(a, b, t);
    if (c === 0) {
      const merged = this.merge(this.left[t]!, this.right[t]!, depth + 1);
      this.freeNode(t);
      return merged;
    }
    if (c < 0) this.left[t] = this.removeAt(this.left[t]!, a, b, depth + 1);
    else this.right[t] = this.removeAt(this.right[t]!, a, b, depth + 1);
    this.pull(t);
    return t;
  }

  private allocNode(a: number, b: number, v: number): NodeId {
    let id = this.freeHead;
    if (id !== NONE) {
      this.freeHead = this.left[id]!;
    } else {
      if (this.nextId >= this.keyA.length) this.grow();
      id = this.nextId++;
    }
    this.keyA[id] = a;
    this.keyB[id] = b;
    this.value[id] = v;
    this.maxValue[id] = v;
    this.left[id] = NONE;
    this.right[id] = NONE;
    this.priority[id] = this.random.u32();
    return id;
  }

  private freeNode(id: NodeId): void {
    this.left[id] = this.freeHead;
    this.right[id] = NONE;
    this.freeHead = id;
  }

  private grow(): void {
    const capacity = this.keyA.length * 2;
    this.keyA = growF64(this.keyA, capacity);
    this.keyB = growF64(this.keyB, capacity);
    this.value = growF64(this.value, capacity);
    this.maxValue = growF64(this.maxValue, capacity);
    const left = new Int32Array(capacity);
    left.set(this.left);
    this.left = left;
    const right = new Int32Array(capacity);
    right.set(this.right);
    this.right = right;
    const priority = new Uint32Array(capacity);
    priority.set(this.priority);
    this.priority = priority;
  }
}

function growF64(source: Float64Array, capacity: number): Float64Array {
  const target = new Float64Array(capacity);
  target.set(source);
  return target;
}
