/**
 * Tree: one B+tree on a Pager, with its latest published version (`current`) and at most one
 * open WriteBatch. Versions are immutable snapshots; a commit publishes a new one and reports
 * the pages it stopped using (see index.ts for the owner's side).
 */
import { EbofsError } from '../common/errors.js';
import { Batch, Workspace } from './batch.js';
import { bulkBuild } from './bulk.js';
import { Codec } from './codec.js';
import { type TreeDescriptor, type TreeRoot, validateDescriptor } from './descriptor.js';
import { DEPTH_MAX, OFFSET_LEVEL } from './format.js';
import type { CommitResult, Entry, TreeVersion, WriteBatch } from './index.js';
import { decodeInline } from './inline.js';
import { type Pager } from './pager.js';
import { PageSource, ReadView } from './read.js';
import { type PageId } from './store.js';
import { CorruptionError } from '../common/errors.js';

/** What a version is: root page (0 = inline), depth, count and the inline leaf if any. */
export interface TreeState {
  readonly root: TreeRoot;
  readonly rootId: number;
  readonly depth: number;
  readonly count: number;
  readonly inlinePage: Uint8Array | null;
}

/** A published version. */
export class Version extends ReadView implements TreeVersion {
  readonly root: TreeRoot;
  readonly state: TreeState;

  constructor(codec: Codec, pager: Pager, state: TreeState) {
    super(codec, new PageSource(pager, state.inlinePage, null));
    this.root = state.root;
    this.state = state;
    this.rootId = state.rootId;
    this.depth = state.depth;
    this.count = state.count;
  }
}

export class Tree {
  readonly pager: Pager;
  readonly descriptor: TreeDescriptor;
  readonly codec: Codec;
  readonly workspace: Workspace;
  private currentVersion: Version;
  private batchOpen = false;

  constructor(pager: Pager, descriptor: TreeDescriptor, root: TreeRoot) {
    validateDescriptor(descriptor);
    this.pager = pager;
    this.descriptor = descriptor;
    this.codec = new Codec(descriptor, pager.limits);
    this.workspace = new Workspace(pager.pageSizeBytes, pager.limits.cellSizeMax);
    this.currentVersion = new Version(this.codec, pager, this.stateOf(root));
  }

  /** The latest published version. */
  get current(): TreeVersion {
    return this.currentVersion;
  }

  /** Opens a read-only view of another root of this tree (e.g. a version pinned by a reader). */
  version(root: TreeRoot): TreeVersion {
    return new Version(this.codec, this.pager, this.stateOf(root));
  }

  /** Starts the batch that builds the next version (one at a time: EINVAL otherwise). */
  begin(): WriteBatch {
    if (this.batchOpen) throw new EbofsError('EINVAL', 'a batch is already open on this tree');
    this.batchOpen = true;
    return new Batch(this, this.currentVersion.state);
  }

  /**
   * Builds the tree from entries in strictly ascending order (EINVAL otherwise) into an empty
   * tree. Leaves are filled to `fillPercent` (default 100).
   */
  bulkLoad(entries: Iterable<Entry | readonly [Uint8Array, Uint8Array]>, fillPercent = 100): CommitResult {
    if (this.batchOpen) throw new EbofsError('EINVAL', 'a batch is already open on this tree');
    if (this.currentVersion.count !== 0) throw new EbofsError('EINVAL', 'bulk load needs an empty tree');
    if (!(fillPercent >= 50 && fillPercent <= 100)) throw new EbofsError('EINVAL', 'fillPercent outside [50, 100]');
    const built = bulkBuild(this.pager, this.codec, entries, fillPercent);
    return this.publish(built.root, [], built.written);
  }

  /** Called by a committing batch: makes `root` current. */
  publish(root: TreeRoot, freed: PageId[], written: PageId[]): CommitResult {
    this.batchOpen = false;
    this.currentVersion = new Version(this.codec, this.pager, this.stateOf(root));
    return { version: this.currentVersion, root, freed, written };
  }

  /** Called by a committing batch that changed nothing: the current version stays. */
  keep(): CommitResult {
    this.batchOpen = false;
    return { version: this.currentVersion, root: this.currentVersion.root, freed: [], written: [] };
  }

  /** Called by an aborting batch. */
  abandon(): void {
    this.batchOpen = false;
  }

  private stateOf(root: TreeRoot): TreeState {
    switch (root.kind) {
      case 'empty':
        return { root, rootId: 0, depth: 0, count: 0, inlinePage: null };
      case 'inline': {
        const inlinePage = decodeInline(root.bytes, this.codec, this.pager.pageSizeBytes);
        return { root, rootId: 0, depth: 1, count: root.count, inlinePage };
      }
      case 'paged': {
        if (root.depth < 1 || root.depth > DEPTH_MAX) {
          throw new CorruptionError('ECORRUPT', `bad tree depth ${root.depth}`, { location: `page ${root.pageId}` });
        }
        const page = this.pager.read(root.pageId);
        if (page[OFFSET_LEVEL] !== root.depth - 1) {
          throw new CorruptionError('ECORRUPT', 'root page at the wrong level', {
            location: `page ${root.pageId}`, expected: String(root.depth - 1), actual: String(page[OFFSET_LEVEL]),
          });
        }
        return { root, rootId: root.pageId, depth: root.depth, count: root.count, inlinePage: null };
      }
      default: {
        const never: never = root;
        throw new EbofsError('EINVAL', `unknown root ${String(never)}`);
      }
    }
  }
}

/** Opens a tree from its descriptor and root (see decodeTreeHeader). */
export function openTree(pager: Pager, descriptor: TreeDescriptor, root: TreeRoot): Tree {
  return new Tree(pager, descriptor, root);
}
