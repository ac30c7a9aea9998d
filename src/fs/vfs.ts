/**
 * POSIX over the engine, for the mount: the path-based operations fuse-native calls,
 * with errno-style DfsErrors. Namespace changes are one transaction each; file
 * contents go through OpenFile (one per open inode, shared by its handles: open-files.ts);
 * extended attributes are xattrs.ts's, the names of files unlinked while open
 * hidden-names.ts's. Paths under /.snapshots go to snapshot-dir.ts (read-only: every change
 * there is EROFS).
 *
 * Permission checks are the kernel's (the mount uses default_permissions): this layer
 * reports modes and owners truthfully and enforces only what the kernel cannot know.
 */
import { DfsError } from '../errors';
import type { Engine } from '../engine/engine';
import { newInode, type Inode } from '../meta/records';
import type { Attr, DirEntry } from './attrs';
import { dropInode, dropLink, moveEntry, touchDir, type NamedLookup } from './dir-ops';
import { ExtentCache } from './extent-cache';
import { FileLog } from './file-log';
import { MODE_BITS, S_IFMT, S_ISGID, specialKind } from './file-types';
import { HiddenNames, hiddenName } from './hidden-names';
import { OpenFile } from './open-file';
import { OpenFiles } from './open-files';
import { inodeOf, lookupPath, NAME_MAX, type PathLookup } from './paths';
import { readTuning } from './read-tuning';
import { SNAPSHOTS_DIR, SnapshotDir, snapshotPath, snapshotsReadOnly } from './snapshot-dir';
import { inheritTier } from './tier-xattr';
import { Xattrs } from './xattrs';

export type { Attr, DirEntry } from './attrs';

/** A time for utimens: epoch ms (fractional to the microsecond), now, or leave as is. */
export type TimeSpec = number | 'now' | 'omit';

/** Times are kept to the microsecond: the same value reads back, whatever the float. */
function roundToMicros(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

export interface Caller {
  uid: number;
  gid: number;
}

export class Vfs {
  readonly cache: ExtentCache;
  /** /.snapshots: every snapshot's tree, read-only. */
  readonly snapshots: SnapshotDir;
  /** Handle numbers, shared by live and snapshot files. */
  private fds = 0;
  private readonly newFd = (): number => ++this.fds;
  private readonly files = new OpenFiles((i) => this.fileOf(i), this.newFd);
  private readonly hidden = new HiddenNames();
  private readonly xattrs: Xattrs;
  private readonly fileLog: FileLog;

  constructor(readonly engine: Engine, readonly readOnly = false) {
    this.cache = new ExtentCache(engine);
    this.snapshots = new SnapshotDir(engine, this.cache, this.newFd);
    this.fileLog = new FileLog(engine, () => this.files.all());
    // Open files join every group commit like any other change, so a crash loses at most the last
    // interval's writes of a file kept open too: their data (files the intent log carries excepted: the
    // log holds it), and their attribute changes (tar's, made just before a close, usually go in with
    // the close's own commit instead, one transaction instead of four).
    engine.txg.join({
      pending: () => this.files.all().some((f) => (!f.clean && !this.fileLog.logs(f)) || f.attrsPending),
      prepare: async () => {
        // A file that cannot be written keeps its failure for its own fsync and close; the group goes on without it.
        await Promise.all(this.files.all().filter((f) => !f.clean && !this.fileLog.logs(f)).map((f) => f.commit().catch(() => undefined)));
        // A file the commit carries keeps a chmod made since for the next group: its replayed records would set the mtime back.
        for (const f of this.files.all()) if (!this.fileLog.carries(f)) f.commitAttrs();
      },
    });
    this.xattrs = new Xattrs(engine, (path) => this.existing(path));
    engine.mountFiles = { flushAll: () => this.flushAll(), openCount: () => this.files.all().length };
  }

  private get store() {
    return this.engine.meta;
  }

  /** The settings as stored now (cache.extentBytes, read.aheadExtents, snapshots.visible), at once: the coordinator calls this after a change. */
  applySettings(): void {
    this.cache.configure(readTuning(this.store));
    this.snapshots.applySettings();
  }

  private readonly isOpen = (ino: number): boolean => this.files.isOpen(ino);

  private fileOf(i: Inode): OpenFile {
    const f = new OpenFile(this.engine, this.cache, i.ino, i, () => this.xattrs.policyOf(i.ino));
    f.onTransaction = (logged) => this.fileLog.transaction(logged);
    return f;
  }

  // ---- lookups ----

  private at(path: string): PathLookup {
    return lookupPath(this.store, path);
  }

  private existing(path: string): Inode {
    const hiddenIno = this.hidden.inodeAt(path);
    const hidden = hiddenIno === undefined ? undefined : this.store.getInode(hiddenIno);
    if (hidden) return hidden;
    const at = this.at(path);
    if (!at.inode) throw new DfsError('ENOENT', `${path} does not exist`, path);
    return at.inode;
  }

  /** A name that does not exist yet in an existing directory (parsePath has refused names over NAME_MAX). */
  private free(path: string): NamedLookup {
    const at = this.at(path);
    if (!at.parent) throw new DfsError('EEXIST', '/ exists', path);
    if (at.inode) throw new DfsError('EEXIST', `${path} exists`, path);
    return at as NamedLookup;
  }

  /**
   * A new inode at the free name `at`, linked in one transaction; it belongs to the
   * caller, and to the parent's group when the parent is set-group-ID (as on ext4).
   */
  private createAt(at: NamedLookup, caller: Caller, make: (ino: number, owner: { uid: number; gid: number }, now: number) => Inode): Inode {
    const now = Date.now();
    return this.store.transact((tx) => {
      const gid = at.parent.mode & S_ISGID ? at.parent.gid : caller.gid;
      const i = make(tx.allocIno(), { uid: caller.uid, gid }, now);
      tx.putInode(i);
      tx.link(at.parent.ino, at.name, i.ino);
      if (i.kind === 'dir' || i.kind === 'file') inheritTier(tx, this.store, at.parent.ino, i.ino);
      touchDir(tx, this.store, at.parent.ino, now, i.kind === 'dir' ? +1 : 0);
      return i;
    });
  }

  /** A change at `paths`: EROFS on a read-only mount, and under /.snapshots. */
  private writable(...paths: string[]): void {
    if (this.readOnly) throw new DfsError('EROFS', 'the pool is mounted read-only');
    for (const p of paths) if (snapshotPath(p)) throw snapshotsReadOnly(p);
  }

  getattr(path: string): Attr {
    const snap = snapshotPath(path);
    if (snap) return this.snapshots.getattr(snap, path);
    return this.attrOf(this.existing(path));
  }

  fgetattr(fd: number): Attr {
    if (this.snapshots.has(fd)) return this.snapshots.fgetattr(fd);
    const f = this.handle(fd);
    return this.attrOf(inodeOf(this.store, f.ino));
  }

  private attrOf(stored: Inode): Attr {
    const open = this.files.of(stored.ino);
    const i = open ? open.overlay(stored) : stored;
    const size = i.kind === 'symlink' ? Buffer.byteLength(i.target ?? '') : open ? open.size : i.size;
    return { ino: i.ino, kind: i.kind, mode: i.mode, uid: i.uid, gid: i.gid, size, nlink: i.nlink, atimeMs: i.atimeMs,
      mtimeMs: open ? open.mtimeMs : i.mtimeMs, ctimeMs: open ? Math.max(i.ctimeMs, open.ctimeMs) : i.ctimeMs, rdev: i.rdev };
  }

  /**
   * The entries of a directory, `.` and `..` first. The root's live entry named .snapshots,
   * if any, is shadowed by the snapshots directory, which is listed only when the setting
   * snapshots.visible says so.
   */
  readdir(path: string): DirEntry[] {
    const snap = snapshotPath(path);
    if (snap) return this.snapshots.readdir(snap, path);
    const at = this.at(path);
    const dir = at.inode;
    if (!dir) throw new DfsError('ENOENT', `${path} does not exist`, path);
    if (dir.kind !== 'dir') throw new DfsError('ENOTDIR', `${path} is not a directory`, path);
    const head: DirEntry[] = [{ name: '.', ino: dir.ino, kind: 'dir' }, { name: '..', ino: at.parent?.ino ?? dir.ino, kind: 'dir' }];
    if (at.parent) return [...head, ...this.store.readdirKinds(dir.ino)];
    return [...head, ...(this.snapshots.visible ? [this.snapshots.entry()] : []), ...this.store.readdirKinds(dir.ino).filter((e) => e.name !== SNAPSHOTS_DIR)];
  }

  readlink(path: string): string {
    const snap = snapshotPath(path);
    if (snap) return this.snapshots.readlink(snap, path);
    const i = this.existing(path);
    if (i.kind !== 'symlink') throw new DfsError('EINVAL', `${path} is not a symlink`, path);
    return i.target ?? '';
  }

  // ---- namespace changes ----

  mkdir(path: string, mode: number, caller: Caller): void {
    this.writable(path);
    const at = this.free(path);
    // A set-group-ID directory passes its set-group-ID bit on to subdirectories too.
    const setgid = at.parent.mode & S_ISGID;
    this.createAt(at, caller, (ino, owner, now) => newInode(ino, 'dir', (mode & MODE_BITS) | setgid, now, { ...owner, policy: at.parent.policy }));
  }

  rmdir(path: string): void {
    this.writable(path);
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
    this.writable(path);
    const hiddenIno = this.hidden.take(path);
    if (hiddenIno !== undefined) {
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
    this.fileLog.unlinked(at.parent!.ino, at.name, at.inode.ino, now);
    await this.engine.removeFragments(dropped);
  }

  /** rename(2): atomic; replaces a file, or an empty directory with a directory. */
  async rename(from: string, to: string): Promise<void> {
    this.writable(from, to);
    const src = this.at(from);
    if (!src.inode) throw new DfsError('ENOENT', `${from} does not exist`, from);
    const hidden = hiddenName(to);
    if (hidden && this.isOpen(src.inode.ino)) {
      await this.unlink(from);
      this.hidden.hide(hidden, src.inode.ino);
      return;
    }
    if (!src.parent) throw new DfsError('EBUSY', 'the root cannot be renamed', from);
    const dst = this.at(to);
    if (!dst.parent) throw new DfsError('EBUSY', 'the root cannot be replaced', to);
    if (dst.inode?.ino === src.inode.ino) return; // same file: POSIX says do nothing
    const moving = src as NamedLookup & { inode: Inode };
    const dropped = this.store.transact((tx) => moveEntry(tx, this.store, moving, dst as NamedLookup, Date.now(), this.isOpen));
    await this.engine.removeFragments(dropped);
  }

  link(existingPath: string, newPath: string): void {
    this.writable(existingPath, newPath);
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
    this.writable(path);
    this.createAt(this.free(path), caller, (ino, owner, now) => newInode(ino, 'symlink', 0o777, now, { ...owner, target }));
  }

  /**
   * chmod, chown and utimens of an open regular file change it in memory, seen at once,
   * and go into the store with its next commit (flush, fsync, close): tar sets times,
   * owner and mode of every file before closing it, one transaction instead of four.
   */
  chmod(path: string, mode: number): void {
    this.writable(path);
    const i = this.existing(path);
    const open = this.files.of(i.ino);
    if (open) {
      if (open.overlay(i).mode === (mode & MODE_BITS)) return open.touch(Date.now());
      return open.setAttrs({ mode: mode & MODE_BITS }, Date.now());
    }
    this.store.transact((tx) => tx.putInode({ ...i, mode: mode & MODE_BITS, ctimeMs: Date.now() }));
  }

  chown(path: string, uid: number, gid: number): void {
    this.writable(path);
    const stored = this.existing(path);
    const open = this.files.of(stored.ino);
    const i = open ? open.overlay(stored) : stored;
    // -1 (as an unsigned 32-bit value) means "leave unchanged".
    const keep = (v: number) => v === -1 || v === 0xffffffff;
    const owner = { uid: keep(uid) ? i.uid : uid, gid: keep(gid) ? i.gid : gid };
    if (open) return owner.uid === i.uid && owner.gid === i.gid ? open.touch(Date.now()) : open.setAttrs(owner, Date.now());
    this.store.transact((tx) => tx.putInode({ ...i, ...owner, ctimeMs: Date.now() }));
  }

  /** utimensat(2): each time set, set to now, or left alone; ctime becomes now unless both are left. */
  async utimens(path: string, atime: TimeSpec, mtime: TimeSpec): Promise<void> {
    this.writable(path);
    const i = this.existing(path);
    if (atime === 'omit' && mtime === 'omit') return;
    const open = this.files.of(i.ino);
    const now = Date.now();
    const current = open ? open.overlay(inodeOf(this.store, i.ino)) : inodeOf(this.store, i.ino);
    const pick = (t: TimeSpec, old: number): number => (t === 'now' ? now : t === 'omit' ? old : roundToMicros(t));
    const atimeMs = pick(atime, current.atimeMs);
    const mtimeMs = pick(mtime, open ? open.mtimeMs : current.mtimeMs);
    if (open) {
      // A write after this sets mtime again (it happened later); the commit stores what is here then.
      open.mtimeMs = mtimeMs;
      return open.setAttrs({ atimeMs, mtimeMs }, now);
    }
    this.store.transact((tx) => tx.putInode({ ...current, atimeMs, mtimeMs, ctimeMs: now }));
  }

  /** mknod(2) for FIFOs, sockets and device nodes (regular files come through create). */
  mknod(path: string, mode: number, rdev: number, caller: Caller): void {
    this.writable(path);
    const kind = specialKind(mode);
    if (!kind) throw new DfsError('EINVAL', `mknod of file type ${(mode & S_IFMT).toString(8)} is not supported: only FIFOs, sockets and device nodes`, path);
    const device = kind === 'chardev' || kind === 'blockdev';
    this.createAt(this.free(path), caller, (ino, owner, now) => newInode(ino, kind, mode & MODE_BITS, now, { ...owner, rdev: device ? rdev : 0 }));
  }

  // ---- files ----

  create(path: string, mode: number, caller: Caller): number {
    this.writable(path);
    const at = this.free(path);
    const i = this.createAt(at, caller, (ino, owner, now) => newInode(ino, 'file', mode & MODE_BITS, now, { ...owner, policy: at.parent.policy }));
    const fd = this.files.open(i);
    this.fileLog.createdFile(this.files.handle(fd), at.parent.ino, at.name, i);
    return fd;
  }

  /** open(2). O_TRUNC arrives separately as truncate from the kernel. */
  open(path: string, flags: number): number {
    const snap = snapshotPath(path);
    if (snap) return this.snapshots.open(snap, path, flags);
    const i = this.existing(path);
    if (i.kind === 'dir') throw new DfsError('EISDIR', `${path} is a directory`, path);
    if (i.kind !== 'file') throw new DfsError('ENXIO', `${path} is a ${i.kind}, which the kernel opens, not the pool`, path);
    const accmode = flags & 3;
    if (accmode !== 0 && this.readOnly) throw new DfsError('EROFS', 'the pool is mounted read-only');
    return this.files.open(i);
  }

  private handle(fd: number): OpenFile {
    return this.files.handle(fd);
  }

  read(fd: number, into: Buffer, pos: number): Promise<number> {
    if (this.snapshots.has(fd)) return this.snapshots.read(fd, into, pos);
    return this.handle(fd).read(pos, into);
  }

  /** A refusal comes back as a rejected promise, as every failure of a write does (the FUSE layer awaits it). */
  write(fd: number, data: Buffer, pos: number): Promise<number> {
    let f: OpenFile;
    try {
      this.writable();
      this.notSnapshot(fd);
      f = this.handle(fd);
    } catch (err) {
      return Promise.reject(err);
    }
    return f.write(pos, data);
  }

  /** A snapshot's file is open read-only: the kernel sends no write for it, and none goes through. */
  private notSnapshot(fd: number): void {
    if (this.snapshots.has(fd)) throw new DfsError('EBADF', `handle ${fd} is a file under /${SNAPSHOTS_DIR}, open read-only`);
  }

  /**
   * flush (close of a descriptor): what was written joins the open transaction group
   * (durable at its commit). A file with nothing to commit returns at once: a reader's
   * close must not wait behind a group commit in progress.
   */
  async flush(fd: number): Promise<void> {
    if (this.snapshots.has(fd)) return;
    const f = this.handle(fd);
    if (!f.clean) await f.commit();
  }

  /**
   * fsync and fdatasync: the file's writes are durable when this resolves — through the
   * intent log when its namespace is committed (file-log.ts), else by committing the
   * file and the whole open group.
   */
  async fsync(fd: number): Promise<void> {
    if (this.snapshots.has(fd)) return; // nothing of a snapshot changes
    const f = this.handle(fd);
    if (await this.fileLog.fsync(f)) return;
    await f.commit();
    await this.engine.txg.commit('fsync');
  }

  /**
   * fsyncdir: every namespace change so far and every open file's writes, durable — each
   * file through the intent log where it qualifies (a logged file's extents are not
   * rewritten), the others committed into the group, and the group committed unless
   * the log holds all of it (SQLite syncs the directory right after its new journal's
   * fsync logged the journal's name).
   */
  async fsyncdir(): Promise<void> {
    let logged = true;
    await Promise.all(this.files.all().map(async (f) => {
      if (await this.fileLog.fsync(f)) return;
      logged = false;
      await f.commit();
    }));
    if (logged && await this.fileLog.groupLogged()) return;
    await this.engine.txg.commit('fsync');
  }

  /** Unmount: every open file's writes and every namespace change so far, durable. */
  async syncAll(): Promise<void> {
    await this.flushAll();
    await this.engine.txg.commit('fsync');
  }

  release(fd: number): Promise<void> {
    if (this.snapshots.has(fd)) return Promise.resolve(this.snapshots.release(fd));
    const f = this.files.handle(fd);
    return this.files.release(fd, async (ino) => {
      this.fileLog.released(f);
      this.hidden.forget(ino);
      await this.dropIfUnlinked(ino);
    });
  }

  async truncate(path: string, size: number): Promise<void> {
    this.writable(path);
    const i = this.existing(path);
    if (i.kind === 'dir') throw new DfsError('EISDIR', `${path} is a directory`, path);
    if (i.kind !== 'file') throw new DfsError('EINVAL', `${path} is a ${i.kind}; only regular files can be truncated`, path);
    const open = this.files.of(i.ino);
    const f = open ?? this.fileOf(i);
    await f.truncate(size);
    // An open file commits the truncate with its other changes (flush, fsync, close); one opened here for it, now.
    if (!open) await f.commit();
  }

  /** ftruncate: the open file's new size, committed with its writes (a checkpointing SQLite truncates every time). */
  async ftruncate(fd: number, size: number): Promise<void> {
    this.writable();
    this.notSnapshot(fd);
    await this.handle(fd).truncate(size);
  }

  /** An unlinked file whose last handle closed: its inode and data go now. */
  private async dropIfUnlinked(ino: number): Promise<void> {
    const i = this.store.getInode(ino);
    if (!i || i.nlink > 0) return;
    const dropped = this.store.transact((tx) => dropInode(tx, ino));
    this.fileLog.transaction(true);
    await this.engine.removeFragments(dropped);
  }

  /** Commit every open file (unmount, shutdown). */
  async flushAll(): Promise<void> {
    await Promise.all(this.files.all().map((f) => f.commit()));
  }

  // ---- extended attributes ----

  getxattr(path: string, name: string): Buffer {
    const snap = snapshotPath(path);
    if (snap) return this.snapshots.getxattr(snap, path, name);
    return this.xattrs.get(path, name);
  }

  listxattr(path: string): string[] {
    const snap = snapshotPath(path);
    if (snap) return this.snapshots.listxattr(snap, path);
    return this.xattrs.list(path);
  }

  setxattr(path: string, name: string, value: Buffer, flags = 0): void {
    this.writable(path);
    this.xattrs.set(path, name, value, flags);
  }

  removexattr(path: string, name: string): void {
    this.writable(path);
    this.xattrs.remove(path, name);
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
}
