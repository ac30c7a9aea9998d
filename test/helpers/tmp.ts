/** Temporary directories and small real filesystems for tests; always cleaned up. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';

export function tmpDir(prefix = 'dfs-test-'): string {
  return fs.mkdtempSync(path.join(process.env.DFS_TEST_TMP ?? os.tmpdir(), prefix));
}

export function rmrf(p: string): void {
  fs.rmSync(p, { recursive: true, force: true });
}

/** Run fn with a fresh directory, removed afterwards whatever happens. */
export async function withTmpDir<T>(fn: (dir: string) => Promise<T> | T): Promise<T> {
  const dir = tmpDir();
  try {
    return await fn(dir);
  } finally {
    rmrf(dir);
  }
}

/** Mount a filesystem of `type` at a fresh directory for fn; unmounted and removed afterwards. */
async function withMount<T>(type: string, options: string[], fn: (dir: string) => Promise<T> | T): Promise<T> {
  const dir = tmpDir(`dfs-${type}-`);
  execFileSync('mount', ['-t', type, ...options, 'dfs-test', dir]);
  try {
    return await fn(dir);
  } finally {
    try {
      execFileSync('umount', ['-l', dir]);
    } finally {
      rmrf(dir);
    }
  }
}

/**
 * A size-limited tmpfs: a real filesystem that fills up (ENOSPC) and can be remounted read-only.
 * With `inodes`, it holds at most that many files and directories: creating one more fails
 * with ENOSPC while statfs still reports all its bytes free.
 */
export function withTmpfs<T>(sizeBytes: number, fn: (dir: string) => Promise<T> | T, inodes?: number): Promise<T> {
  return withMount('tmpfs', ['-o', `size=${sizeBytes}${inodes === undefined ? '' : `,nr_inodes=${inodes}`}`], fn);
}

/** A ramfs, which refuses O_DIRECT (unlike tmpfs on kernels >= 6.6). */
export function withRamfs<T>(fn: (dir: string) => Promise<T> | T): Promise<T> {
  return withMount('ramfs', [], fn);
}

export function remountReadOnly(dir: string): void {
  execFileSync('mount', ['-o', 'remount,ro', dir]);
}
