/**
 * The only module that loads fuse-native. It owns three things the package gets wrong
 * or leaves out for us:
 *
 * - Loading without a system libfuse. fuse-native's module (its prebuild, or the copy
 *   its install script rebuilds when the prebuild does not load) has `NEEDED
 *   libfuse.so.2` and no rpath, so on a machine without Debian's libfuse2 it fails to
 *   load. Its own dependency fuse-shared-library ships libfuse 2.9.9 (soname
 *   libfuse.so.2) and a fusermount. We dlopen that library first with RTLD_NODELETE;
 *   the dynamic linker then satisfies fuse.node's `libfuse.so.2` with the object
 *   already loaded (it matches sonames of loaded objects), whatever the system has.
 * - Unmounting without a system fusermount. fuse-native runs `fusermount -uz` from PATH;
 *   we replace that with the fusermount fuse-shared-library ships (as root), or a
 *   setuid one from PATH (as a user), by absolute path.
 * - Raw mount options. fuse-native builds its option string from a fixed list; a
 *   subclass appends ours (`big_writes` alone moves writes from 4 KiB to 128 KiB
 *   callbacks, about 8x the throughput).
 *
 * Nothing is loaded until the first Fuse is constructed, so importing this module never
 * fails: commands that do not mount keep working on a machine where FUSE cannot load.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFile, type ChildProcess } from 'node:child_process';
import { DfsError, fromOsCode } from '../errors';

// ---------------------------------------------------------------------------------------
// Declared surface of fuse-native 2.2.x (hand-written from its index.js and fuse-native.c)
// ---------------------------------------------------------------------------------------

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

type Done = (err: Error | null) => void;

/** The process a request came from (libfuse's fuse_get_context; our patch passes it up). */
export interface FuseContext {
  uid: number;
  gid: number;
  pid: number;
}

interface NativeFuseInstance {
  readonly mnt: string;
  readonly opts: FuseOptions;
  /** Added by patches/fuse-native+2.2.6.patch. */
  context(): FuseContext | null;
  mount(cb: Done): void;
  unmount(cb: Done): void;
  _fuseOptions(): string;
}

interface NativeFuseClass {
  new (mnt: string, ops: FuseOps, opts?: FuseOptions): NativeFuseInstance;
  unmount(mnt: string, cb: Done): void;
}

// ---------------------------------------------------------------------------------------
// Loading
// ---------------------------------------------------------------------------------------

/** Where the FUSE pieces come from (for diagnostics and `forceUnmount`). */
export interface FuseRuntime {
  /** fuse-native's package directory. */
  packageDir: string;
  /** The libfuse.so.2 we preloaded (fuse-shared-library's), or undefined if none was. */
  libfuse?: string;
  /** The fusermount shipped with fuse-shared-library, if present. */
  shippedFusermount?: string;
}

/** glibc's RTLD_NODELETE; Node does not export it. Keeps the library after Node's dlclose. */
const RTLD_NODELETE = 0x1000;
/** libfuse 2.9 copies the option string into a 1024-byte buffer (fuse-native.c). */
const MAX_OPTION_STRING = 1023;

let runtime: FuseRuntime | undefined;
let nativeClass: NativeFuseClass | undefined;

/** Locate fuse-native and its shipped libfuse/fusermount without loading anything. */
export function fuseRuntime(): FuseRuntime {
  if (runtime) return runtime;
  let packageDir: string;
  try {
    packageDir = path.dirname(require.resolve('fuse-native/package.json'));
  } catch (err) {
    throw new DfsError('EINTERNAL', `fuse-native is not installed (${(err as Error).message}); run \`npm ci\` in the dynamicfs checkout`);
  }
  const r: FuseRuntime = { packageDir };
  if (process.platform === 'linux') {
    try {
      // Resolve from fuse-native's directory: the library it was built against.
      const shared = require(require.resolve('fuse-shared-library', { paths: [packageDir] })) as { lib?: string };
      if (shared.lib && fs.existsSync(shared.lib)) {
        r.libfuse = shared.lib;
        const fm = path.join(path.dirname(path.dirname(shared.lib)), 'bin', 'fusermount');
        if (fs.existsSync(fm)) r.shippedFusermount = fm;
      }
    } catch {
      // No shared library package (another platform): fall back to the system's libfuse.
    }
  }
  runtime = r;
  return r;
}

function loadNative(): NativeFuseClass {
  if (nativeClass) return nativeClass;
  const rt = fuseRuntime();
  if (rt.libfuse) {
    try {
      process.dlopen({ exports: {} }, rt.libfuse, os.constants.dlopen.RTLD_NOW | RTLD_NODELETE);
    } catch (err) {
      // Expected: a plain library does not register a Node module. Anything else is real.
      if (!/did not self-register/.test((err as Error).message)) {
        throw new DfsError('EINTERNAL', `cannot load ${rt.libfuse}: ${(err as Error).message}`);
      }
    }
  }
  let Native: NativeFuseClass;
  try {
    Native = require(rt.packageDir) as NativeFuseClass;
  } catch (err) {
    throw new DfsError('EINTERNAL', `cannot load fuse-native from ${rt.packageDir}: ${(err as Error).message}; run \`npm ci\` (it builds fuse-native when its prebuild does not load)`);
  }
  // fuse-native's own close path (and `force`) calls this static by name; route it to a
  // fusermount that exists.
  Native.unmount = (mnt: string, cb: Done): void => {
    fusermountUnmount(mnt).then(() => cb(null), (err: Error) => cb(err));
  };
  nativeClass = Native;
  return Native;
}

// ---------------------------------------------------------------------------------------
// The typed class
// ---------------------------------------------------------------------------------------

/** Negative errno for an error code name (ENOENT → -2), EIO for an unknown one. */
export function errnoFor(code: string): number {
  const n = (os.constants.errno as Record<string, number | undefined>)[code];
  return n === undefined ? -os.constants.errno.EIO : -n;
}

/**
 * The FUSE status for anything thrown or passed to a callback: a Node system error's
 * errno, a DfsError's (or native error's) code mapped through os.constants.errno
 * (EDIGEST and other codes of ours become EIO), or EIO.
 */
export function fuseErrno(err: unknown): number {
  if (err && typeof err === 'object') {
    const e = err as { errno?: unknown; code?: unknown };
    if (typeof e.errno === 'number' && e.errno !== 0) return e.errno < 0 ? e.errno : -e.errno;
    if (typeof e.code === 'string') return errnoFor(e.code);
  }
  return -os.constants.errno.EIO;
}

const E = os.constants.errno;

/**
 * A FUSE filesystem at `mnt` served by `ops`. Construct with options from
 * {@link fuseMountOptions}. Loads fuse-native on first construction.
 */
export class Fuse {
  static readonly EPERM = -E.EPERM;
  static readonly ENOENT = -E.ENOENT;
  static readonly EIO = -E.EIO;
  static readonly EBADF = -E.EBADF;
  static readonly EAGAIN = -E.EAGAIN;
  static readonly ENOMEM = -E.ENOMEM;
  static readonly EACCES = -E.EACCES;
  static readonly EBUSY = -E.EBUSY;
  static readonly EEXIST = -E.EEXIST;
  static readonly EXDEV = -E.EXDEV;
  static readonly ENOTDIR = -E.ENOTDIR;
  static readonly EISDIR = -E.EISDIR;
  static readonly EINVAL = -E.EINVAL;
  static readonly EFBIG = -E.EFBIG;
  static readonly ENOSPC = -E.ENOSPC;
  static readonly EROFS = -E.EROFS;
  static readonly EMLINK = -E.EMLINK;
  static readonly ERANGE = -E.ERANGE;
  static readonly ENAMETOOLONG = -E.ENAMETOOLONG;
  static readonly ENOSYS = -E.ENOSYS;
  static readonly ENOTEMPTY = -E.ENOTEMPTY;
  static readonly ELOOP = -E.ELOOP;
  static readonly ENODATA = -E.ENODATA;
  static readonly ENOTSUP = -E.ENOTSUP;
  static readonly ENOTCONN = -E.ENOTCONN;
  static readonly ETIMEDOUT = -E.ETIMEDOUT;

  /** The absolute mountpoint. */
  readonly mnt: string;
  private readonly inner: NativeFuseInstance;

  constructor(mnt: string, ops: FuseOps, opts: FuseOptions = {}) {
    const Native = loadNative();
    const extra = opts.extraOptions ?? [];
    for (const o of extra) {
      if (!o || /[,\s]/.test(o)) throw new DfsError('EINVAL', `bad FUSE mount option ${JSON.stringify(o)}: one option per entry, no commas or spaces`);
    }
    // Subclass per instance: the only hook into fuse-native's fixed option list.
    class WithExtraOptions extends Native {
      override _fuseOptions(): string {
        const base = super._fuseOptions();
        const s = extra.length === 0 ? base : base ? `${base},${extra.join(',')}` : `-o${extra.join(',')}`;
        if (Buffer.byteLength(s) > MAX_OPTION_STRING) {
          throw new DfsError('EINVAL', `FUSE mount options are ${Buffer.byteLength(s)} bytes, over libfuse's ${MAX_OPTION_STRING}: use a shorter pool path`);
        }
        return s;
      }
    }
    this.mnt = path.resolve(mnt);
    if (Buffer.byteLength(this.mnt) > MAX_OPTION_STRING) throw new DfsError('EINVAL', `mountpoint path too long for fuse-native (max ${MAX_OPTION_STRING} bytes)`, this.mnt);
    this.inner = new WithExtraOptions(this.mnt, ops, opts);
    this.inner._fuseOptions(); // refuse an over-long option string now, not inside mount
  }

  /**
   * The uid, gid and pid of the process whose request is being handled. Valid only
   * synchronously inside an operation handler (null elsewhere, and in init).
   */
  context(): FuseContext | null {
    return this.inner.context();
  }

  /** The `-o...` string fuse-native will hand to libfuse (for tests and logs). */
  optionString(): string {
    return this.inner._fuseOptions();
  }

  /** Mount; cb runs once the kernel's INIT has been answered (the mount is usable). */
  mount(cb: Done): void {
    try {
      this.inner.mount((err) => cb(err ? mountError(this.mnt, err) : null));
    } catch (err) {
      cb(mountError(this.mnt, err as Error));
    }
  }

  /** Lazy-unmount (fusermount -uz) and release the session. */
  unmount(cb: Done): void {
    this.inner.unmount(cb);
  }

  /** {@link Fuse.mount} as a promise. */
  mountAsync(): Promise<void> {
    return new Promise((resolve, reject) => this.mount((err) => (err ? reject(err) : resolve())));
  }

  /** {@link Fuse.unmount} as a promise. */
  unmountAsync(): Promise<void> {
    return new Promise((resolve, reject) => this.unmount((err) => (err ? reject(err) : resolve())));
  }

  /** Lazy-unmount whatever FUSE filesystem is at `mnt` (fusermount -uz), as fuse-native's static does. */
  static unmount(mnt: string, cb: Done): void {
    fusermountUnmount(path.resolve(mnt)).then(() => cb(null), (err: Error) => cb(err));
  }
}

function mountError(mnt: string, err: Error): DfsError {
  if (err instanceof DfsError) return err;
  const m = err.message;
  if (/Mountpoint does not exist/.test(m)) return new DfsError('ENOENT', `mountpoint ${mnt} does not exist; create it first`, mnt);
  if (/Mountpoint is not a directory/.test(m)) return new DfsError('ENOTDIR', `mountpoint ${mnt} is not a directory`, mnt);
  if (/Mountpoint in use/.test(m)) return new DfsError('EBUSY', `${mnt} is already a mountpoint; unmount it first (a stale one: dynamicfs unmount ${mnt})`, mnt);
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && code !== 'fuse failed') return fromOsCode(code, `cannot mount at ${mnt}: ${m}`, mnt);
  return new DfsError('EIO', `FUSE mount at ${mnt} failed (${m}): /dev/fuse must be usable (as root, or with a setuid fusermount) and ${mnt} an empty directory that is not a stale mount`, mnt);
}

// ---------------------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------------------

/** The FUSE subtype: /proc/mounts shows type `fuse.dynamicfs`. */
export const FUSE_SUBTYPE = 'dynamicfs';
/** A pool's fsname is this prefix followed by the absolute pool path. */
export const POOL_FSNAME_PREFIX = 'dynamicfs:';

export interface MountOptionsInput {
  /** The pool: fsname becomes `dynamicfs:<absolute pool path>`. Give this or `fsname`. */
  pool?: string;
  /** A literal fsname (the passthrough uses `passthrough:<dir>`). Give this or `pool`. */
  fsname?: string;
  readOnly?: boolean;
  /** Let users other than the mounting one in (needs user_allow_other for non-root). */
  allowOther?: boolean;
  /** More raw options (e.g. `kernel_cache`), one per entry. */
  extraOptions?: string[];
  /** Per-operation timeout in ms, or false; fuse-native's default is 15000. */
  timeout?: number | false;
  debug?: boolean;
}

/**
 * The options for `new Fuse(mnt, ops, options)` that every DynamicFS mount (and the
 * benchmark passthrough) uses: big_writes (128 KiB write callbacks), default_permissions
 * (the kernel checks getattr's mode/uid/gid), fsname and subtype=dynamicfs (so
 * /proc/mounts names the pool), `ro` when read-only, allow_other when asked.
 */
export function fuseMountOptions(input: MountOptionsInput): FuseOptions {
  if ((input.pool === undefined) === (input.fsname === undefined)) {
    throw new DfsError('EINVAL', 'fuseMountOptions needs exactly one of pool or fsname');
  }
  const fsname = input.pool !== undefined ? POOL_FSNAME_PREFIX + path.resolve(input.pool) : input.fsname!;
  if (/[\n\0]/.test(fsname)) throw new DfsError('EINVAL', `fsname ${JSON.stringify(fsname)} has a newline or NUL`);
  const extra = ['big_writes'];
  if (input.readOnly) extra.push('ro');
  extra.push(...(input.extraOptions ?? []));
  const opts: FuseOptions = {
    // libfuse's option parser takes backslash escapes, so a comma in a path survives.
    fsname: fsname.replace(/[\\,]/g, (c) => '\\' + c),
    subtype: FUSE_SUBTYPE,
    defaultPermissions: true,
    extraOptions: extra,
  };
  if (input.allowOther) opts.allowOther = true;
  if (input.debug) opts.debug = true;
  if (input.timeout !== undefined) opts.timeout = input.timeout;
  return opts;
}

// ---------------------------------------------------------------------------------------
// /proc/mounts
// ---------------------------------------------------------------------------------------

/** One line of /proc/mounts, with the kernel's octal escapes (\040 etc.) undone. */
export interface MountEntry {
  source: string;
  target: string;
  type: string;
  options: string;
}

function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** Every mount in /proc/mounts. */
export function readMounts(): MountEntry[] {
  const text = fs.readFileSync('/proc/mounts', 'utf8');
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(' ');
    if (f.length < 4) continue;
    out.push({ source: unescapeMount(f[0]!), target: unescapeMount(f[1]!), type: f[2]!, options: f[3]! });
  }
  return out;
}

/** The path as the kernel lists it: parent resolved through symlinks, the last part as is (a stale mount cannot be stat'ed). */
function canonicalMountpoint(mountpoint: string): string {
  const abs = path.resolve(mountpoint);
  try {
    return path.join(fs.realpathSync(path.dirname(abs)), path.basename(abs));
  } catch {
    return abs;
  }
}

/** The FUSE mount at `mountpoint` (the last one if stacked), or undefined. */
export function fuseMountAt(mountpoint: string): MountEntry | undefined {
  const target = canonicalMountpoint(mountpoint);
  const hits = readMounts().filter((m) => m.target === target && (m.type === 'fuse' || m.type.startsWith('fuse.')));
  return hits[hits.length - 1];
}

/** Whether /proc/mounts lists a FUSE filesystem (live or stale) at `mountpoint`. */
export function isFuseMounted(mountpoint: string): boolean {
  return fuseMountAt(mountpoint) !== undefined;
}

/**
 * Resolve once /proc/mounts lists a FUSE mount at `mountpoint` (or, with
 * `mounted: false`, once it no longer does). Rejects after `timeoutMs` (default 15 s),
 * or as soon as `child` (the process expected to serve the mount) exits.
 */
export function waitForFuseMount(
  mountpoint: string,
  opts: { timeoutMs?: number; child?: ChildProcess; mounted?: boolean } = {},
): Promise<void> {
  const want = opts.mounted ?? true;
  const timeoutMs = opts.timeoutMs ?? 15_000;
  const start = Date.now();
  return new Promise((resolve, reject) => {
    const child = opts.child;
    let exited: string | undefined;
    const onExit = (code: number | null, signal: string | null): void => {
      exited = signal ? `signal ${signal}` : `exit code ${code}`;
    };
    if (child) {
      if (child.exitCode !== null || child.signalCode !== null) onExit(child.exitCode, child.signalCode);
      else child.once('exit', onExit);
    }
    const finish = (err?: Error): void => {
      child?.removeListener('exit', onExit);
      if (err) reject(err);
      else resolve();
    };
    const tick = (): void => {
      if (isFuseMounted(mountpoint) === want) return finish();
      if (exited && want) return finish(new DfsError('EIO', `the process serving ${mountpoint} ended (${exited}) before the mount appeared`, mountpoint));
      if (Date.now() - start > timeoutMs) {
        return finish(new DfsError('ETIMEDOUT', `${mountpoint} was still ${want ? 'not mounted' : 'mounted'} after ${timeoutMs} ms`, mountpoint));
      }
      setTimeout(tick, 25);
    };
    tick();
  });
}

/**
 * The pool mounted at `mountpoint`, read back from the `dynamicfs:<pool>` fsname in
 * /proc/mounts; undefined when no DynamicFS pool is mounted there. Works on a stale
 * mount too (what `dynamicfs unmount MOUNTPOINT` needs to find the coordinator).
 */
export function findMountedPool(mountpoint: string): string | undefined {
  const m = fuseMountAt(mountpoint);
  if (!m || !m.source.startsWith(POOL_FSNAME_PREFIX)) return undefined;
  return m.source.slice(POOL_FSNAME_PREFIX.length);
}

// ---------------------------------------------------------------------------------------
// Unmounting
// ---------------------------------------------------------------------------------------

function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: 30_000 }, (err, _stdout, stderr) => {
      if (!err) return resolve();
      const msg = String(stderr).trim() || err.message;
      reject(Object.assign(new Error(`${cmd} ${args.join(' ')}: ${msg}`), { code: (err as { code?: unknown }).code }));
    });
  });
}

function isRoot(): boolean {
  return typeof process.geteuid === 'function' && process.geteuid() === 0;
}

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const p = path.join(dir, name);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * The fusermount to use: as root the shipped one (it needs no setuid bit); as a user a
 * setuid one from PATH first, since only that can unmount.
 */
function fusermountCandidates(): string[] {
  let shipped: string | undefined;
  try {
    shipped = fuseRuntime().shippedFusermount;
  } catch {
    shipped = undefined;
  }
  const system = onPath('fusermount');
  const list = isRoot() ? [shipped, system] : [system, shipped];
  return [...new Set(list.filter((p): p is string => p !== undefined))];
}

async function fusermountUnmount(mnt: string): Promise<string> {
  const candidates = fusermountCandidates();
  if (candidates.length === 0) throw new DfsError('EINTERNAL', 'no fusermount found (fuse-shared-library missing?); run `npm ci`');
  let last: Error | undefined;
  for (const fm of candidates) {
    try {
      await run(fm, ['-uz', mnt]);
      return fm;
    } catch (err) {
      last = err as Error;
    }
  }
  throw last!;
}

/** What {@link forceUnmount} did. */
export interface ForceUnmountResult {
  mountpoint: string;
  /** `not-mounted` when /proc/mounts had no FUSE mount there. */
  action: 'not-mounted' | 'fusermount -uz' | 'umount -l';
  /** The program that did it. */
  command?: string;
}

/**
 * Lazily unmount the FUSE filesystem at `mountpoint`, typically a stale one left by a
 * killed process (every access gives ENOTCONN). Tries fusermount -uz, then, as root,
 * umount -l. Refuses mountpoints that are not FUSE (it will never detach a disk).
 * Resolves once /proc/mounts no longer lists it.
 */
export async function forceUnmount(mountpoint: string): Promise<ForceUnmountResult> {
  const target = canonicalMountpoint(mountpoint);
  if (!isFuseMounted(target)) return { mountpoint: target, action: 'not-mounted' };
  const errors: string[] = [];
  try {
    const fm = await fusermountUnmount(target);
    if (!isFuseMounted(target)) return { mountpoint: target, action: 'fusermount -uz', command: fm };
    errors.push(`${fm} -uz left it mounted`);
  } catch (err) {
    errors.push((err as Error).message);
  }
  if (isRoot()) {
    const umount = onPath('umount') ?? '/bin/umount';
    try {
      await run(umount, ['-l', target]);
      if (!isFuseMounted(target)) return { mountpoint: target, action: 'umount -l', command: umount };
      errors.push(`${umount} -l left it mounted`);
    } catch (err) {
      errors.push((err as Error).message);
    }
  }
  throw new DfsError(isRoot() ? 'EBUSY' : 'EPERM', `cannot unmount ${target}: ${errors.join('; ')}${isRoot() ? '' : '; run as root or install a setuid fusermount'}`, target);
}
