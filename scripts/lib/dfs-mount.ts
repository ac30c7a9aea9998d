/** A DynamicFS pool and its mount for the benchmarks, driven through the CLI as a user would. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { isFuseMounted, waitForFuseMount } from '../../src/fuse/proc-mounts';
import { forceUnmount } from '../../src/fuse/unmount';

export const REPO = path.resolve(__dirname, '..', '..', '..');
const CLI = path.join(REPO, 'bin', 'dynamicfs.js');

/** Run `dynamicfs ARGS` (this checkout's, or the CLI at `bin`); rejects with its stderr. */
export function cli(args: string[], bin = CLI): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [bin, ...args], { cwd: REPO, timeout: 120_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`dynamicfs ${args.join(' ')}: ${String(stderr).trim() || String(stdout).trim() || err.message}`));
      else resolve(String(stdout));
    });
  });
}

/** `dynamicfs init POOL` (default policy rs:4+2) and `add-disk` of `disks` fresh directories under root. */
export async function createPool(pool: string, root: string, disks: number, bin = CLI, prefix = 'disk'): Promise<void> {
  await cli(['init', pool], bin);
  for (let i = 0; i < disks; i++) {
    const d = path.join(root, `${prefix}-${i}`);
    fs.mkdirSync(d);
    await cli(['add-disk', pool, d], bin);
  }
}

/** The CLI of another checkout (built), for an A/B of two builds in one run. */
export function cliOf(checkout: string): string {
  const bin = path.join(path.resolve(checkout), 'bin', 'dynamicfs.js');
  if (!fs.existsSync(bin)) throw new Error(`${checkout} has no bin/dynamicfs.js: give a built checkout (git worktree add DIR COMMIT && cd DIR && npm ci)`);
  return bin;
}

/** A `dynamicfs mount POOL MNT --foreground` child. */
export class DfsMount {
  child?: ChildProcess;
  stderr = '';
  constructor(readonly pool: string, readonly mnt: string, readonly bin = CLI) {}

  async start(): Promise<void> {
    const child = spawn(process.execPath, [this.bin, 'mount', this.pool, this.mnt, '--foreground'], { cwd: REPO, stdio: ['ignore', 'ignore', 'pipe'] });
    this.child = child;
    this.stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => { this.stderr += d; });
    try {
      await waitForFuseMount(this.mnt, { child, timeoutMs: 60_000 });
    } catch (e) {
      throw new Error(`${(e as Error).message}${this.stderr ? `: ${this.stderr.trim()}` : ''}`);
    }
  }

  /** `dynamicfs unmount MNT`, then wait for the coordinator to exit. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    try {
      if (isFuseMounted(this.mnt)) await cli(['unmount', this.mnt], this.bin);
      await waitForExit(child, 30_000);
    } finally {
      await this.kill();
    }
  }

  /** Last resort: SIGKILL and a forced lazy unmount. Never throws. */
  async kill(): Promise<void> {
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await waitForExit(child, 5_000).catch(() => undefined);
    }
    this.child = undefined;
    if (isFuseMounted(this.mnt)) await forceUnmount(this.mnt).catch(() => undefined);
  }
}

export function waitForExit(child: ChildProcess, ms: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`process ${child.pid} still running after ${ms} ms`)), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Force-unmount every FUSE mount under `root` (a benchmark's last cleanup step). Never throws. */
export async function unmountAllUnder(root: string): Promise<void> {
  for (const m of fs.readFileSync('/proc/mounts', 'utf8').split('\n')) {
    const target = m.split(' ')[1];
    if (target && target.startsWith(root + path.sep) && isFuseMounted(target)) await forceUnmount(target).catch(() => undefined);
  }
}
