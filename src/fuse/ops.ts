/**
 * The fuse-native operation table over Vfs. Handlers stay thin (fuse-native runs
 * them on the main event loop while a kernel thread waits): they translate
 * arguments, call Vfs, and map errors to errnos. A failure passes its cause after the
 * errno, for the one log line instrument.ts writes.
 */
import type { Attr, Caller, DirEntry, TimeSpec, Vfs } from '../fs/vfs';
import { S_IF } from '../fs/file-types';
import { DfsError } from '../errors';
import { fuseErrno } from './errno';

type Cb = (code: number, ...results: unknown[]) => void;

function statOf(a: Attr): Record<string, unknown> {
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
export function fuseOps(vfs: Vfs, context: () => Caller | null = () => null): Record<string, unknown> {
  const caller = (): Caller => context() ?? SELF;
  // Results: sync or async; cb(0, ...results) on success, cb(-errno) on failure. A sync
  // result is answered at once: a promise hop per op is measurable on stat-heavy work
  // (fuse-native defers the reply to the kernel itself).
  const answer = (cb: Cb, v: unknown): void => (v === undefined ? cb(0) : cb(0, v));
  const run = (cb: Cb, fn: () => unknown): void => {
    let out: unknown;
    try {
      out = fn();
    } catch (err) {
      fail(cb, err);
      return;
    }
    if (out instanceof Promise) out.then((v) => answer(cb, v), (err) => fail(cb, err));
    else answer(cb, out);
  };
  const fail = (cb: Cb, err: unknown): void => cb(fuseErrno(err), err);
  // read/write answer with a byte count in the first argument.
  const io = (cb: Cb, p: Promise<number>): void => {
    p.then((n) => cb(n), (err) => fail(cb, err));
  };

  return {
    init: (cb: Cb) => cb(0),
    access: (path: string, _mode: number, cb: Cb) => run(cb, () => { vfs.getattr(path); }),
    statfs: (path: string, cb: Cb) => run(cb, async () => {
      const s = await vfs.statfs();
      return { bsize: s.blockSize, frsize: s.blockSize, blocks: s.blocks, bfree: s.free, bavail: s.free, files: s.files,
        ffree: s.filesFree, favail: s.filesFree, fsid: 0, flag: 0, namemax: s.nameMax };
    }),
    getattr: (path: string, cb: Cb) => run(cb, () => statOf(vfs.getattr(path))),
    fgetattr: (path: string, fd: number, cb: Cb) => run(cb, () => statOf(vfs.fgetattr(fd))),
    // readdir answers with two results (names, stats), so it calls cb itself.
    readdir: (path: string, cb: Cb) => {
      try {
        // "" is the path of a directory removed while open (hard_remove): it has no entries left.
        if (path === '') throw new DfsError('ENOENT', 'the directory was removed');
        cb(0, ...direntStats(vfs.readdir(path)));
      } catch (err) {
        fail(cb, err);
      }
    },
    readlink: (path: string, cb: Cb) => run(cb, () => vfs.readlink(path)),
    mkdir: (path: string, mode: number, cb: Cb) => run(cb, () => { vfs.mkdir(path, mode, caller()); }),
    rmdir: (path: string, cb: Cb) => run(cb, () => { vfs.rmdir(path); }),
    unlink: (path: string, cb: Cb) => run(cb, () => vfs.unlink(path)),
    rename: (from: string, to: string, cb: Cb) => run(cb, () => vfs.rename(from, to)),
    link: (from: string, to: string, cb: Cb) => run(cb, () => { vfs.link(from, to); }),
    symlink: (target: string, path: string, cb: Cb) => run(cb, () => { vfs.symlink(target, path, caller()); }),
    chmod: (path: string, mode: number, cb: Cb) => run(cb, () => { vfs.chmod(path, mode); }),
    chown: (path: string, uid: number, gid: number, cb: Cb) => run(cb, () => { vfs.chown(path, uid, gid); }),
    utimens: (path: string, atime: TimeSpec, mtime: TimeSpec, cb: Cb) => run(cb, () => vfs.utimens(path, atime, mtime)),
    mknod: (path: string, mode: number, dev: number, cb: Cb) => run(cb, () => { vfs.mknod(path, mode, dev, caller()); }),
    create: (path: string, mode: number, cb: Cb) => run(cb, () => vfs.create(path, mode, caller())),
    open: (path: string, flags: number, cb: Cb) => run(cb, () => vfs.open(path, flags)),
    read: (path: string, fd: number, buf: Buffer, len: number, pos: number, cb: Cb) =>
      io(cb, vfs.read(fd, len === buf.length ? buf : buf.subarray(0, len), pos)),
    write: (path: string, fd: number, buf: Buffer, len: number, pos: number, cb: Cb) =>
      // The kernel reuses buf after we answer: the write copies it into the file's extent buffer first.
      io(cb, vfs.write(fd, len === buf.length ? buf : buf.subarray(0, len), pos)),
    flush: (path: string, fd: number, cb: Cb) => run(cb, () => vfs.flush(fd)),
    // fuse-native passes datasync before the handle (its README has them the other way round).
    fsync: (path: string, _datasync: number, fd: number, cb: Cb) => run(cb, () => vfs.fsync(fd)),
    // Namespace changes are durable when their transaction group commits: fsync of a directory commits it.
    fsyncdir: (_path: string, _datasync: number, _fd: number, cb: Cb) => run(cb, () => vfs.fsyncdir()),
    release: (path: string, fd: number, cb: Cb) => run(cb, () => vfs.release(fd)),
    truncate: (path: string, size: number, cb: Cb) => run(cb, () => vfs.truncate(path, size)),
    ftruncate: (path: string, fd: number, size: number, cb: Cb) => run(cb, () => vfs.ftruncate(fd, size)),
    getxattr: (path: string, name: string, _pos: number, cb: Cb) => run(cb, () => vfs.getxattr(path, name)),
    listxattr: (path: string, cb: Cb) => run(cb, () => vfs.listxattr(path)),
    setxattr: (path: string, name: string, value: Buffer, _pos: number, flags: number, cb: Cb) =>
      run(cb, () => { vfs.setxattr(path, name, Buffer.from(value), flags); }),
    removexattr: (path: string, name: string, cb: Cb) => run(cb, () => { vfs.removexattr(path, name); }),
  };
}
