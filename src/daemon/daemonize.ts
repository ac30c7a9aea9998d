/**
 * `dynamicfs mount` without --foreground: start the coordinator as a detached child
 * (the same command with --foreground --json, its output appended to
 * POOL/run/coordinator.log), wait until it is ready — its admin socket answers ping
 * and the kernel lists the mount — and hand back its PID. If the child dies first, its
 * own error (the JSON line it printed into the log) becomes ours.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ping } from '../admin/client';
import { DfsError } from '../errors';
import { isFuseMounted } from '../fuse/proc-mounts';
import { errorFromReply } from '../rpc/frame';
import { privateFile } from '../log/logger';
import { runFiles } from '../rpc/run-files';
import { assertNotServed, checkPoolDir } from './serve';

/** bin/dynamicfs.js, from dist/src/daemon. */
const BIN = path.resolve(__dirname, '../../../bin/dynamicfs.js');

export interface DaemonOptions {
  pool: string;
  mountpoint: string;
  readOnly?: boolean;
  /** Undefined: the pool's mount.* setting decides (as for suid and dev). */
  allowOther?: boolean;
  /** Mount without nosuid / nodev (fuse/mount-options.ts). */
  suid?: boolean;
  dev?: boolean;
  /** Serve /metrics and /health over HTTP (passed to the child as --metrics-port/--metrics-bind). */
  metrics?: { port?: number; bind?: string };
  /** How long the coordinator may take to become ready (recovery of a large pool takes a while). */
  timeoutMs?: number;
}

export interface DaemonResult {
  pool: string;
  mountpoint: string;
  pid: number;
  log: string;
  /** Where the coordinator serves /metrics and /health; null when neither --metrics-port nor metrics.port asks. */
  metricsUrl: string | null;
}

export async function startDaemon(opts: DaemonOptions): Promise<DaemonResult> {
  const pool = checkPoolDir(opts.pool);
  const mountpoint = path.resolve(opts.mountpoint);
  const files = runFiles(pool);
  await assertNotServed(pool);
  fs.mkdirSync(files.dir, { recursive: true });
  const logStart = fileSize(files.log);
  privateFile(files.log);
  const out = fs.openSync(files.log, 'a');
  const args = [...process.execArgv, BIN, 'mount', pool, mountpoint, '--foreground', '--json',
    ...(opts.readOnly ? ['--read-only'] : []), ...flag('allow-other', opts.allowOther), ...flag('suid', opts.suid), ...flag('dev', opts.dev),
    ...(opts.metrics?.port === undefined ? [] : ['--metrics-port', String(opts.metrics.port)]),
    ...(opts.metrics?.bind === undefined ? [] : ['--metrics-bind', opts.metrics.bind])];
  const child = spawn(process.execPath, args, { detached: true, stdio: ['ignore', out, out], cwd: '/' });
  fs.closeSync(out);
  let exit: string | undefined;
  child.once('exit', (code, signal) => { exit = signal ? `signal ${signal}` : `exit code ${code}`; });
  child.once('error', (err) => { exit = err.message; });

  const deadline = Date.now() + (opts.timeoutMs ?? 120_000);
  let metricsUrl: string | null = null;
  for (;;) {
    if (exit !== undefined) throw childError(files.log, logStart, exit);
    const who = await ping(pool, 1000).catch(() => undefined);
    if (who && who.pid === child.pid && isFuseMounted(mountpoint)) {
      metricsUrl = who.metricsUrl ?? null;
      break;
    }
    if (Date.now() > deadline) {
      child.kill('SIGTERM');
      throw new DfsError('ETIMEDOUT', `the coordinator (PID ${child.pid}) was not ready after ${Math.round((opts.timeoutMs ?? 120_000) / 1000)} s; stopped it. See ${files.log}`, pool);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  child.unref();
  return { pool, mountpoint, pid: child.pid!, log: files.log, metricsUrl };
}

/** A negatable flag passed on as given: --NAME, --no-NAME, or nothing (the pool's setting decides). */
function flag(name: string, value: boolean | undefined): string[] {
  return value === undefined ? [] : [value ? `--${name}` : `--no-${name}`];
}

function fileSize(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}

/** The error the child printed (its --json failure line), or one quoting the end of its log. */
function childError(log: string, from: number, exit: string): DfsError {
  let text = '';
  try {
    const fd = fs.openSync(log, 'r');
    try {
      const buf = Buffer.alloc(Math.max(0, fileSize(log) - from));
      fs.readSync(fd, buf, 0, buf.length, from);
      text = buf.toString('utf8');
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    // no log: fall through to the generic message
  }
  const lines = text.split('\n').filter((l) => l.trim().length > 0);
  for (const line of [...lines].reverse()) {
    try {
      const v = JSON.parse(line) as { ok?: unknown; error?: unknown };
      if (v.ok === false && typeof v.error === 'object' && v.error !== null) return errorFromReply(v.error as Record<string, unknown>);
    } catch {
      // not JSON (a stack trace): keep looking
    }
  }
  const tail = lines.slice(-5).join('\n');
  return new DfsError('ECOORDINATOR', `the coordinator exited (${exit}) before it was ready; see ${log}${tail ? `:\n${tail}` : ''}`);
}
