/** Placeholder while the implementation lands (API commit). */
import { EbofsError } from '../common/errors.js';
import { type TreeDescriptor, type TreeRoot } from './descriptor.js';
import type { CommitResult, Entry, TreeVersion, WriteBatch } from './index.js';
import { type Pager } from './pager.js';

export class Tree {
  readonly pager: Pager;
  readonly descriptor: TreeDescriptor;
  constructor(pager: Pager, descriptor: TreeDescriptor, _root: TreeRoot) {
    this.pager = pager;
    this.descriptor = descriptor;
  }
  get current(): TreeVersion {
    throw new EbofsError('ENOTSUP', 'not implemented yet');
  }
  begin(): WriteBatch {
    throw new EbofsError('ENOTSUP', 'not implemented yet');
  }
  bulkLoad(_entries: Iterable<Entry>): CommitResult {
    throw new EbofsError('ENOTSUP', 'not implemented yet');
  }
}

export function openTree(pager: Pager, descriptor: TreeDescriptor, root: TreeRoot): Tree {
  return new Tree(pager, descriptor, root);
}
