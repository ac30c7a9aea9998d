/**
 * A pool mounted through the real CLI (`dynamicfs mount --foreground` in a child
 * process) for a test, always unmounted and cleaned up afterwards — a leftover FUSE
 * mount breaks every later run.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BIN, ok } from './cli';
import { tmpDir, rmrf } from './tmp';

export { BIN };


export interface Mounted {
  root: string;
  pool: string;
  mnt: string;
  disks: string[];
  child: ChildProcess;
  /** stderr and stdout of the coordinator so far (for failure messages). */
  output(): string;
}

export function isMounted(mnt: string): boolean {
  return fs.readFileSync('/proc/mounts', 'utf8').split('\n').some((l) => l.split(' ')[1] === mnt);
}

function answers(mnt: string): boolean {
  try {
    fs.statSync(mnt);
    return true;
  } catch {
    return false;
  }
}

export async function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Create a pool of `disks` directory disks (rs:4+2 unless told otherwise). */
export function makePool(root: string, disks = 6, redundancy = 'rs:4+2', extentSize?: string): { pool: string; disks: string[] } {
  const pool = path.join(root, 'pool');
  ok('init', pool, '--redundancy', redundancy, ...(extentSize ? ['--extent-size', extentSize] : []));
  const dirs = Array.from({ length: disks }, (_, i) => path.join(root, `disk${i}`));
  for (const d of dirs) {
    fs.mkdirSync(d);
    ok('add-disk', pool, d);
  }
  return { pool, disks: dirs };
}

/** Start the coordinator for `pool` at `mnt` in the foreground; resolves once mounted. */
export async function startCoordinator(pool: string, mnt: string, extra: string[] = [], env: Record<string, string> = {}): Promise<{ child: ChildProcess; output: () => string }> {
  // A stale mount (its coordinator killed) answers ENOTCONN to mkdir; the coordinator cleans it.
  if (!isMounted(mnt)) fs.mkdirSync(mnt, { recursive: true });
  const child = spawn(process.execPath, [BIN, 'mount', pool, mnt, '--foreground', ...extra], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let out = '';
  child.stdout!.on('data', (d) => { out += d; });
  child.stderr!.on('data', (d) => { out += d; });
  let exited = false;
  child.on('exit', () => { exited = true; });
  // The coordinator says it serves once its mount is up. Polling the mountpoint is not
  // enough: a stale mount (its coordinator killed) still answers stat from cached attributes.
  await waitFor(() => (out.includes(`serving ${path.resolve(pool)} at `) && isMounted(mnt) && answers(mnt)) || exited, 20_000, `mount at ${mnt}`).catch((e) => {
    child.kill('SIGKILL');
    throw new Error(`${(e as Error).message}\n${out}`);
  });
  if (exited) throw new Error(`coordinator exited before mounting:\n${out}`);
  return { child, output: () => out };
}

/** Stop a coordinator cleanly (unmount) or, failing that, by force. */
export async function stopCoordinator(mnt: string, child: ChildProcess): Promise<void> {
  try {
    if (isMounted(mnt) && child.exitCode === null) spawnSync(process.execPath, [BIN, 'unmount', mnt], { timeout: 60_000 });
    if (child.exitCode === null && child.signalCode === null) {
      await waitFor(() => child.exitCode !== null || child.signalCode !== null, 30_000, 'coordinator exit').catch(() => child.kill('SIGKILL'));
    }
  } finally {
    if (isMounted(mnt)) spawnSync('umount', ['-l', mnt]);
  }
}

/** A fresh 6-disk pool mounted for fn; unmounted and removed afterwards whatever happens. */
export async function withMount<T>(fn: (m: Mounted) => Promise<T> | T,
  opts: { extra?: string[]; redundancy?: string; extentSize?: string; config?: string[] } = {}): Promise<T> {
  const root = tmpDir('dfs-mount-');
  const mnt = path.join(root, 'mnt');
  let child: ChildProcess | undefined;
  try {
    const { pool, disks } = makePool(root, 6, opts.redundancy, opts.extentSize);
    if (opts.config) ok('config', pool, '--set', ...opts.config);
    const c = await startCoordinator(pool, mnt, opts.extra);
    child = c.child;
    return await fn({ root, pool, mnt, disks, child, output: c.output });
  } finally {
    if (child) await stopCoordinator(mnt, child);
    else if (isMounted(mnt)) spawnSync('umount', ['-l', mnt]);
    rmrf(root);
  }
}
