/**
 * The fuse-native operation table over Vfs. Handlers stay thin (fuse-native runs
 * them on the main event loop while a kernel thread waits): they translate
 * arguments, call Vfs, and map errors to errnos. Anything unexpected is logged.
 */
import { constants } from 'node:os';
import type { Logger } from 'pino';
import type { Attr, Caller, DirEntry, TimeSpec, Vfs } from '../fs/vfs';
import type { InodeKind } from '../meta/records';
import { DfsError } from '../errors';
import { errnoOf } from './errno';

/** st_mode's type bits for each kind. */
const S_IF: Record<InodeKind, number> = { file: 0o100000, dir: 0o040000, symlink: 0o120000, fifo: 0o010000, socket: 0o140000,
  chardev: 0o020000, blockdev: 0o060000 };

/** Unexpected failures (not the ordinary ENOENT/EEXIST of lookups) are worth a log line. */
const QUIET = new Set([-constants.errno.ENOENT, -constants.errno.EEXIST, -constants.errno.ENOTEMPTY, -(constants.errno.ENODATA ?? 61)]);

type Cb = (code: number, ...results: unknown[]) => void;

export function statOf(a: Attr): Record<string, unknown> {
  return {
    mode: S_IF[a.kind] | a.mode, uid: a.uid, gid: a.gid, size: a.size, nlink: a.nlink, ino: a.ino, rdev: a.rdev,
    blksize: 131072, blocks: Math.ceil(a.size / 512),
    // epoch ms with a microsecond fraction (our fuse-native patch passes it on)
    atime: a.atimeMs, mtime: a.mtimeMs, ctime: a.ctimeMs,
  };
}

/** readdir's names, and a stat per name carrying what the kernel uses: st_ino and the type. */
function direntStats(entries: DirEntry[]): [string[], Record<string, unknown>[]] {
  return [entries.map((e) => e.name), entries.map((e) => ({ ino: e.ino, mode: S_IF[e.kind] }))];
}

/** The coordinator itself: the owner of what is created when the caller is unknown. */
const SELF: Caller = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };

/**
 * The ops object for `new Fuse(mountpoint, ops, options)`. `context` gives the process
 * whose request is being handled (Fuse.context()); it is read synchronously when a
 * handler starts, the only time it is valid. New inodes belong to that uid/gid.
 */
export function fuseOps(vfs: Vfs, log: Logger, context: () => Caller | null = () => null): Record<string, unknown> {
  const caller = (): Caller => context() ?? SELF;
  // Results: sync or async; cb(0, ...results) on success, cb(-errno) on failure.
  const run = (op: string, path: string, cb: Cb, fn: () => unknown): void => {
    let out: unknown;
    try {
      out = fn();
    } catch (err) {
      fail(op, path, cb, err);
      return;
    }
    Promise.resolve(out).then((v) => (v === undefined ? cb(0) : cb(0, v)), (err) => fail(op, path, cb, err));
  };
  const fail = (op: string, path: string, cb: Cb, err: unknown) => {
    const code = errnoOf(err);
    if (!QUIET.has(code)) log.warn({ op, path, err: (err as Error).message, code }, 'fuse operation failed');
    cb(code);
  };
  // read/write answer with a byte count in the first argument.
  const io = (op: string, path: string, cb: Cb, p: Promise<number>) => {
    p.then((n) => cb(n), (err) => fail(op, path, cb, err));
  };

  return {
    init: (cb: Cb) => cb(0),
    access: (path: string, _mode: number, cb: Cb) => run('access', path, cb, () => { vfs.getattr(path); }),
    statfs: (path: string, cb: Cb) => run('statfs', path, cb, async () => {
      const s = await vfs.statfs();
      return { bsize: s.blockSize, frsize: s.blockSize, blocks: s.blocks, bfree: s.free, bavail: s.free, files: s.files,
        ffree: s.filesFree, favail: s.filesFree, fsid: 0, flag: 0, namemax: s.nameMax };
    }),
    getattr: (path: string, cb: Cb) => run('getattr', path, cb, () => statOf(vfs.getattr(path))),
    fgetattr: (path: string, fd: number, cb: Cb) => run('fgetattr', path, cb, () => statOf(vfs.fgetattr(fd))),
    // readdir answers with two results (names, stats), so it calls cb itself.
    readdir: (path: string, cb: Cb) => {
      try {
        // "" is the path of a directory removed while open (hard_remove): it has no entries left.
        if (path === '') throw new DfsError('ENOENT', 'the directory was removed');
        cb(0, ...direntStats(vfs.readdir(path)));
      } catch (err) {
        fail('readdir', path, cb, err);
      }
    },
    readlink: (path: string, cb: Cb) => run('readlink', path, cb, () => vfs.readlink(path)),
    mkdir: (path: string, mode: number, cb: Cb) => run('mkdir', path, cb, () => { vfs.mkdir(path, mode, caller()); }),
    rmdir: (path: string, cb: Cb) => run('rmdir', path, cb, () => { vfs.rmdir(path); }),
    unlink: (path: string, cb: Cb) => run('unlink', path, cb, () => vfs.unlink(path)),
    rename: (from: string, to: string, cb: Cb) => run('rename', from, cb, () => vfs.rename(from, to)),
    link: (from: string, to: string, cb: Cb) => run('link', to, cb, () => { vfs.link(from, to); }),
    symlink: (target: string, path: string, cb: Cb) => run('symlink', path, cb, () => { vfs.symlink(target, path, caller()); }),
    chmod: (path: string, mode: number, cb: Cb) => run('chmod', path, cb, () => { vfs.chmod(path, mode); }),
    chown: (path: string, uid: number, gid: number, cb: Cb) => run('chown', path, cb, () => { vfs.chown(path, uid, gid); }),
    utimens: (path: string, atime: TimeSpec, mtime: TimeSpec, cb: Cb) => run('utimens', path, cb, () => vfs.utimens(path, atime, mtime)),
    mknod: (path: string, mode: number, dev: number, cb: Cb) => run('mknod', path, cb, () => { vfs.mknod(path, mode, dev, caller()); }),
    create: (path: string, mode: number, cb: Cb) => run('create', path, cb, () => vfs.create(path, mode, caller())),
    open: (path: string, flags: number, cb: Cb) => run('open', path, cb, () => vfs.open(path, flags)),
    read: (path: string, fd: number, buf: Buffer, len: number, pos: number, cb: Cb) =>
      io('read', path, cb, vfs.read(fd, len === buf.length ? buf : buf.subarray(0, len), pos)),
    write: (path: string, fd: number, buf: Buffer, len: number, pos: number, cb: Cb) =>
      // The kernel reuses buf after we answer: the write copies it into the file's extent buffer first.
      io('write', path, cb, vfs.write(fd, len === buf.length ? buf : buf.subarray(0, len), pos)),
    flush: (path: string, fd: number, cb: Cb) => run('flush', path, cb, () => vfs.flush(fd)),
    // fuse-native passes datasync before the handle (its README has them the other way round).
    fsync: (path: string, _datasync: number, fd: number, cb: Cb) => run('fsync', path, cb, () => vfs.fsync(fd)),
    // Every namespace change is already a durable transaction when its call returns.
    fsyncdir: (path: string, _datasync: number, _fd: number, cb: Cb) => run('fsyncdir', path, cb, () => vfs.syncAll()),
    release: (path: string, fd: number, cb: Cb) => run('release', path, cb, () => vfs.release(fd)),
    truncate: (path: string, size: number, cb: Cb) => run('truncate', path, cb, () => vfs.truncate(path, size)),
    ftruncate: (path: string, fd: number, size: number, cb: Cb) => run('ftruncate', path, cb, () => vfs.ftruncate(fd, size)),
    getxattr: (path: string, name: string, _pos: number, cb: Cb) => run('getxattr', path, cb, () => vfs.getxattr(path, name)),
    listxattr: (path: string, cb: Cb) => run('listxattr', path, cb, () => vfs.listxattr(path)),
    setxattr: (path: string, name: string, value: Buffer, _pos: number, flags: number, cb: Cb) =>
      run('setxattr', path, cb, () => { vfs.setxattr(path, name, Buffer.from(value), flags); }),
    removexattr: (path: string, name: string, cb: Cb) => run('removexattr', path, cb, () => { vfs.removexattr(path, name); }),
  };
}
