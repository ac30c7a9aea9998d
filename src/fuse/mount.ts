/**
 * Mount a pool with FUSE: a Vfs over the engine, the op table, and the mount options
 * every DynamicFS mount uses (mount-options.ts). The coordinator owns the returned
 * handle: flush() commits every open file and the open transaction group, unmount() flushes and then detaches.
 * A session ended by someone else (`umount MNT`) is reported through `onSessionEnd`.
 */
import * as fs from 'node:fs';
import type { Logger } from 'pino';
import type { Engine } from '../engine/engine';
import { DfsError } from '../errors';
import { Vfs } from '../fs/vfs';
import { Fuse } from './fuse-native';
import type { FuseOps } from './fuse-types';
import { allowOtherRefusal, fuseMountOptions } from './mount-options';
import { instrumentFuseOps } from './instrument';
import { fuseOps } from './ops';
import { devFuseFds, watchSession, type SessionWatch } from './session-watch';

export interface MountOptions {
  readOnly?: boolean;
  allowOther?: boolean;
  /** allowOther comes from the pool's mount.allowOther setting, not the flag (for the refusal's advice). */
  allowOtherBySetting?: boolean;
  /** Not nosuid / not nodev (see mount-options.ts). */
  suid?: boolean;
  dev?: boolean;
  log: Logger;
  /**
   * The session ended without our unmount (an operator's `umount`): called once, with
   * why. The mount's handle is still to be unmounted (flush, release the session).
   */
  onSessionEnd: (reason: string) => void;
}

export interface FuseMount {
  readonly mountpoint: string;
  readonly vfs: Vfs;
  /** True once an operator's `umount -l` detached the mount while files there stay open (session-watch.ts). */
  detached(): boolean;
  /** Commit every open file's writes (data and metadata durable when it resolves). */
  flush(): Promise<void>;
  /** Flush, then unmount (the kernel side too, unless it is gone already). Safe to call twice. */
  unmount(): Promise<void>;
}

/**
 * fuse-native answers the kernel within this many ms or fails the op with EIO; long
 * enough for an fsync that waits on several extents over slow disks.
 */
const OP_TIMEOUT_MS = 120_000;

export async function mountFuse(engine: Engine, mountpoint: string, opts: MountOptions): Promise<FuseMount> {
  const vfs = new Vfs(engine, opts.readOnly ?? false);
  // New inodes belong to the calling process (fuse_get_context, through our fuse-native patch).
  // Every op counted and timed (engine.metrics), failures logged with a request id.
  const ops = instrumentFuseOps(fuseOps(vfs, () => fuse.context()), engine.metrics, opts.log) as unknown as FuseOps;
  // use_ino: stat shows our inode numbers, so hard links share one and tools like tar/rsync see them.
  // Not hard_remove: libfuse then has no path for an unlinked open file and fstat fails with
  // ENOENT; Vfs keeps its .fuse_hidden* names out of the directory instead (see fs/hidden-names.ts).
  if (opts.allowOther) {
    const why = allowOtherRefusal(process.geteuid?.() ?? 0, readFuseConf(), opts.allowOtherBySetting);
    if (why) throw new DfsError('EPERM', why);
  }
  const fuse: Fuse = new Fuse(mountpoint, ops, fuseMountOptions({ pool: engine.pool.dir, readOnly: opts.readOnly, allowOther: opts.allowOther,
    suid: opts.suid, dev: opts.dev, timeout: OP_TIMEOUT_MS, extraOptions: ['use_ino'] }));
  const before = devFuseFds();
  await fuse.mountAsync();
  opts.log.info({ mountpoint: fuse.mnt, options: fuse.optionString() }, 'mounted');
  let watch: SessionWatch;
  try {
    watch = watchSession(fuse.mnt, newFds(before), opts.log, opts.onSessionEnd);
  } catch (err) {
    await fuse.unmountAsync();
    throw err;
  }
  let unmounted: Promise<void> | undefined;
  return {
    mountpoint: fuse.mnt,
    vfs,
    detached: () => watch.detached(),
    flush: () => vfs.syncAll(),
    unmount: () => {
      unmounted ??= (async () => {
        watch.stop(); // our own unmount ends the session too
        try {
          await vfs.syncAll();
        } finally {
          await fuse.unmountAsync();
          opts.log.info({ mountpoint: fuse.mnt }, 'unmounted');
        }
      })();
      return unmounted;
    },
  };
}

/** The /dev/fuse descriptors opened since `before`: the session's (libfuse opens one per mount). */
function newFds(before: ReadonlySet<number>): Set<number> {
  const fds = new Set([...devFuseFds()].filter((fd) => !before.has(fd)));
  if (fds.size === 0) throw new DfsError('EINTERNAL', 'mounted, but no new /dev/fuse descriptor is open: cannot watch the FUSE session');
  return fds;
}

/** /etc/fuse.conf's text, or undefined when there is none (or it cannot be read). */
function readFuseConf(): string | undefined {
  try {
    return fs.readFileSync('/etc/fuse.conf', 'utf8');
  } catch {
    return undefined;
  }
}
