/**
 * The coordinator's files under POOL/run: the admin socket, the pid file and the log.
 * They say who serves the pool, but the pool lock (POOL/lock, flock) is what decides it:
 * a socket or pid file left by a coordinator that died is stale as soon as the lock is
 * free, and whoever takes the lock next replaces them.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface RunFiles {
  dir: string;
  socket: string;
  pid: string;
  log: string;
}

export function runFiles(poolDir: string): RunFiles {
  const dir = path.join(path.resolve(poolDir), 'run');
  return { dir, socket: path.join(dir, 'admin.sock'), pid: path.join(dir, 'coordinator.pid'), log: path.join(dir, 'coordinator.log') };
}

/**
 * Linux limits a Unix socket address to 107 bytes, and libuv silently truncates a longer
 * one (binding a different path). A longer socket path is reached through an open
 * descriptor of its directory: /proc/self/fd/N/admin.sock names the same file. Call
 * `close` once the bind or connect has happened.
 */
export function socketAddress(socketPath: string): { address: string; close(): void } {
  if (Buffer.byteLength(socketPath) <= 100) return { address: socketPath, close: () => undefined };
  const fd = fs.openSync(path.dirname(socketPath), 'r');
  let open = true;
  return {
    address: `/proc/self/fd/${fd}/${path.basename(socketPath)}`,
    close: () => {
      if (open) fs.closeSync(fd);
      open = false;
    },
  };
}

/** The PID in a pid file, or undefined when there is none (or it is not a number). */
export function readPidFile(file: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(file, 'utf8').trim());
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Whether a process with this PID exists (a zombie counts as gone). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    // Field 3 of /proc/PID/stat is the state; Z is a zombie waiting to be reaped.
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}
