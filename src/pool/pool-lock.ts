/** POOL/lock: the exclusive owner lock (flock), with the owner's PID written inside for the error message. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DfsError } from '../errors';
import { lockAcquire, lockRelease } from '../native';

export class PoolLock {
  private constructor(private fd: number) {}

  static acquire(pool: string): PoolLock {
    const file = path.join(pool, 'lock');
    let fd: number;
    try {
      fd = lockAcquire(file);
    } catch (err) {
      if ((err as DfsError).code === 'EBUSY') {
        const pid = lockHolder(file);
        throw new DfsError('EPOOLBUSY', `pool ${pool} is in use by PID ${pid ?? 'unknown'}; stop that process (or wait for it) and try again`, pool, { pid });
      }
      throw err;
    }
    fs.ftruncateSync(fd, 0);
    fs.writeSync(fd, `${process.pid}\n`, 0);
    return new PoolLock(fd);
  }

  release(): void {
    if (this.fd >= 0) {
      lockRelease(this.fd);
      this.fd = -1;
    }
  }
}

/**
 * The PID holding the flock on `file`: from the kernel's lock table (/proc/locks, matched
 * by inode), which is right even in the instant between a new owner taking the lock and
 * writing its PID into the file; the file's content where /proc/locks is not readable.
 */
export function lockHolder(file: string): number | null {
  try {
    const ino = fs.statSync(file).ino;
    for (const line of fs.readFileSync('/proc/locks', 'utf8').split('\n')) {
      // "1: FLOCK  ADVISORY  WRITE 12345 08:01:1234567 0 EOF"
      const f = line.trim().split(/\s+/);
      if (f[1] === 'FLOCK' && f[3] === 'WRITE' && Number(f[5]?.split(':')[2]) === ino) return Number(f[4]) || null;
    }
  } catch {
    // No /proc (not Linux, or hidden): fall back to what the owner wrote.
  }
  try {
    return Number(fs.readFileSync(file, 'utf8').trim()) || null;
  } catch {
    return null;
  }
}
