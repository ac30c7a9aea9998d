/**
 * Coordinators for tests: start `dynamicfs serve` (or find the one `dynamicfs mount`
 * started), wait until its admin socket answers, stop it, and clean up whatever a
 * test left (processes, FUSE mounts) in `finally`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { ping } from '../../src/admin/client';
import { isFuseMounted } from '../../src/fuse/proc-mounts';
import { forceUnmount } from '../../src/fuse/unmount';
import { processAlive, readPidFile, runFiles } from '../../src/rpc/run-files';
import { BIN } from './cli';

export interface Served {
  child: ChildProcess;
  pid: number;
  /** Everything the child printed on stdout so far (its final JSON object once it exits). */
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (or signal name) once the child has exited. */
  exited: Promise<number | string>;
}

/** Start `dynamicfs serve POOL --json` (with `env` added: crash and hold points) and wait until its admin socket answers ping. */
export async function startServe(pool: string, timeoutMs = 30_000, env: Record<string, string> = {}): Promise<Served> {
  const child = spawn(process.execPath, [BIN, 'serve', pool, '--json'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let out = '';
  let err = '';
  child.stdout!.on('data', (b: Buffer) => { out += b.toString(); });
  child.stderr!.on('data', (b: Buffer) => { err += b.toString(); });
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(signal ?? code ?? -1)));
  let done: number | string | undefined;
  void exited.then((v) => { done = v; });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (done !== undefined) throw new Error(`dynamicfs serve exited (${done}) before it was ready: ${out}${err}`);
    const who = await ping(pool, 1000).catch(() => undefined);
    if (who && who.pid === child.pid) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`dynamicfs serve was not ready after ${timeoutMs} ms: ${out}${err}`);
    }
    await sleep(25);
  }
  return { child, pid: child.pid!, stdout: () => out, stderr: () => err, exited };
}

/** Send `signal` and wait for the child to exit; SIGKILL it if it takes longer than `timeoutMs`. */
export async function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 30_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  await gone;
  clearTimeout(timer);
}

/** Wait until a process (not our child: a daemon) has exited. */
export async function waitGone(pid: number, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (processAlive(pid)) {
    if (Date.now() > deadline) throw new Error(`PID ${pid} still alive after ${timeoutMs} ms`);
    await sleep(25);
  }
}

/**
 * After a test: kill the pool's coordinator if one is still alive (its pid file says
 * which) and detach any FUSE mount left at `mountpoints`.
 */
export async function cleanupPool(pool: string, mountpoints: string[] = []): Promise<void> {
  const pid = readPidFile(runFiles(pool).pid);
  if (pid !== undefined && processAlive(pid)) {
    try {
      process.kill(pid, 'SIGKILL');
      await waitGone(pid, 10_000);
    } catch {
      // already gone
    }
  }
  for (const m of mountpoints) {
    if (isFuseMounted(m)) await forceUnmount(m).catch(() => undefined);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
