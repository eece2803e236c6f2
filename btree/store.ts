/**
 * The page-store interface the btree layer runs over. engine/ supplies a device-backed store;
 * memory-store.ts ships one in (shared) memory for tests, benchmarks and worker readers.
 *
 * The interface is synchronous on purpose: a B+tree search touches several pages per call and
 * an await per page would dominate its cost. A device-backed store keeps tree pages in memory
 * (loaded at mount or read synchronously on a miss) and writes dirty pages at checkpoint.
 *
 * Page id 0 is never a tree page (it marks "no page" and inline roots).
 */

/** A page number in a store. Never 0 for a stored page. */
export type PageId = number & { readonly __brand: 'PageId' };

export const NO_PAGE = 0 as PageId;

export interface PageStore {
  /** Page size in bytes: a power of two in [PAGE_SIZE_MIN_BYTES, PAGE_SIZE_MAX_BYTES]. */
  readonly pageSizeBytes: number;
  /**
   * The bytes of page `id` as last written. The caller never modifies them. The btree layer
   * verifies the page checksum when it first loads a page, so a store need not.
   */
  read(id: PageId): Uint8Array;
  /** A page id that is not in use (its content is undefined until written). */
  allocate(): PageId;
  /**
   * Stores `page` (pageSizeBytes long, checksum already set) as page `id`. The store copies
   * the bytes or keeps `page`; the caller does not modify `page` afterwards.
   */
  write(id: PageId, page: Uint8Array): void;
  /** Returns `id` to the store for reuse. Called by the owner only once no version reaches it. */
  free(id: PageId): void;
  /**
   * Optional: memory in which to build the freshly allocated page `id`, later passed to
   * `write(id, sameBuffer)`, for a store that can lend its own memory cheaply (saving an
   * allocation and a copy per written page). Without it the tree allocates a buffer. (The
   * memory store does not lend its SharedArrayBuffer: V8's fill/set on shared memory are
   * several times slower than building the page in ordinary memory and copying it once.)
   */
  pageBuffer?(id: PageId): Uint8Array;
  /**
   * Optional: true when `write` copies the bytes and keeps no reference to the buffer, so the
   * btree may reuse the buffer once the page is freed (the memory store). Default false.
   */
  readonly copiesOnWrite?: boolean;
}
