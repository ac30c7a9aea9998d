/**
 * `dynamicfs unmount MOUNTPOINT`: find the pool mounted there (its fsname in
 * /proc/mounts), ask its coordinator to flush, unmount and stop, and wait until the
 * process has exited (so the pool lock is free when we return). A mount that no
 * coordinator serves any more (it was killed) is detached by force.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ping, requestShutdown } from '../admin/client';
import { DfsError } from '../errors';
import { findMountedPool, isFuseMounted } from '../fuse/proc-mounts';
import { forceUnmount } from '../fuse/unmount';
import { PoolLock } from '../pool/pool-lock';
import { processAlive } from '../rpc/run-files';

export interface UnmountResult {
  mountpoint: string;
  pool: string | null;
  /** The coordinator that stopped; null when the mount was stale. */
  pid: number | null;
  /** True when nobody served the mount and it was detached by force. */
  forced: boolean;
}

export async function unmountPool(mountpoint: string, timeoutMs = 120_000): Promise<UnmountResult> {
  const mnt = path.resolve(mountpoint);
  const pool = findMountedPool(mnt) ?? null;
  if (pool === null) {
    if (isFuseMounted(mnt)) {
      throw new DfsError('ENOTMOUNTED', `the FUSE filesystem at ${mnt} is not a DynamicFS pool; unmount it with fusermount -u`, mnt);
    }
    if (!fs.existsSync(mnt)) throw new DfsError('ENOENT', `mountpoint ${mnt} does not exist`, mnt);
    throw new DfsError('ENOTMOUNTED', `no DynamicFS pool is mounted at ${mnt}`, mnt);
  }
  const who = await ping(pool, 5000).catch(() => undefined);
  if (who && who.mountpoint === mnt) {
    await requestShutdown(pool, { mountpoint: mnt });
    await waitForExit(who.pid, timeoutMs, pool);
    return { mountpoint: mnt, pool, pid: who.pid, forced: false };
  }
  if (!who) assertPoolUnheld(pool, mnt);
  // Nobody serves this mount (the coordinator that made it is gone; a live one, if any, serves another mountpoint).
  await forceUnmount(mnt);
  return { mountpoint: mnt, pool, pid: null, forced: true };
}

/**
 * The socket does not answer: only force the unmount if the pool lock is free too.
 * A process that holds the lock but does not answer may still serve the mount.
 */
function assertPoolUnheld(pool: string, mnt: string): void {
  if (!fs.existsSync(pool)) return; // the pool is gone: nothing can serve its mount
  let lock: PoolLock;
  try {
    lock = PoolLock.acquire(pool);
  } catch (err) {
    if (err instanceof DfsError && err.code === 'EPOOLBUSY') {
      throw new DfsError('ECOORDINATOR', `pool ${pool} (mounted at ${mnt}) is held by PID ${String(err.details?.pid ?? 'unknown')}, `
        + 'which does not answer on its admin socket; stop that process (SIGTERM), then run unmount again', mnt, err.details);
    }
    return; // cannot even look: the mount is still stale
  }
  lock.release();
}

async function waitForExit(pid: number, timeoutMs: number, pool: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (processAlive(pid)) {
    if (Date.now() > deadline) {
      throw new DfsError('ETIMEDOUT', `the coordinator (PID ${pid}) unmounted but had not exited after ${Math.round(timeoutMs / 1000)} s; see ${pool}/run/coordinator.log`, pool, { pid });
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
