/**
 * Mount a pool with FUSE: a Vfs over the engine, the op table, and the mount options
 * every DynamicFS mount uses (mount-options.ts). The coordinator owns the returned
 * handle: flush() commits every open file and the open transaction group, unmount() flushes and then detaches.
 */
import type { Logger } from 'pino';
import type { Engine } from '../engine/engine';
import { Vfs } from '../fs/vfs';
import { Fuse } from './fuse-native';
import type { FuseOps } from './fuse-types';
import { fuseMountOptions } from './mount-options';
import { instrumentFuseOps } from './instrument';
import { fuseOps } from './ops';

export interface MountOptions {
  readOnly?: boolean;
  allowOther?: boolean;
  log: Logger;
}

export interface FuseMount {
  readonly mountpoint: string;
  readonly vfs: Vfs;
  /** Commit every open file's writes (data and metadata durable when it resolves). */
  flush(): Promise<void>;
  /** Flush, then unmount. Safe to call twice. */
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
  const fuse: Fuse = new Fuse(mountpoint, ops, fuseMountOptions({ pool: engine.pool.dir, readOnly: opts.readOnly, allowOther: opts.allowOther,
    timeout: OP_TIMEOUT_MS, extraOptions: ['use_ino'] }));
  await fuse.mountAsync();
  opts.log.info({ mountpoint: fuse.mnt, options: fuse.optionString() }, 'mounted');
  let unmounted: Promise<void> | undefined;
  return {
    mountpoint: fuse.mnt,
    vfs,
    flush: () => vfs.syncAll(),
    unmount: () => {
      unmounted ??= (async () => {
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
