/**
 * The declared surface of fuse-native 2.2.x, hand-written from its index.js and
 * fuse-native.c (the package ships no types), plus what our patch adds (context()).
 */

/**
 * Every callback takes a status first: 0 for success or a negative errno (Fuse.ENOENT,
 * or {@link fuseErrno}). read and write instead pass the byte count (>= 0) or a negative
 * errno.
 */
export type FuseCallback = (status: number) => void;
export type FuseValueCallback<T> = (status: number, value?: T) => void;

/**
 * What getattr returns. Times are Dates or epoch milliseconds, whose fraction our patch
 * passes on to the microsecond (and times before 1970); ino is truncated to 32 bits.
 */
export interface FuseStat {
  mode: number;
  uid: number;
  gid: number;
  size: number;
  nlink?: number;
  ino?: number;
  dev?: number;
  rdev?: number;
  blksize?: number;
  blocks?: number;
  atime: Date | number;
  mtime: Date | number;
  ctime: Date | number;
}

/** What statfs returns. Every field crosses as a uint32: scale frsize so blocks fit. */
export interface FuseStatfs {
  bsize: number;
  frsize: number;
  blocks: number;
  bfree: number;
  bavail: number;
  files: number;
  ffree: number;
  favail: number;
  fsid: number;
  flag: number;
  namemax: number;
}

/**
 * The operations we implement. Each handler runs on the main event loop while a FUSE
 * thread waits; fuse-native fails the request with ETIMEDOUT after `timeout` ms.
 *
 * Quirks of fuse-native 2.2.6 worth knowing:
 * - `buf` in read/write is an external buffer over the kernel request; it is detached as
 *   soon as the callback runs. Copy what must outlive the callback.
 * - `fd` is the value open/create passed back (uint32); 0 means "leave fh unset".
 * - fgetattr, when present, only switches the op on: fuse-native calls `getattr(path)`.
 * - create gets no open flags; the kernel has already checked O_EXCL against lookup.
 */
export interface FuseOps {
  init?(cb: FuseCallback): void;
  access?(path: string, mode: number, cb: FuseCallback): void;
  statfs?(path: string, cb: FuseValueCallback<FuseStatfs>): void;
  getattr?(path: string, cb: FuseValueCallback<FuseStat>): void;
  fgetattr?(path: string, fd: number, cb: FuseValueCallback<FuseStat>): void;
  flush?(path: string, fd: number, cb: FuseCallback): void;
  fsync?(path: string, datasync: number, fd: number, cb: FuseCallback): void;
  fsyncdir?(path: string, datasync: number, fd: number, cb: FuseCallback): void;
  readdir?(path: string, cb: (status: number, names?: string[], stats?: FuseStat[]) => void): void;
  truncate?(path: string, size: number, cb: FuseCallback): void;
  ftruncate?(path: string, fd: number, size: number, cb: FuseCallback): void;
  /** Times in epoch ms (fraction to the nanosecond), or 'now' / 'omit' (UTIME_NOW, UTIME_OMIT; our patch). */
  utimens?(path: string, atime: number | 'now' | 'omit', mtime: number | 'now' | 'omit', cb: FuseCallback): void;
  readlink?(path: string, cb: FuseValueCallback<string>): void;
  chown?(path: string, uid: number, gid: number, cb: FuseCallback): void;
  chmod?(path: string, mode: number, cb: FuseCallback): void;
  mknod?(path: string, mode: number, dev: number, cb: FuseCallback): void;
  setxattr?(path: string, name: string, value: Buffer, position: number, flags: number, cb: FuseCallback): void;
  getxattr?(path: string, name: string, position: number, cb: FuseValueCallback<Buffer | null>): void;
  listxattr?(path: string, cb: FuseValueCallback<string[]>): void;
  removexattr?(path: string, name: string, cb: FuseCallback): void;
  open?(path: string, flags: number, cb: FuseValueCallback<number>): void;
  opendir?(path: string, flags: number, cb: FuseValueCallback<number>): void;
  read?(path: string, fd: number, buf: Buffer, len: number, pos: number, cb: FuseCallback): void;
  write?(path: string, fd: number, buf: Buffer, len: number, pos: number, cb: FuseCallback): void;
  release?(path: string, fd: number, cb: FuseCallback): void;
  releasedir?(path: string, fd: number, cb: FuseCallback): void;
  create?(path: string, mode: number, cb: FuseValueCallback<number>): void;
  unlink?(path: string, cb: FuseCallback): void;
  rename?(src: string, dest: string, cb: FuseCallback): void;
  link?(src: string, dest: string, cb: FuseCallback): void;
  symlink?(target: string, path: string, cb: FuseCallback): void;
  mkdir?(path: string, mode: number, cb: FuseCallback): void;
  rmdir?(path: string, cb: FuseCallback): void;
}

/** fuse-native's constructor options that we use, plus `extraOptions` (ours). */
export interface FuseOptions {
  fsname?: string;
  subtype?: string;
  allowOther?: boolean;
  defaultPermissions?: boolean;
  kernelCache?: boolean;
  autoCache?: boolean;
  attrTimeout?: number;
  entryTimeout?: number;
  debug?: boolean;
  /** ms per operation (fuse-native's default 15000), false for none, or per op name. */
  timeout?: number | false | Record<string, number | false>;
  /** Unmount a stale mount at the mountpoint first (fuse-native's `force`). */
  force?: boolean;
  mkdir?: boolean;
  /** Raw `-o` options appended after fuse-native's own (ours; validated, no commas). */
  extraOptions?: string[];
}


export type Done = (err: Error | null) => void;

/** The process a request came from (libfuse's fuse_get_context; our patch passes it up). */
export interface FuseContext {
  uid: number;
  gid: number;
  pid: number;
}

export interface NativeFuseInstance {
  readonly mnt: string;
  readonly opts: FuseOptions;
  /** Added by patches/fuse-native+2.2.6.patch. */
  context(): FuseContext | null;
  mount(cb: Done): void;
  unmount(cb: Done): void;
  _fuseOptions(): string;
}

export interface NativeFuseClass {
  new (mnt: string, ops: FuseOps, opts?: FuseOptions): NativeFuseInstance;
  unmount(mnt: string, cb: Done): void;
}
