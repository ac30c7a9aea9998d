/**
 * Pool paths and their resolution to inodes. A pool path names a file or directory
 * relative to the pool root: "/a/b" and "a/b" are the same path. This module only
 * reads the metadata store; the operations that change the namespace live in
 * namespace.ts.
 *
 * Imports meta/ and errors only.
 */
import { DfsError } from '../errors';
import { ROOT_INO, type MetaStore, type NamespaceReads } from '../meta/store';
import type { Inode } from '../meta/records';

/** POSIX NAME_MAX: the longest single name, in bytes of UTF-8. */
export const NAME_MAX = 255;

/**
 * Split a pool path into its names. "/" (and a single trailing slash, as shells
 * add them) is allowed; empty components, "." and "..", NUL bytes are EINVAL and names
 * longer than NAME_MAX bytes ENAMETOOLONG, naming the path. Relative components are refused
 * rather than interpreted so that one path always means one entry.
 */
export function parsePath(path: string): string[] {
  if (path.length === 0) throw new DfsError('EINVAL', 'empty path; use "/" for the pool root', path);
  if (path.includes('\0')) throw new DfsError('EINVAL', `path ${JSON.stringify(path)} contains a NUL byte`, path);
  let body = path.startsWith('/') ? path.slice(1) : path;
  if (body.endsWith('/')) body = body.slice(0, -1);
  if (body.length === 0) {
    if (path === '/') return [];
    throw new DfsError('EINVAL', `path "${path}" has an empty component`, path);
  }
  const names = body.split('/');
  for (const name of names) {
    if (name.length === 0) throw new DfsError('EINVAL', `path "${path}" has an empty component ("//")`, path);
    if (name === '.' || name === '..') {
      throw new DfsError('EINVAL', `path "${path}" contains "${name}"; pool paths are plain names from the root`, path);
    }
    if (Buffer.byteLength(name, 'utf8') > NAME_MAX) {
      throw new DfsError('ENAMETOOLONG', `path "${path}": the name "${name.slice(0, 16)}..." is longer than ${NAME_MAX} bytes`, path);
    }
  }
  return names;
}

/** The canonical spelling of a parsed path ("/a/b"), used in messages and output. */
export function joinPath(names: readonly string[]): string {
  return `/${names.join('/')}`;
}

/** What resolving a path reads: the live store, or a snapshot's view of it (NamespaceView). */
export type PathReads = Pick<NamespaceReads, 'getInode' | 'lookup'>;

/** Read an inode that a directory entry points at; a dangling entry is corruption. */
export function inodeOf(store: PathReads, ino: number): Inode {
  const inode = store.getInode(ino);
  if (!inode) throw new DfsError('EMETACORRUPT', `directory entry points at inode ${ino}, which does not exist; the metadata store is damaged`);
  return inode;
}

/**
 * Walk names from the root. Returns the inode of every directory on the way (the
 * last one is the target's parent); throws ENOENT for a missing directory and
 * ENOTDIR where a file sits in the middle of the path.
 */
function walkDirs(store: PathReads, names: readonly string[], path: string): Inode {
  let dir = inodeOf(store, ROOT_INO);
  // Every FUSE call walks its path: the prefix named in an error is only spelled out for the error.
  const sofar = (i: number): string => joinPath(names.slice(0, i + 1));
  for (let i = 0; i < names.length; i++) {
    const ino = store.lookup(dir.ino, names[i]!);
    if (ino === undefined) throw new DfsError('ENOENT', `${sofar(i)} does not exist (resolving ${path})`, path);
    const next = inodeOf(store, ino);
    if (next.kind !== 'dir') throw new DfsError('ENOTDIR', `${sofar(i)} is not a directory (resolving ${path})`, path);
    dir = next;
  }
  return dir;
}

/** Where a path points: its parent directory, its last name and, if it exists, its inode. */
export interface PathLookup {
  /** The canonical path ("/a/b"). */
  path: string;
  names: string[];
  /** The parent directory's inode; undefined only for the root. */
  parent: Inode | undefined;
  /** The last name ("" for the root). */
  name: string;
  /** The entry itself, or undefined when the name is free in an existing parent. */
  inode: Inode | undefined;
}

/**
 * Resolve everything but the last name strictly (ENOENT / ENOTDIR), then look the
 * last name up without requiring it. This is what a create or a replace needs
 * (put, mkdir, the target of mv): the parent exists, the name may or may not.
 */
export function lookupPath(store: PathReads, path: string): PathLookup {
  const names = parsePath(path);
  const canonical = joinPath(names);
  if (names.length === 0) return { path: canonical, names, parent: undefined, name: '', inode: inodeOf(store, ROOT_INO) };
  const parent = walkDirs(store, names.slice(0, -1), canonical);
  const name = names[names.length - 1]!;
  const ino = store.lookup(parent.ino, name);
  return { path: canonical, names, parent, name, inode: ino === undefined ? undefined : inodeOf(store, ino) };
}

/** The inode at `path`; ENOENT if it is missing, ENOTDIR if a file sits on the way. */
export function resolve(store: PathReads, path: string): Inode {
  const found = lookupPath(store, path);
  if (!found.inode) throw new DfsError('ENOENT', `${found.path} does not exist`, found.path);
  return found.inode;
}

/** True when `ino` is `ancestor` or lies below it (follows parent links to the root). */
export function isWithin(store: MetaStore, ino: number, ancestor: number): boolean {
  let cur: number | undefined = ino;
  // Bounded: a directory cycle would be corruption, not a reason to hang.
  for (let guard = 0; cur !== undefined && guard < 1_000_000; guard++) {
    if (cur === ancestor) return true;
    if (cur === ROOT_INO) return false;
    cur = store.parentOf(cur)?.parent;
  }
  return false;
}
