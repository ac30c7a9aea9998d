/**
 * The building blocks of namespace changes, each run inside the caller's metadata
 * transaction: create directories, create or truncate a file for new contents,
 * keep a directory's mtime and link count right. None of them commits; the caller
 * commits once and only then deletes the fragments of dropped extents.
 *
 * Directory link counts follow POSIX: 2 (its entry and ".") plus one per
 * subdirectory (their ".."). A file or symlink has one link per directory entry naming
 * it (hard links); when the last goes, so does the inode — unless a handle still has
 * it open, and then it stays, with nlink 0, until the last release.
 */
import { DfsError } from '../errors';
import { ROOT_INO, type MetaStore, type Txn } from '../meta/store';
import { newInode, type Inode } from '../meta/records';
import type { DroppedExtent } from '../engine/engine';
import { inodeOf, isWithin, joinPath, lookupPath, parsePath, type PathLookup } from './paths';
import { inheritTier } from './tier-xattr';

/** The name in the root a mount shows the pool's snapshots under (snapshot-dir.ts): no entry may take it. */
export const SNAPSHOTS_DIR = '.snapshots';

/** EEXIST when `name` in directory `parent` is reserved (/.snapshots): every way of making an entry checks it. */
export function checkFreeName(parent: number, name: string, path: string): void {
  if (parent === ROOT_INO && name === SNAPSHOTS_DIR) {
    throw new DfsError('EEXIST', `/${SNAPSHOTS_DIR} is where a mount shows the pool's snapshots; pick another name`, path);
  }
}

export const DIR_MODE = 0o755;
export const FILE_MODE = 0o644;

/**
 * Record that a directory's entries changed: mtime/ctime to `now`, nlink by
 * `nlinkDelta` (+1 when a subdirectory arrives, -1 when one leaves). Re-reads the
 * inode because an earlier step of the same transaction may have changed it.
 */
export function touchDir(tx: Txn, store: MetaStore, ino: number, now: number, nlinkDelta = 0): void {
  const dir = inodeOf(store, ino);
  tx.putInode({ ...dir, mtimeMs: now, ctimeMs: now, nlink: dir.nlink + nlinkDelta });
}

/** Which inodes have open handles (the mount's); the CLI alone has none. */
export type IsOpen = (ino: number) => boolean;
export const noneOpen: IsOpen = () => false;

/**
 * Inside `tx`, account for one directory entry naming `inode` having been removed
 * (the caller unlinks the entry). A directory goes at once. A file or symlink loses
 * a link; at nlink 0 it goes with its extents, unless open. Returns the dropped
 * extents, whose fragments the caller deletes after the commit.
 */
export function dropLink(tx: Txn, inode: Inode, now: number, isOpen: IsOpen = noneOpen): DroppedExtent[] {
  if (inode.kind === 'dir') {
    tx.deleteInode(inode.ino);
    return [];
  }
  const nlink = Math.max(0, inode.nlink - 1);
  if (nlink > 0 || isOpen(inode.ino)) {
    tx.putInode({ ...inode, nlink, ctimeMs: now });
    return [];
  }
  return dropInode(tx, inode.ino);
}

/** Inside `tx`, delete an inode and its extents; returns the extents, whose fragments the caller deletes after the commit. */
export function dropInode(tx: Txn, ino: number): DroppedExtent[] {
  const dropped = tx.dropExtents(ino);
  tx.deleteInode(ino);
  return dropped;
}

/** A lookup that names an entry in a directory (not the root); `inode` if it exists. */
export type NamedLookup = PathLookup & { parent: Inode };

/**
 * Inside `tx`, rename(2)'s body: move `src`'s entry to `dst`, replacing what is there (a
 * file or symlink by one, an empty directory by a directory), with both parents' times
 * and link counts kept right. The caller has dealt with `dst` naming `src`'s own inode
 * (nothing to do). A directory into itself or below it is EINVAL; a file onto a directory
 * EISDIR, a directory onto a file ENOTDIR, onto a non-empty directory ENOTEMPTY. Returns
 * the extents a replaced file dropped: delete their fragments after the commit.
 */
export function moveEntry(tx: Txn, store: MetaStore, src: NamedLookup & { inode: Inode }, dst: NamedLookup, now: number,
  isOpen: IsOpen = noneOpen): DroppedExtent[] {
  const moving = src.inode;
  checkFreeName(dst.parent.ino, dst.name, dst.path);
  if (moving.kind === 'dir' && isWithin(store, dst.parent.ino, moving.ino)) {
    throw new DfsError('EINVAL', `cannot move ${src.path} into itself (${dst.path})`, src.path);
  }
  const dropped = dst.inode ? replaceEntry(tx, store, moving, dst as NamedLookup & { inode: Inode }, now, isOpen) : [];
  const dirDelta = moving.kind === 'dir' ? 1 : 0;
  tx.unlink(src.parent.ino, src.name);
  touchDir(tx, store, src.parent.ino, now, -dirDelta);
  tx.link(dst.parent.ino, dst.name, moving.ino);
  touchDir(tx, store, dst.parent.ino, now, +dirDelta);
  tx.putInode({ ...inodeOf(store, moving.ino), ctimeMs: now });
  return dropped;
}

/** Remove the entry a move lands on, after checking that `moving` may replace it. */
function replaceEntry(tx: Txn, store: MetaStore, moving: Inode, dst: NamedLookup & { inode: Inode }, now: number, isOpen: IsOpen): DroppedExtent[] {
  const victim = dst.inode;
  if (victim.kind === 'dir') {
    if (moving.kind !== 'dir') throw new DfsError('EISDIR', `cannot replace directory ${dst.path} with a file`, dst.path);
    if (store.readdir(victim.ino).length > 0) throw new DfsError('ENOTEMPTY', `${dst.path} is a directory that is not empty`, dst.path);
  } else if (moving.kind === 'dir') {
    throw new DfsError('ENOTDIR', `cannot replace file ${dst.path} with a directory`, dst.path);
  }
  tx.unlink(dst.parent.ino, dst.name);
  const dropped = dropLink(tx, victim, now, isOpen);
  touchDir(tx, store, dst.parent.ino, now, victim.kind === 'dir' ? -1 : 0);
  return dropped;
}

/**
 * Make sure the directories `names` exist, from the root down, inside `tx`.
 * Existing directories are walked through; with `parents` false only the last
 * name may be created (a missing one before it is ENOENT). A file on the way is
 * ENOTDIR. Returns the last directory's inode and the paths created, in order.
 */
export function makeDirs(tx: Txn, store: MetaStore, names: readonly string[], parents: boolean, now: number): { ino: number; created: string[] } {
  let dir = ROOT_INO;
  const created: string[] = [];
  const path = joinPath(names);
  for (let i = 0; i < names.length; i++) {
    const sofar = joinPath(names.slice(0, i + 1));
    const found = store.lookup(dir, names[i]!);
    if (found !== undefined) {
      if (inodeOf(store, found).kind !== 'dir') throw new DfsError('ENOTDIR', `${sofar} is not a directory (creating ${path})`, path);
      dir = found;
      continue;
    }
    if (!parents && i < names.length - 1) {
      throw new DfsError('ENOENT', `${sofar} does not exist; create the parents too with -p`, path);
    }
    checkFreeName(dir, names[i]!, sofar);
    const ino = tx.allocIno();
    tx.putInode(newInode(ino, 'dir', DIR_MODE, now));
    tx.link(dir, names[i]!, ino);
    inheritTier(tx, store, dir, ino);
    touchDir(tx, store, dir, now, +1);
    created.push(sofar);
    dir = ino;
  }
  return { ino: dir, created };
}

/**
 * The directory at `path`, created (with its parents when `parents`) if missing,
 * in one transaction of its own. An existing directory costs no transaction.
 * For put: `ensureDir(store, dirname, true)` before writing into it.
 */
export function ensureDir(store: MetaStore, path: string, parents: boolean): number {
  const names = parsePath(path);
  const found = existingDir(store, path);
  if (found !== undefined) return found;
  return store.transact((tx) => makeDirs(tx, store, names, parents, Date.now()).ino);
}

function existingDir(store: MetaStore, path: string): number | undefined {
  try {
    const at = lookupPath(store, path);
    if (!at.inode) return undefined;
    if (at.inode.kind !== 'dir') throw new DfsError('ENOTDIR', `${at.path} is not a directory`, at.path);
    return at.inode.ino;
  } catch (err) {
    // A missing parent is fine here: makeDirs creates it (or reports it precisely).
    if (err instanceof DfsError && err.code === 'ENOENT') return undefined;
    throw err;
  }
}

export interface PreparedFile {
  /** The file's inode as now written in `tx` (size 0, no extents). */
  inode: Inode;
  /** True when a new inode was created; false when an existing file was truncated. */
  created: boolean;
  /** Extents of the replaced contents: pass to engine.removeFragments AFTER the commit. */
  dropped: DroppedExtent[];
  /** The canonical path ("/a/b"). */
  path: string;
}

/**
 * Inside `tx`, make `path` an empty file ready for new extents: a new inode linked
 * into its parent, or an existing file truncated (its extents dropped, inode kept so
 * that open handles and hard references stay valid). The caller then puts the new
 * extents, writes the inode's final size and commits, so readers see the old
 * contents or the new ones, never a mix. EISDIR if `path` is a directory.
 */
export function prepareFile(tx: Txn, store: MetaStore, path: string,
  opts: { parents?: boolean; now?: number; mode?: number; policy?: string | null } = {}): PreparedFile {
  const now = opts.now ?? Date.now();
  const names = parsePath(path);
  const canonical = joinPath(names);
  if (names.length === 0) throw new DfsError('EISDIR', '/ is the pool root directory, not a file', canonical);
  const parentIno = opts.parents
    ? makeDirs(tx, store, names.slice(0, -1), true, now).ino
    : requireParent(store, path);
  const name = names[names.length - 1]!;
  const existing = store.lookup(parentIno, name);
  if (existing !== undefined) {
    const old = inodeOf(store, existing);
    if (old.kind === 'dir') throw new DfsError('EISDIR', `${canonical} is a directory`, canonical);
    const dropped = tx.dropExtents(old.ino);
    const inode: Inode = { ...old, size: 0, mtimeMs: now, ctimeMs: now, policy: opts.policy ?? old.policy };
    tx.putInode(inode);
    return { inode, created: false, dropped, path: canonical };
  }
  checkFreeName(parentIno, name, canonical);
  const inode: Inode = newInode(tx.allocIno(), 'file', opts.mode ?? FILE_MODE, now, { policy: opts.policy ?? null });
  tx.putInode(inode);
  tx.link(parentIno, name, inode.ino);
  inheritTier(tx, store, parentIno, inode.ino);
  touchDir(tx, store, parentIno, now);
  return { inode, created: true, dropped: [], path: canonical };
}

function requireParent(store: MetaStore, path: string): number {
  const at = lookupPath(store, path);
  return at.parent!.ino;
}
