/**
 * Noticing that a FUSE session ended without us: an operator's `umount MNT`,
 * `umount -l MNT` or `fusermount -u MNT`. fuse-native says nothing when libfuse's loop
 * returns, but the loop's end is visible: libfuse then closes its /dev/fuse descriptor
 * (fuse_unmount after fuse_loop_mt). So we remember which /dev/fuse descriptors the
 * mount opened and poll them; one readlink a second is cheap.
 *
 * A lazy detach (`umount -l`) with files still open takes the mount out of
 * /proc/self/mountinfo at once, but the kernel keeps the session until the last of them
 * closes: those files keep working, so the session has not ended yet. We log the
 * detach when we see it, and report the end only when the descriptor closes.
 */
import * as fs from 'node:fs';
import type { Logger } from 'pino';
import { isFuseMounted } from './proc-mounts';

const DEV_FUSE = '/dev/fuse';
const POLL_MS = 1000;

/** The descriptors of this process open on /dev/fuse. */
export function devFuseFds(): Set<number> {
  const out = new Set<number>();
  for (const name of fs.readdirSync('/proc/self/fd')) {
    const fd = Number(name);
    if (Number.isInteger(fd) && linksToDevFuse(fd)) out.add(fd);
  }
  return out;
}

function linksToDevFuse(fd: number): boolean {
  try {
    return fs.readlinkSync(`/proc/self/fd/${fd}`) === DEV_FUSE;
  } catch {
    return false; // closed since the listing
  }
}

export interface SessionWatch {
  /** Whether the mount has left /proc/self/mountinfo while the session goes on (`umount -l`, files open). */
  detached(): boolean;
  /** Stop polling (our own unmount is under way, or the session was reported ended). */
  stop(): void;
}

/**
 * Poll the session of the mount at `mountpoint`, served through the /dev/fuse
 * descriptors `fds` (those the mount opened), and call `onEnd` once, with why, when
 * none of them is open any more.
 */
export function watchSession(mountpoint: string, fds: ReadonlySet<number>, log: Logger, onEnd: (reason: string) => void): SessionWatch {
  let detachedSeen = false;
  const timer = setInterval(() => {
    const listed = isFuseMounted(mountpoint);
    if ([...fds].some(linksToDevFuse)) {
      if (!listed && !detachedSeen) {
        detachedSeen = true;
        log.warn({ mountpoint }, 'the mount was detached outside dynamicfs (umount -l?) while files there are still open; serving them until they close');
      }
      return;
    }
    clearInterval(timer);
    onEnd(`${mountpoint} was unmounted outside dynamicfs (umount or fusermount -u): the FUSE session ended`);
  }, POLL_MS);
  // The mount's own handles keep the process up; the watch must not.
  timer.unref();
  return { detached: () => detachedSeen, stop: () => clearInterval(timer) };
}
