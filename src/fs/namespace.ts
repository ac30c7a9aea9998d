/**
 * The POSIX namespace of a pool: directories, names and the inodes they point at,
 * over the metadata store. Every operation that changes something is ONE metadata
 * transaction; fragments of extents that a transaction dropped are deleted only
 * after it committed (a crash in between leaves orphans for gc, never a file whose
 * fragments are gone).
 *
 * Imports meta/ and errors; takes the engine only as something that removes fragments.
 */
import { DfsError } from '../errors';
import { ROOT_INO, type MetaStore, type Txn } from '../meta/store';
import type { Inode, InodeKind, PackRef } from '../meta/records';
import type { DroppedExtent, Engine } from '../engine/engine';
import { inodeOf, joinPath, lookupPath, parsePath, resolve, type PathLookup } from './paths';
import { dropLink, makeDirs, moveEntry, noneOpen, touchDir, type IsOpen, type NamedLookup } from './dir-ops';

export { ensureDir, prepareFile, makeDirs, touchDir, type PreparedFile } from './dir-ops';
export { lookupPath, parsePath, joinPath, resolve, type PathLookup } from './paths';

/** What the namespace needs from the engine: deleting fragments after a commit. */
export type FragmentRemover = Pick<Engine, 'removeFragments'>;

/** A directory entry with the inode fields `ls -l` shows. */
export interface EntryInfo {
  name: string;
  ino: number;
  kind: InodeKind;
  mode: number;
  size: number;
  nlink: number;
  mtimeMs: number;
}

export interface FragmentPlacement {
  index: number;
  diskId: number;
  /** The disk's directory, or null if the disk is no longer registered. */
  diskPath: string | null;
  /** BLAKE3 of the fragment payload, hex. */
  hash: string;
}

export interface ExtentInfo {
  id: string;
  offset: number;
  length: number;
  scheme: string;
  k: number;
  m: number;
  fragLen: number;
  logicalHash: string;
  fragments: FragmentPlacement[];
  /**
   * A packed extent's place: the pack's extent id, the offset of its bytes in it, and the
   * pack's redundancy and fragment placements (null until the pack is written, at the
   * latest when its transaction group commits).
   */
  pack?: { id: string; offset: number; scheme: string | null; k: number; m: number; fragments: FragmentPlacement[] };
}

/** stat: an entry's fields (less its name), plus where it is and how it is stored. */
export interface StatInfo extends Omit<EntryInfo, 'name'> {
  path: string;
  uid: number;
  gid: number;
  atimeMs: number;
  ctimeMs: number;
  /** The inode's own policy; null means the pool default. */
  policy: string | null;
  /** Directories only: the number of entries. */
  entries?: number;
  extents: ExtentInfo[];
}

function packInfo(store: MetaStore, at: PackRef, diskPaths: Map<number, string>): NonNullable<ExtentInfo['pack']> {
  const p = store.getExtent(at.id);
  return { id: at.id.toString('hex'), offset: at.offset, scheme: p?.scheme ?? null, k: p?.k ?? 0, m: p?.m ?? 0,
    fragments: (p?.fragments ?? []).map((f) => ({ index: f.index, diskId: f.diskId, diskPath: diskPaths.get(f.diskId) ?? null, hash: f.hash.toString('hex') })) };
}

export interface MoveResult {
  from: string;
  /** Where the entry ended up (inside `to` when `to` was a directory). */
  to: string;
  ino: number;
  /** The entry that was replaced, if any. */
  replaced: { ino: number; kind: InodeKind } | null;
}

export interface RemoveResult {
  path: string;
  files: number;
  dirs: number;
  bytes: number;
  extents: number;
}

/** What one change computed inside its transaction. */
interface Change<T> {
  result: T;
  /** Extents the transaction dropped; their fragments go after the commit. */
  dropped: DroppedExtent[];
  /** Nothing to do: abort instead of committing an empty transaction. */
  unchanged?: boolean;
}

export class Namespace {
  /** isOpen: which inodes the mount has open (their last link may go, the inode stays until release). */
  constructor(readonly store: MetaStore, private readonly remover: FragmentRemover, private readonly isOpen: IsOpen = noneOpen) {}

  /** The inode number at `path` (ENOENT / ENOTDIR naming the path). */
  resolve(path: string): number {
    return resolve(this.store, path).ino;
  }

  /**
   * Create a directory. EEXIST if `path` exists, unless `parents` and it is a
   * directory; with `parents` missing ancestors are created too.
   */
  mkdir(path: string, opts: { parents?: boolean } = {}): { path: string; ino: number; created: string[] } {
    const parents = opts.parents ?? false;
    const names = parsePath(path);
    const canonical = joinPath(names);
    const existing = this.existing(path, parents);
    if (existing) {
      if (parents && existing.kind === 'dir') return { path: canonical, ino: existing.ino, created: [] };
      throw new DfsError('EEXIST', `${canonical} already exists`, canonical);
    }
    return this.store.transact((tx) => {
      const r = makeDirs(tx, this.store, names, parents, Date.now());
      return { path: canonical, ino: r.ino, created: r.created };
    });
  }

  /** The inode at path, if any; a missing ancestor is only an error without `parents`. */
  private existing(path: string, parents: boolean): Inode | undefined {
    try {
      return lookupPath(this.store, path).inode;
    } catch (err) {
      if (parents && err instanceof DfsError && err.code === 'ENOENT') return undefined;
      throw err;
    }
  }

  /** The entries of a directory, by name, with their inodes. ENOTDIR for a file. */
  readdir(path: string): EntryInfo[] {
    const at = lookupPath(this.store, path);
    if (!at.inode) throw new DfsError('ENOENT', `${at.path} does not exist`, at.path);
    if (at.inode.kind !== 'dir') throw new DfsError('ENOTDIR', `${at.path} is not a directory`, at.path);
    return this.store.readdir(at.inode.ino).map((e) => entryInfo(e.name, inodeOf(this.store, e.ino)));
  }

  /** One entry's info (what `ls` shows for a file argument). */
  entry(path: string): EntryInfo {
    const at = lookupPath(this.store, path);
    if (!at.inode) throw new DfsError('ENOENT', `${at.path} does not exist`, at.path);
    return entryInfo(at.name || '/', at.inode);
  }

  /**
   * Rename with POSIX semantics, plus mv's convenience: when `to` is an existing
   * directory, the entry moves inside it under its own name. Onto an existing file,
   * a file replaces it (its extents dropped); onto an empty directory, a directory
   * replaces it. A directory into itself or a descendant is EINVAL; onto a non-empty
   * directory ENOTEMPTY; file onto directory EISDIR; directory onto file ENOTDIR.
   */
  async mv(from: string, to: string): Promise<MoveResult> {
    return this.change((tx) => this.moveIn(tx, from, to));
  }

  /**
   * Run one change in one transaction: commit it (unless it reports it changed
   * nothing, so a no-op leaves the generation alone), abort it on any error, and
   * delete the dropped extents' fragments only after the commit.
   */
  private async change<T>(fn: (tx: Txn) => Change<T>): Promise<T> {
    const tx = this.store.begin();
    let out: Change<T>;
    try {
      out = fn(tx);
      if (out.unchanged) tx.abort();
      else tx.commit();
    } catch (err) {
      tx.abort();
      throw err;
    }
    await this.remover.removeFragments(out.dropped);
    return out.result;
  }

  private moveIn(tx: Txn, from: string, to: string): Change<MoveResult> {
    const src = lookupPath(this.store, from);
    if (!src.inode) throw new DfsError('ENOENT', `${src.path} does not exist`, src.path);
    if (!src.parent) throw new DfsError('EINVAL', 'the pool root cannot be moved', src.path);
    let dst: PathLookup = lookupPath(this.store, to);
    if (dst.inode?.kind === 'dir') dst = lookupPath(this.store, joinPath([...dst.names, src.name]));
    // dst always has a parent here: the root is a directory, so the entry moves inside it.
    const result: MoveResult = { from: src.path, to: dst.path, ino: src.inode.ino, replaced: null };
    if (dst.inode?.ino === src.inode.ino) return { result, dropped: [], unchanged: true }; // already there
    if (dst.inode) result.replaced = { ino: dst.inode.ino, kind: dst.inode.kind };
    const dropped = moveEntry(tx, this.store, src as NamedLookup & { inode: Inode }, dst as NamedLookup, Date.now(), this.isOpen);
    return { result, dropped };
  }

  /**
   * Remove a file, or with `recursive` a directory and everything below it, in one
   * transaction. A directory without `recursive` is EISDIR (empty) or ENOTEMPTY;
   * the root is EINVAL.
   */
  async rm(path: string, opts: { recursive?: boolean } = {}): Promise<RemoveResult> {
    return this.change((tx) => this.removeIn(tx, path, opts.recursive ?? false));
  }

  private removeIn(tx: Txn, path: string, recursive: boolean): Change<RemoveResult> {
    const at = lookupPath(this.store, path);
    if (!at.inode) throw new DfsError('ENOENT', `${at.path} does not exist`, at.path);
    if (!at.parent) throw new DfsError('EINVAL', 'the pool root cannot be removed (remove what is inside it instead)', at.path);
    const target = at.inode;
    if (target.kind === 'dir' && !recursive) {
      if (this.store.readdir(target.ino).length > 0) {
        throw new DfsError('ENOTEMPTY', `${at.path} is a directory that is not empty; use -r to remove it and its contents`, at.path);
      }
      throw new DfsError('EISDIR', `${at.path} is a directory; use -r to remove it`, at.path);
    }
    const result: RemoveResult = { path: at.path, files: 0, dirs: 0, bytes: 0, extents: 0 };
    const dropped: DroppedExtent[] = [];
    // Depth-first with an explicit stack: deep trees must not overflow the JS stack.
    // Inodes are re-read when popped: a hard-linked file met twice has fewer links the second time.
    const now = Date.now();
    const stack: number[] = [target.ino];
    while (stack.length > 0) {
      const node = inodeOf(this.store, stack.pop()!);
      if (node.kind === 'dir') {
        result.dirs++;
        for (const e of this.store.readdir(node.ino)) {
          stack.push(e.ino);
          tx.unlink(node.ino, e.name);
        }
      } else {
        result.files++;
        result.bytes += node.size;
      }
      dropped.push(...dropLink(tx, node, now, this.isOpen));
    }
    result.extents = dropped.length;
    tx.unlink(at.parent.ino, at.name);
    touchDir(tx, this.store, at.parent.ino, Date.now(), target.kind === 'dir' ? -1 : 0);
    return { result, dropped };
  }

  /** An inode with its extents and where every fragment lives. */
  stat(path: string): StatInfo {
    const at = lookupPath(this.store, path);
    if (!at.inode) throw new DfsError('ENOENT', `${at.path} does not exist`, at.path);
    const i = at.inode;
    const diskPaths = new Map(this.store.listDisks().map((d) => [d.id, d.path]));
    const extents: ExtentInfo[] = i.kind === 'file'
      ? this.store.extentsOf(i.ino).map((e) => ({
        id: e.id.toString('hex'), offset: e.offset, length: e.length, scheme: e.scheme, k: e.k, m: e.m, fragLen: e.fragLen,
        logicalHash: e.logicalHash.toString('hex'),
        fragments: e.fragments.map((f) => ({ index: f.index, diskId: f.diskId, diskPath: diskPaths.get(f.diskId) ?? null, hash: f.hash.toString('hex') })),
        ...(e.pack ? { pack: packInfo(this.store, e.pack, diskPaths) } : {}),
      }))
      : [];
    return { path: at.path, ino: i.ino, kind: i.kind, mode: i.mode, uid: i.uid, gid: i.gid, size: i.size, nlink: i.nlink,
      atimeMs: i.atimeMs, mtimeMs: i.mtimeMs, ctimeMs: i.ctimeMs,
      policy: i.policy, ...(i.kind === 'dir' ? { entries: this.store.readdir(i.ino).length } : {}), extents };
  }
}

function entryInfo(name: string, i: Inode): EntryInfo {
  return { name, ino: i.ino, kind: i.kind, mode: i.mode, size: i.size, nlink: i.nlink, mtimeMs: i.mtimeMs };
}

export { ROOT_INO };
