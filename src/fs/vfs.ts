/**
 * POSIX over the engine, for the mount: the path-based operations fuse-native calls,
 * with errno-style DfsErrors. Namespace changes are one transaction each; file
 * contents go through OpenFile (one per open inode, shared by its handles).
 *
 * Permission checks are the kernel's (the mount uses default_permissions): this layer
 * reports modes and owners truthfully and enforces only what the kernel cannot know.
 */
import { DfsError } from '../errors';
import type { Engine } from '../engine/engine';
import { newInode, type Inode, type InodeKind, type SpecialKind } from '../meta/records';
import { ROOT_INO } from '../meta/store';
import { formatPolicy, parsePolicy, type Policy } from '../pool/policy';
import { dropLink, touchDir } from './dir-ops';
import { ExtentCache } from './extent-cache';
import { OpenFile } from './open-file';
import { inodeOf, isWithin, lookupPath, type PathLookup } from './paths';

export const POLICY_XATTR = 'user.dynamicfs.policy';
/** The name libfuse gives an open file that is unlinked (lib/fuse.c, hidden_name: its node id and a counter). */
const FUSE_HIDDEN = /\/(\.fuse_hidden[0-9a-f]{16})$/;

/** The hidden name in `path`, or undefined. Unique in the mount, so it keys the file even after its directory moves. */
function hiddenName(path: string): string | undefined {
  return FUSE_HIDDEN.exec(path)?.[1];
}
const NAME_MAX = 255;

/** What getattr reports: the inode's fields, with the size an open file has now. `mode` is
 * the permission bits only; the FUSE layer adds the type bits. */
export type Attr = Pick<Inode, 'ino' | 'kind' | 'mode' | 'uid' | 'gid' | 'size' | 'nlink' | 'atimeMs' | 'mtimeMs' | 'ctimeMs' | 'rdev'>;

/** A directory entry as readdir reports it (for d_ino and d_type). */
export interface DirEntry {
  name: string;
  ino: number;
  kind: InodeKind;
}

/** A time for utimens: epoch ms (fractional to the microsecond), now, or leave as is. */
export type TimeSpec = number | 'now' | 'omit';

/** setxattr(2) flags. */
export const XATTR_CREATE = 1;
export const XATTR_REPLACE = 2;

const S_IFMT = 0o170000;
const SPECIAL_TYPES: Record<number, SpecialKind> = { 0o010000: 'fifo', 0o140000: 'socket', 0o020000: 'chardev', 0o060000: 'blockdev' };

/** The special kind mknod's mode asks for, or undefined (a regular file, a directory, ...). */
function specialKind(mode: number): SpecialKind | undefined {
  return SPECIAL_TYPES[mode & S_IFMT];
}

/** Times are kept to the microsecond: the same value reads back, whatever the float. */
function roundToMicros(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

export interface Caller {
  uid: number;
  gid: number;
}

export class Vfs {
  private files = new Map<number, OpenFile>();
  private handles = new Map<number, OpenFile>();
  private nextFd = 1;
  /**
   * libfuse renames an open file that is being unlinked to DIR/.fuse_hiddenXXXX and
   * unlinks that name at the last release, so the kernel can still reach it by path
   * (fstat). A real entry by that name would keep DIR from being removed, so here that
   * rename is an unlink and the hidden name resolves through this map (name -> inode)
   * until libfuse unlinks it or the inode's last handle closes.
   */
  private hidden = new Map<string, number>();
  readonly cache: ExtentCache;

  constructor(readonly engine: Engine, readonly readOnly = false) {
    this.cache = new ExtentCache(engine);
  }

  private get store() {
    return this.engine.meta;
  }

  isOpen = (ino: number): boolean => this.files.has(ino);

  // ---- lookups ----

  private at(path: string): PathLookup {
    return lookupPath(this.store, path);
  }

  private existing(path: string): Inode {
    // getattr's hot path: the map is nearly always empty, so no regex then.
    const hiddenIno = this.hidden.size > 0 ? this.hidden.get(hiddenName(path) ?? '') : undefined;
    const hidden = hiddenIno === undefined ? undefined : this.store.getInode(hiddenIno);
    if (hidden) return hidden;
    const at = this.at(path);
    if (!at.inode) throw new DfsError('ENOENT', `${path} does not exist`, path);
    return at.inode;
  }

  private free(path: string): PathLookup & { parent: Inode } {
    const at = this.at(path);
    if (!at.parent) throw new DfsError('EEXIST', '/ exists', path);
    if (at.inode) throw new DfsError('EEXIST', `${path} exists`, path);
    if (Buffer.byteLength(at.name) > NAME_MAX) throw new DfsError('ENAMETOOLONG', `${at.name.slice(0, 40)}... is longer than ${NAME_MAX} bytes`, path);
    return at as PathLookup & { parent: Inode };
  }

  private writable(): void {
    if (this.readOnly) throw new DfsError('EROFS', 'the pool is mounted read-only');
  }

  getattr(path: string): Attr {
    return this.attrOf(this.existing(path));
  }

  fgetattr(fd: number): Attr {
    const f = this.handle(fd);
    return this.attrOf(inodeOf(this.store, f.ino));
  }

  private attrOf(i: Inode): Attr {
    const open = this.files.get(i.ino);
    const size = i.kind === 'symlink' ? Buffer.byteLength(i.target ?? '') : open ? open.size : i.size;
    return { ino: i.ino, kind: i.kind, mode: i.mode, uid: i.uid, gid: i.gid, size, nlink: i.nlink, atimeMs: i.atimeMs,
      mtimeMs: open ? open.mtimeMs : i.mtimeMs, ctimeMs: open ? Math.max(i.ctimeMs, open.ctimeMs) : i.ctimeMs, rdev: i.rdev };
  }

  /** The entries of a directory, `.` and `..` first. */
  readdir(path: string): DirEntry[] {
    const at = this.at(path);
    const dir = at.inode;
    if (!dir) throw new DfsError('ENOENT', `${path} does not exist`, path);
    if (dir.kind !== 'dir') throw new DfsError('ENOTDIR', `${path} is not a directory`, path);
    return [{ name: '.', ino: dir.ino, kind: 'dir' }, { name: '..', ino: at.parent?.ino ?? dir.ino, kind: 'dir' }, ...this.store.readdirKinds(dir.ino)];
  }

  readlink(path: string): string {
    const i = this.existing(path);
    if (i.kind !== 'symlink') throw new DfsError('EINVAL', `${path} is not a symlink`, path);
    return i.target ?? '';
  }

  // ---- namespace changes ----

  mkdir(path: string, mode: number, caller: Caller): void {
    this.writable();
    const at = this.free(path);
    if (at.parent.kind !== 'dir') throw new DfsError('ENOTDIR', `parent of ${path} is not a directory`, path);
    const now = Date.now();
    this.store.transact((tx) => {
      const ino = tx.allocIno();
      // A setgid directory passes its group on, and its setgid bit to subdirectories (as on ext4).
      const setgid = (at.parent.mode & 0o2000) !== 0;
      const gid = setgid ? at.parent.gid : caller.gid;
      tx.putInode(newInode(ino, 'dir', (mode & 0o7777) | (setgid ? 0o2000 : 0), now, { uid: caller.uid, gid, policy: at.parent.policy }));
      tx.link(at.parent.ino, at.name, ino);
      touchDir(tx, this.store, at.parent.ino, now, +1);
    });
  }

  rmdir(path: string): void {
    this.writable();
    const at = this.at(path);
    if (!at.inode) throw new DfsError('ENOENT', `${path} does not exist`, path);
    if (at.inode.kind !== 'dir') throw new DfsError('ENOTDIR', `${path} is not a directory`, path);
    if (!at.parent) throw new DfsError('EBUSY', 'the root cannot be removed', path);
    if (this.store.readdir(at.inode.ino).length > 0) throw new DfsError('ENOTEMPTY', `${path} is not empty`, path);
    const now = Date.now();
    this.store.transact((tx) => {
      tx.unlink(at.parent!.ino, at.name);
      tx.deleteInode(at.inode!.ino);
      touchDir(tx, this.store, at.parent!.ino, now, -1);
    });
  }

  async unlink(path: string): Promise<void> {
    this.writable();
    const hidden = hiddenName(path);
    const hiddenIno = this.hidden.get(hidden ?? '');
    if (hidden && hiddenIno !== undefined) {
      this.hidden.delete(hidden);
      if (!this.isOpen(hiddenIno)) await this.dropIfUnlinked(hiddenIno);
      return;
    }
    const at = this.at(path);
    if (!at.inode) throw new DfsError('ENOENT', `${path} does not exist`, path);
    if (at.inode.kind === 'dir') throw new DfsError('EISDIR', `${path} is a directory`, path);
    const now = Date.now();
    const dropped = this.store.transact((tx) => {
      tx.unlink(at.parent!.ino, at.name);
      touchDir(tx, this.store, at.parent!.ino, now);
      return dropLink(tx, at.inode!, now, this.isOpen);
    });
    await this.engine.removeFragments(dropped);
  }

  /** rename(2): atomic; replaces a file, or an empty directory with a directory. */
  async rename(from: string, to: string): Promise<void> {
    this.writable();
    const src = this.at(from);
    if (!src.inode) throw new DfsError('ENOENT', `${from} does not exist`, from);
    const hidden = hiddenName(to);
    if (hidden && this.isOpen(src.inode.ino)) {
      await this.unlink(from);
      this.hidden.set(hidden, src.inode.ino);
      return;
    }
    if (!src.parent) throw new DfsError('EBUSY', 'the root cannot be renamed', from);
    const dst = this.at(to);
    if (!dst.parent) throw new DfsError('EBUSY', 'the root cannot be replaced', to);
    if (Buffer.byteLength(dst.name) > NAME_MAX) throw new DfsError('ENAMETOOLONG', `${dst.name.slice(0, 40)}... is too long`, to);
    const moving = src.inode;
    if (dst.inode?.ino === moving.ino) return; // same file: POSIX says do nothing
    if (moving.kind === 'dir' && isWithin(this.store, dst.parent.ino, moving.ino)) {
      throw new DfsError('EINVAL', `cannot move ${from} into itself`, from);
    }
    if (dst.inode) {
      if (dst.inode.kind === 'dir' && moving.kind !== 'dir') throw new DfsError('EISDIR', `${to} is a directory`, to);
      if (dst.inode.kind !== 'dir' && moving.kind === 'dir') throw new DfsError('ENOTDIR', `${to} is not a directory`, to);
      if (dst.inode.kind === 'dir' && this.store.readdir(dst.inode.ino).length > 0) throw new DfsError('ENOTEMPTY', `${to} is not empty`, to);
    }
    const now = Date.now();
    const dirDelta = moving.kind === 'dir' ? 1 : 0;
    const dropped = this.store.transact((tx) => {
      let out: ReturnType<typeof dropLink> = [];
      if (dst.inode) {
        tx.unlink(dst.parent!.ino, dst.name);
        if (dst.inode.kind === 'dir') touchDir(tx, this.store, dst.parent!.ino, now, -1);
        out = dropLink(tx, dst.inode, now, this.isOpen);
      }
      tx.unlink(src.parent!.ino, src.name);
      touchDir(tx, this.store, src.parent!.ino, now, -dirDelta);
      tx.link(dst.parent!.ino, dst.name, moving.ino);
      touchDir(tx, this.store, dst.parent!.ino, now, +dirDelta);
      tx.putInode({ ...inodeOf(this.store, moving.ino), ctimeMs: now });
      return out;
    });
    await this.engine.removeFragments(dropped);
  }

  link(existingPath: string, newPath: string): void {
    this.writable();
    const target = this.existing(existingPath);
    if (target.kind === 'dir') throw new DfsError('EPERM', `${existingPath} is a directory; hard links to directories are not allowed`, existingPath);
    const at = this.free(newPath);
    const now = Date.now();
    this.store.transact((tx) => {
      tx.link(at.parent.ino, at.name, target.ino);
      tx.putInode({ ...inodeOf(this.store, target.ino), nlink: target.nlink + 1, ctimeMs: now });
      touchDir(tx, this.store, at.parent.ino, now);
    });
  }

  symlink(target: string, path: string, caller: Caller): void {
    this.writable();
    const at = this.free(path);
    const now = Date.now();
    this.store.transact((tx) => {
      const ino = tx.allocIno();
      const gid = at.parent.mode & 0o2000 ? at.parent.gid : caller.gid;
      tx.putInode(newInode(ino, 'symlink', 0o777, now, { uid: caller.uid, gid, target }));
      tx.link(at.parent.ino, at.name, ino);
      touchDir(tx, this.store, at.parent.ino, now);
    });
  }

  chmod(path: string, mode: number): void {
    this.writable();
    const i = this.existing(path);
    this.store.transact((tx) => tx.putInode({ ...i, mode: mode & 0o7777, ctimeMs: Date.now() }));
  }

  chown(path: string, uid: number, gid: number): void {
    this.writable();
    const i = this.existing(path);
    // -1 (as an unsigned 32-bit value) means "leave unchanged".
    const keep = (v: number) => v === -1 || v === 0xffffffff;
    this.store.transact((tx) => tx.putInode({ ...i, uid: keep(uid) ? i.uid : uid, gid: keep(gid) ? i.gid : gid, ctimeMs: Date.now() }));
  }

  /** utimensat(2): each time set, set to now, or left alone; ctime becomes now unless both are left. */
  async utimens(path: string, atime: TimeSpec, mtime: TimeSpec): Promise<void> {
    this.writable();
    const i = this.existing(path);
    if (atime === 'omit' && mtime === 'omit') return;
    const open = this.files.get(i.ino);
    if (open) await open.commit(); // pending writes would otherwise set mtime again after this
    const now = Date.now();
    const current = inodeOf(this.store, i.ino);
    const pick = (t: TimeSpec, old: number): number => (t === 'now' ? now : t === 'omit' ? old : roundToMicros(t));
    const atimeMs = pick(atime, current.atimeMs);
    const mtimeMs = pick(mtime, open ? open.mtimeMs : current.mtimeMs);
    if (open) {
      open.mtimeMs = mtimeMs;
      open.ctimeMs = now;
    }
    this.store.transact((tx) => tx.putInode({ ...current, atimeMs, mtimeMs, ctimeMs: now }));
  }

  /** mknod(2) for FIFOs, sockets and device nodes (regular files come through create). */
  mknod(path: string, mode: number, rdev: number, caller: Caller): void {
    this.writable();
    const kind = specialKind(mode);
    if (!kind) throw new DfsError('EINVAL', `mknod of file type ${(mode & S_IFMT).toString(8)} is not supported: only FIFOs, sockets and device nodes`, path);
    const at = this.free(path);
    if (at.parent.kind !== 'dir') throw new DfsError('ENOTDIR', `parent of ${path} is not a directory`, path);
    const now = Date.now();
    this.store.transact((tx) => {
      const gid = at.parent.mode & 0o2000 ? at.parent.gid : caller.gid;
      const ino = tx.allocIno();
      tx.putInode(newInode(ino, kind, mode & 0o7777, now, { uid: caller.uid, gid, rdev: kind === 'chardev' || kind === 'blockdev' ? rdev : 0 }));
      tx.link(at.parent.ino, at.name, ino);
      touchDir(tx, this.store, at.parent.ino, now);
    });
  }

  // ---- files ----

  create(path: string, mode: number, caller: Caller): number {
    this.writable();
    const at = this.free(path);
    if (at.parent.kind !== 'dir') throw new DfsError('ENOTDIR', `parent of ${path} is not a directory`, path);
    const now = Date.now();
    const inode = this.store.transact((tx) => {
      const gid = at.parent.mode & 0o2000 ? at.parent.gid : caller.gid;
      const i = newInode(tx.allocIno(), 'file', mode & 0o7777, now, { uid: caller.uid, gid, policy: at.parent.policy });
      tx.putInode(i);
      tx.link(at.parent.ino, at.name, i.ino);
      touchDir(tx, this.store, at.parent.ino, now);
      return i;
    });
    return this.openInode(inode);
  }

  /** open(2). O_TRUNC arrives separately as truncate from the kernel. */
  open(path: string, flags: number): number {
    const i = this.existing(path);
    if (i.kind === 'dir') throw new DfsError('EISDIR', `${path} is a directory`, path);
    if (i.kind !== 'file') throw new DfsError('ENXIO', `${path} is a ${i.kind}, which the kernel opens, not the pool`, path);
    const accmode = flags & 3;
    if (accmode !== 0 && this.readOnly) throw new DfsError('EROFS', 'the pool is mounted read-only');
    return this.openInode(i);
  }

  private openInode(i: Inode): number {
    let f = this.files.get(i.ino);
    if (!f) {
      f = new OpenFile(this.engine, this.cache, i.ino, i, () => this.policyOf(i.ino));
      this.files.set(i.ino, f);
    }
    f.refs++;
    const fd = this.nextFd++;
    this.handles.set(fd, f);
    return fd;
  }

  private handle(fd: number): OpenFile {
    const f = this.handles.get(fd);
    if (!f) throw new DfsError('EBADF', `no open file with handle ${fd}`);
    return f;
  }

  read(fd: number, into: Buffer, pos: number): Promise<number> {
    return this.handle(fd).read(pos, into);
  }

  write(fd: number, data: Buffer, pos: number): Promise<number> {
    this.writable();
    return this.handle(fd).write(pos, data);
  }

  /** flush (close of a descriptor): what was written joins the open transaction group (durable at its commit). */
  flush(fd: number): Promise<void> {
    return this.handle(fd).commit();
  }

  /** fsync and fdatasync: the file's writes, and everything else in the open group, are durable when this resolves. */
  async fsync(fd: number): Promise<void> {
    await this.handle(fd).commit();
    await this.engine.txg.commit('fsync');
  }

  /** fsyncdir and unmount: every open file's writes and every namespace change so far, durable. */
  async syncAll(): Promise<void> {
    await this.flushAll();
    await this.engine.txg.commit('fsync');
  }

  async release(fd: number): Promise<void> {
    const f = this.handle(fd);
    this.handles.delete(fd);
    try {
      await f.commit();
    } finally {
      f.refs--;
      if (f.refs === 0 && f.clean) {
        this.files.delete(f.ino);
        for (const [p, ino] of this.hidden) if (ino === f.ino) this.hidden.delete(p);
        await this.dropIfUnlinked(f.ino);
      }
    }
  }

  async truncate(path: string, size: number): Promise<void> {
    this.writable();
    const i = this.existing(path);
    if (i.kind === 'dir') throw new DfsError('EISDIR', `${path} is a directory`, path);
    if (i.kind !== 'file') throw new DfsError('EINVAL', `${path} is a ${i.kind}; only regular files can be truncated`, path);
    const f = this.files.get(i.ino) ?? new OpenFile(this.engine, this.cache, i.ino, i, () => this.policyOf(i.ino));
    await f.truncate(size);
    await f.commit();
  }

  async ftruncate(fd: number, size: number): Promise<void> {
    this.writable();
    const f = this.handle(fd);
    await f.truncate(size);
    await f.commit();
  }

  /** An unlinked file whose last handle closed: its inode and data go now. */
  private async dropIfUnlinked(ino: number): Promise<void> {
    const i = this.store.getInode(ino);
    if (!i || i.nlink > 0) return;
    const dropped = this.store.transact((tx) => {
      const d = tx.dropExtents(ino);
      tx.deleteInode(ino);
      return d;
    });
    await this.engine.removeFragments(dropped);
  }

  /** Commit every open file (unmount, shutdown). */
  async flushAll(): Promise<void> {
    await Promise.all([...this.files.values()].map((f) => f.commit()));
  }

  // ---- extended attributes (user.* only) and policies ----

  private policyOf(ino: number): Policy {
    const i = inodeOf(this.store, ino);
    return i.policy ? parsePolicy(i.policy) : this.engine.pool.policy;
  }

  getxattr(path: string, name: string): Buffer {
    const i = this.existing(path);
    if (name === POLICY_XATTR) {
      if (!i.policy) throw new DfsError('ENODATA', `${path} has no ${name}`, path);
      return Buffer.from(i.policy);
    }
    const v = this.store.getXattr(i.ino, name);
    if (!v) throw new DfsError('ENODATA', `${path} has no ${name}`, path);
    return v;
  }

  listxattr(path: string): string[] {
    const i = this.existing(path);
    return [...(i.policy ? [POLICY_XATTR] : []), ...this.store.listXattrs(i.ino)];
  }

  /** setxattr(2); flags XATTR_CREATE (must not exist: EEXIST) or XATTR_REPLACE (must exist: ENODATA). */
  setxattr(path: string, name: string, value: Buffer, flags = 0): void {
    this.writable();
    if (!name.startsWith('user.')) throw new DfsError('ENOTSUP', `only user.* extended attributes are supported, not ${name}`, path);
    const i = this.existing(path);
    if (flags & (XATTR_CREATE | XATTR_REPLACE)) {
      const exists = name === POLICY_XATTR ? i.policy !== null : this.store.getXattr(i.ino, name) !== undefined;
      if (flags & XATTR_CREATE && exists) throw new DfsError('EEXIST', `${path} already has ${name}`, path);
      if (flags & XATTR_REPLACE && !exists) throw new DfsError('ENODATA', `${path} has no ${name} to replace`, path);
    }
    if (name === POLICY_XATTR) {
      const policy = formatPolicy(parsePolicy(value.toString('utf8').trim())); // EINVAL names the bad text
      this.engine.placement.check(parsePolicy(policy));
      this.store.transact((tx) => tx.putInode({ ...i, policy, ctimeMs: Date.now() }));
      return;
    }
    if (value.length > 65536) throw new DfsError('E2BIG', `extended attribute values are limited to 64 KiB`, path);
    this.store.transact((tx) => tx.setXattr(i.ino, name, value));
  }

  removexattr(path: string, name: string): void {
    this.writable();
    const i = this.existing(path);
    if (name === POLICY_XATTR) {
      if (!i.policy) throw new DfsError('ENODATA', `${path} has no ${name}`, path);
      this.store.transact((tx) => tx.putInode({ ...i, policy: null, ctimeMs: Date.now() }));
      return;
    }
    const gone = this.store.transact((tx) => tx.removeXattr(i.ino, name));
    if (!gone) throw new DfsError('ENODATA', `${path} has no ${name}`, path);
  }

  // ---- the filesystem as a whole ----

  /** statfs: capacity as files see it, after redundancy (free raw space x k/(k+m)). */
  async statfs(): Promise<{ blockSize: number; blocks: number; free: number; files: number; filesFree: number; nameMax: number }> {
    const p = this.engine.pool.policy;
    let capacity = 0;
    let free = 0;
    const seen = new Set<string>();
    for (const d of this.engine.placement.writable()) {
      const s = await this.engine.pool.store(d.id).space();
      const key = `${s.capacityBytes}:${s.freeBytes}`; // disks sharing one filesystem count once
      if (seen.has(key)) continue;
      seen.add(key);
      capacity += s.capacityBytes;
      free += s.freeBytes;
    }
    const usable = p.k / (p.k + p.m);
    const bs = 4096;
    const counts = this.store.counts();
    return { blockSize: bs, blocks: Math.floor((capacity * usable) / bs), free: Math.floor((free * usable) / bs), files: counts.inodes + 1_000_000,
      filesFree: 1_000_000, nameMax: NAME_MAX };
  }

  /** Root inode exists: a cheap liveness check for the mount. */
  ping(): boolean {
    return this.store.getInode(ROOT_INO) !== undefined;
  }
}
