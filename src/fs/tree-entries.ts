/**
 * A tree as a sequence of self-contained entries: what send streams and backup manifests
 * carry (one entry per directory entry, parents before children, names in order). An
 * entry holds the inode's attributes, xattrs and, for a file, its extents by logical
 * BLAKE3, so a receiver or a repository knows every byte's hash without reading it. A
 * second link to an inode already walked comes as `link` (the first path), so hard links
 * survive; the attributes repeat so each entry stands alone.
 */
import { DfsError } from '../errors';
import { ROOT_INO, type NamespaceView } from '../meta/store';
import type { Extent, Inode, InodeKind } from '../meta/records';
import { joinPath, parsePath } from './paths';

/** One extent of a file as an entry carries it: where, how long, and the BLAKE3 of its bytes. */
export interface EntryExtent {
  offset: number;
  length: number;
  hash: Buffer;
  /** The source extent's id (the same bytes under the same id need not travel again). */
  id: Buffer;
}

export interface TreeEntry {
  /** Relative to the walk's root, '/'-separated: '' is the root itself. */
  path: string;
  kind: InodeKind;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  atimeMs: number;
  mtimeMs: number;
  ctimeMs: number;
  rdev: number;
  /** A symlink's target; null otherwise. */
  target: string | null;
  /** Extended attributes in name order. */
  xattrs: [string, Buffer][];
  /** The source inode number: entries sharing it are one inode (hard links). */
  ino: number;
  /** Its link count at the walk's generation (more than 1: other entries may name it); walkView always sets it. */
  nlink?: number;
  /** For a later link of an inode already walked: that inode's first path; null otherwise. */
  link: string | null;
  /** A file's extents in offset order (gaps are holes); empty for other kinds. */
  extents: EntryExtent[];
}

export const entryExtent = (e: Extent): EntryExtent => ({ offset: e.offset, length: e.length, hash: e.logicalHash, id: e.id });

/** The inode number `path` names in `view`, or ENOENT naming the path and `where` the view is (`snapshot "a"`). */
export function resolveView(view: NamespaceView, path: string, where?: string): number {
  let ino = ROOT_INO;
  for (const name of parsePath(path)) {
    const next = view.lookup(ino, name);
    if (next === undefined) throw new DfsError('ENOENT', `${joinPath(parsePath(path))} does not exist${where ? ` in ${where}` : ''}`, path);
    ino = next;
  }
  return ino;
}

/** An entry as walkView makes it: its link count always there. */
export type WalkedEntry = TreeEntry & { nlink: number };

/**
 * The entry for inode `i` at `path` of `view`: with `link` (the inode's first path) it is a
 * later link and carries no extents.
 */
export function entryOf(view: NamespaceView, i: Inode, path: string, link: string | null = null): WalkedEntry {
  return {
    path, kind: i.kind, mode: i.mode, uid: i.uid, gid: i.gid, size: i.size,
    atimeMs: i.atimeMs, mtimeMs: i.mtimeMs, ctimeMs: i.ctimeMs, rdev: i.rdev, target: i.target,
    xattrs: [...view.xattrs(i.ino)].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
    ino: i.ino, nlink: i.nlink, link,
    extents: i.kind === 'file' && link === null ? view.extentsOf(i.ino).map(entryExtent) : [],
  };
}

/**
 * Every entry at and below `root` of `view`, depth first, parents before children, names
 * in byte order of readdir; each record verified as the view reads it. Only inodes with
 * more than one link are remembered (for their later links), so memory follows the depth
 * of the tree and its hard-linked files, not its size.
 */
export function* walkView(view: NamespaceView, root = '/'): Generator<WalkedEntry> {
  const first = new Map<number, string>();
  const stack: { ino: number; path: string }[] = [{ ino: resolveView(view, root), path: '' }];
  while (stack.length > 0) {
    const { ino, path } = stack.pop()!;
    const i = view.getInode(ino);
    if (!i) throw new DfsError('EMETACORRUPT', `inode ${ino} at ${path || '/'} is named but missing`, path);
    const linked = i.kind !== 'dir' && i.nlink > 1;
    const seen = linked ? first.get(ino) : undefined;
    if (linked && seen === undefined) first.set(ino, path);
    yield entryOf(view, i, path, seen ?? null);
    if (i.kind === 'dir') {
      const children = view.readdir(ino);
      for (let k = children.length - 1; k >= 0; k--) {
        const d = children[k];
        stack.push({ ino: d.ino, path: path === '' ? d.name : `${path}/${d.name}` });
      }
    }
  }
}
