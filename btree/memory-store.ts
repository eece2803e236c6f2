/**
 * MemoryPageStore: a PageStore whose pages live in one growable SharedArrayBuffer, so worker
 * threads can read published versions without copies (`shareHandle` / `attach`).
 *
 * Layout: page `id` occupies bytes [id * P, (id + 1) * P) of the arena; page 0 is never handed
 * out (NO_PAGE). The arena grows in steps of GROW_PAGE_COUNT pages up to `pageCountMax`
 * (the address space is reserved up front, memory is committed as it grows).
 *
 * Invariants: an id is either free (in the free list or above the high-water mark) or
 * allocated; `free` of a page that is not allocated is a bug (AssertionError); reading an id
 * beyond the arena is a CorruptionError (a bad page pointer).
 *
 * Read views are cached per id: a page's memory never moves, so a view stays valid across
 * reuse (its content changes only once the owner freed the page and it was written again).
 */
import { assert } from '../common/assert.js';
import { CorruptionError, EbofsError } from '../common/errors.js';
import { PAGE_SIZE_DEFAULT_BYTES, checkPageSize } from './format.js';
import { type PageId, type PageStore } from './store.js';

export const GROW_PAGE_COUNT = 256;

/** Growable SharedArrayBuffer (ES2024; Node 20 has it, our tsconfig lib predates it). */
interface GrowableSharedArrayBuffer extends SharedArrayBuffer {
  readonly maxByteLength: number;
  grow(byteLength: number): void;
}
type GrowableSharedArrayBufferConstructor =
  new (byteLength: number, options: { maxByteLength: number }) => GrowableSharedArrayBuffer;
export const PAGE_COUNT_MAX_DEFAULT = 1 << 18;

export interface MemoryPageStoreOptions {
  pageSizeBytes?: number;
  /** Most pages the arena may hold (address space reserved: pageCountMax * pageSizeBytes). */
  pageCountMax?: number;
}

/** What a worker thread needs to read the store's pages (structured-clonable). */
export interface SharedPageStoreHandle {
  readonly buffer: SharedArrayBuffer;
  readonly pageSizeBytes: number;
}

export class MemoryPageStore implements PageStore {
  readonly pageSizeBytes: number;
  readonly readOnly: boolean;
  /** `write` copies into the arena and keeps no reference to the caller's buffer. */
  readonly copiesOnWrite = true;
  private readonly arena: GrowableSharedArrayBuffer;
  private readonly views: (Uint8Array | undefined)[] = [];
  private readonly freeIds: PageId[] = [];
  private allocated: Uint8Array = new Uint8Array(GROW_PAGE_COUNT);
  private highWater = 1;
  private allocatedCount = 0;

  constructor(options: MemoryPageStoreOptions = {}, attachTo?: SharedPageStoreHandle) {
    this.pageSizeBytes = attachTo?.pageSizeBytes ?? options.pageSizeBytes ?? PAGE_SIZE_DEFAULT_BYTES;
    checkPageSize(this.pageSizeBytes);
    if (attachTo !== undefined) {
      this.arena = attachTo.buffer as GrowableSharedArrayBuffer;
      this.readOnly = true;
      return;
    }
    const pageCountMax = options.pageCountMax ?? PAGE_COUNT_MAX_DEFAULT;
    if (!Number.isSafeInteger(pageCountMax) || pageCountMax < 2) {
      throw new EbofsError('EINVAL', `pageCountMax ${pageCountMax} is invalid`);
    }
    const Growable = SharedArrayBuffer as unknown as GrowableSharedArrayBufferConstructor;
    this.arena = new Growable(GROW_PAGE_COUNT * this.pageSizeBytes, {
      maxByteLength: Math.max(pageCountMax, GROW_PAGE_COUNT) * this.pageSizeBytes,
    });
    this.readOnly = false;
  }

  /** A read-only view of a store shared by another thread. */
  static attach(handle: SharedPageStoreHandle): MemoryPageStore {
    return new MemoryPageStore({}, handle);
  }

  shareHandle(): SharedPageStoreHandle {
    return { buffer: this.arena, pageSizeBytes: this.pageSizeBytes };
  }

  read(id: PageId): Uint8Array {
    const view = this.views[id];
    if (view !== undefined) return view;
    const start = id * this.pageSizeBytes;
    if (!Number.isSafeInteger(id) || id <= 0 || start + this.pageSizeBytes > this.arena.byteLength) {
      throw new CorruptionError('ECORRUPT', 'page id outside the store', { location: `page ${id}` });
    }
    const made = new Uint8Array(this.arena, start, this.pageSizeBytes);
    const views = this.views;
    while (views.length <= id) views.push(undefined); // dense array: fast indexed loads
    views[id] = made;
    return made;
  }

  allocate(): PageId {
    this.checkWritable('allocate');
    let id = this.freeIds.pop();
    if (id === undefined) {
      id = this.highWater as PageId;
      this.ensureCapacity(id + 1);
      this.highWater++;
    }
    assert(this.allocated[id] === 0, `page ${id} allocated twice`);
    this.allocated[id] = 1;
    this.allocatedCount++;
    return id;
  }

  write(id: PageId, page: Uint8Array): void {
    this.checkWritable('write');
    assert(this.allocated[id] === 1, `write to page ${id} that is not allocated`);
    assert(page.length === this.pageSizeBytes, 'page size mismatch');
    const slot = this.read(id);
    if (page !== slot) slot.set(page);
  }

  free(id: PageId): void {
    this.checkWritable('free');
    assert(id > 0 && id < this.highWater && this.allocated[id] === 1, `free of page ${id} that is not allocated`);
    this.allocated[id] = 0;
    this.allocatedCount--;
    this.freeIds.push(id);
  }

  /** Whether `id` is currently allocated (writer-side stores only). */
  isAllocated(id: PageId): boolean {
    return this.allocated[id] === 1;
  }

  /** Every allocated page id, ascending (for leak checks in tests). */
  allocatedIds(): PageId[] {
    const out: PageId[] = [];
    for (let id = 1; id < this.highWater; id++) if (this.allocated[id] === 1) out.push(id as PageId);
    return out;
  }

  get allocatedPageCount(): number {
    return this.allocatedCount;
  }

  private ensureCapacity(pageCount: number): void {
    const need = pageCount * this.pageSizeBytes;
    if (need > this.arena.byteLength) {
      if (need > this.arena.maxByteLength) {
        throw new EbofsError('ENOSPC', `memory page store is full (${this.arena.maxByteLength} bytes)`);
      }
      const grown = Math.min(this.arena.maxByteLength,
        Math.max(need, this.arena.byteLength * 2, this.arena.byteLength + GROW_PAGE_COUNT * this.pageSizeBytes));
      this.arena.grow(grown);
    }
    if (pageCount > this.allocated.length) {
      const next = new Uint8Array(Math.max(pageCount, this.allocated.length * 2));
      next.set(this.allocated);
      this.allocated = next;
    }
  }

  private checkWritable(what: string): void {
    if (this.readOnly) throw new EbofsError('ENOTSUP', `${what} on a read-only attached page store`);
  }
}
