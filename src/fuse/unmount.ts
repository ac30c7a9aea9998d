/**
 * Unmounting without a system fusermount: fuse-native runs `fusermount -uz` from PATH;
 * we run the fusermount fuse-shared-library ships (as root), or a setuid one from PATH
 * (as a user), by absolute path, and as a last resort (root) `umount -l`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFile } from 'node:child_process';
import { DfsError } from '../errors';
import { canonicalMountpoint, isFuseMounted } from './proc-mounts';
import { fuseRuntime } from './runtime';

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

/** `fusermount -uz mnt` with the first candidate that succeeds; resolves to the one used. */
export async function fusermountUnmount(mnt: string): Promise<string> {
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
