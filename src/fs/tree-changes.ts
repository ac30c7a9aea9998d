/**
 * Which inodes changed between two generations, from the keys that changed (the store's
 * changedBetween), so the cost follows the change and not the tree: what `snapshot diff`
 * reports and what an incremental send stream carries.
 *
 * An inode changed when its row, an xattr or an extent of it did, or a directory entry
 * naming it (or inside it) came or went. A directory that became reachable brings its
 * whole subtree: a tree built unnamed and published in one transaction (tree-apply.ts)
 * has rows older than the entry that made it visible, and its contents are as new to a
 * reader of the two generations as the entry is.
 */
import type { ChangedKeys, NamespaceView } from '../meta/store';

export function changedInodes(keys: ChangedKeys, a: NamespaceView, b: NamespaceView): Set<number> {
  const inos = new Set<number>([...keys.inodes, ...keys.xattrInodes, ...keys.extentInodes]);
  for (const d of keys.dirents) {
    inos.add(d.parent);
    for (const v of [a, b]) {
      const ino = v.lookup(d.parent, d.name);
      if (ino !== undefined) inos.add(ino);
    }
  }
  // Directories reachable in b and not in a: everything below them is new to a reader of a.
  const stack = [...inos].filter((ino) => b.getInode(ino)?.kind === 'dir' && a.pathOf(ino) === undefined && b.pathOf(ino) !== undefined);
  while (stack.length > 0) {
    for (const d of b.readdir(stack.pop()!)) {
      if (inos.has(d.ino)) continue;
      inos.add(d.ino);
      if (b.getInode(d.ino)?.kind === 'dir') stack.push(d.ino);
    }
  }
  return inos;
}
