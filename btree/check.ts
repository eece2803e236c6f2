/** Placeholder while the implementation lands (API commit). */
import type { Tree } from './tree.js';
export interface CheckFinding { readonly location: string; readonly problem: string }
export function check(_tree: Tree): CheckFinding[] { return []; }
