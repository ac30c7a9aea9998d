/**
 * Reading /proc/mounts: which FUSE filesystem (live or stale) sits at a mountpoint, the
 * pool behind it, and waiting for one to appear or go.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { DfsError } from '../errors';
import { POOL_FSNAME_PREFIX } from './mount-options';

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
export function canonicalMountpoint(mountpoint: string): string {
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
