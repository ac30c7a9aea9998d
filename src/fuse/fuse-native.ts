/**
 * The typed Fuse class over fuse-native: construct, mount, unmount, read the request's
 * context. It adds raw mount options (fuse-native builds its option string from a fixed
 * list; a subclass appends ours: `big_writes` alone moves writes from 4 KiB to 128 KiB
 * callbacks, about 8x the throughput) and turns mount failures into DfsErrors that name
 * the fix. Loading is load.ts's, unmounting unmount.ts's.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { DfsError, fromOsCode } from '../errors';
import type { Done, FuseContext, FuseOps, FuseOptions, NativeFuseInstance } from './fuse-types';
import { loadNative } from './load';
import { fusermountUnmount } from './unmount';

/** libfuse 2.9 copies the option string into a 1024-byte buffer (fuse-native.c). */
const MAX_OPTION_STRING = 1023;

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
