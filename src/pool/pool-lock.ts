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
        const pid = (() => {
          try {
            return fs.readFileSync(file, 'utf8').trim() || 'unknown';
          } catch {
            return 'unknown';
          }
        })();
        throw new DfsError('EPOOLBUSY', `pool ${pool} is in use by PID ${pid}; stop that process (or wait for it) and try again`, pool, { pid: Number(pid) || null });
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
