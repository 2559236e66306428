/**
 * What changed between two snapshots, by merging their trees directory by directory. Equal
 * subtree IDs mean equal contents (content addressing), so an unchanged directory is skipped
 * without being loaded: a diff costs what changed, not what exists.
 */
import { bytesEqual } from '../util/bytes.js';
import { compareNames, type TreeNode } from './tree-format.js';
import { type LoadTree, walkTree } from './tree-walker.js';

/**
 * - `added` / `removed`: an entry in one snapshot only (a removed or added directory's
 *   contents follow it, each as its own change);
 * - `changed`: same name, same type, different contents or metadata (mode, mtime, size,
 *   target, chunks); a directory whose listing differs only below it is not itself `changed`;
 * - `type-changed`: same name, another type (a file replaced by a directory): reported once,
 *   then the old entry's contents as `removed` and the new one's as `added`.
 * ctime, inode and dev are not compared: they change on a copy that restores the same thing.
 */
export type TreeChangeKind = 'added' | 'removed' | 'changed' | 'type-changed';

export interface TreeChange {
  kind: TreeChangeKind;
  path: string;
  before?: TreeNode;
  after?: TreeNode;
}

/** Changes from tree `a` to tree `b`, in path order (each directory's names sorted). */
export async function* diffTrees(a: Uint8Array, b: Uint8Array, loadTree: LoadTree, prefix = ''): AsyncGenerator<TreeChange> {
  if (bytesEqual(a, b)) return;
  const [left, right] = await Promise.all([loadTree(a), loadTree(b)]);
  let i = 0;
  let j = 0;
  while (i < left.length || j < right.length) {
    const order = i >= left.length ? 1 : j >= right.length ? -1 : compareNames(left[i]!.name, right[j]!.name);
    if (order < 0) {
      yield* gone(left[i++]!, prefix, loadTree);
    } else if (order > 0) {
      yield* came(right[j++]!, prefix, loadTree);
    } else {
      const before = left[i++]!;
      const after = right[j++]!;
      const path = join(prefix, before.name);
      if (before.type !== after.type) {
        yield { kind: 'type-changed', path, before, after };
        if (before.type === 'dir') yield* contents(before, path, 'removed', loadTree);
        if (after.type === 'dir') yield* contents(after, path, 'added', loadTree);
      } else {
        if (!sameNode(before, after)) yield { kind: 'changed', path, before, after };
        if (before.type === 'dir') yield* diffTrees(before.subtree!, after.subtree!, loadTree, path);
      }
    }
  }
}

function join(prefix: string, name: string): string {
  return prefix ? `${prefix}/${name}` : name;
}

async function* gone(node: TreeNode, prefix: string, loadTree: LoadTree): AsyncGenerator<TreeChange> {
  const path = join(prefix, node.name);
  yield { kind: 'removed', path, before: node };
  if (node.type === 'dir') yield* contents(node, path, 'removed', loadTree);
}

async function* came(node: TreeNode, prefix: string, loadTree: LoadTree): AsyncGenerator<TreeChange> {
  const path = join(prefix, node.name);
  yield { kind: 'added', path, after: node };
  if (node.type === 'dir') yield* contents(node, path, 'added', loadTree);
}

async function* contents(dir: TreeNode, path: string, kind: 'added' | 'removed', loadTree: LoadTree): AsyncGenerator<TreeChange> {
  for await (const e of walkTree(dir.subtree!, loadTree, {}, path)) yield kind === 'added' ? { kind, path: e.path, after: e.node } : { kind, path: e.path, before: e.node };
}

/** Same metadata and same contents, for diff's purposes (directories: metadata only). */
function sameNode(a: TreeNode, b: TreeNode): boolean {
  if (a.mode !== b.mode || a.mtimeMs !== b.mtimeMs || a.size !== b.size || a.target !== b.target) return false;
  if (a.type !== 'file') return true;
  return sameIds(a.chunks, b.chunks) && sameIds(a.chunkLists, b.chunkLists);
}

function sameIds(a: Uint8Array[] | undefined, b: Uint8Array[] | undefined): boolean {
  if (!a || !b) return a === b;
  return a.length === b.length && a.every((id, k) => bytesEqual(id, b[k]!));
}
