/**
 * A coordinator in this process, in the foreground, until a signal or a `shutdown`
 * request stops it: what `dynamicfs serve` and `dynamicfs mount --foreground` run (and
 * what the detached child of a plain `dynamicfs mount` runs). It logs to
 * POOL/run/coordinator.log.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ping } from '../admin/client';
import { DfsError } from '../errors';
import { openLogFile } from '../log/logger';
import { readSuperblock } from '../pool/superblock';
import { runCoordinator } from './coordinator';
import type { CoordinatorInfo } from '../rpc/frame';
import { runFiles } from '../rpc/run-files';

export interface ServeOptions {
  pool: string;
  mountpoint?: string;
  readOnly?: boolean;
  allowOther?: boolean;
  /** Mount without nosuid / nodev (fuse/mount-options.ts). */
  suid?: boolean;
  dev?: boolean;
  /** Serve /metrics and /health over HTTP. */
  metrics?: { port?: number; bind?: string };
  /** Called once the coordinator is ready (admin socket answering, mount up). */
  onReady?: (info: CoordinatorInfo & { log: string }) => void;
}

export interface ServeResult {
  pool: string;
  mountpoint: string | null;
  pid: number;
  log: string;
  /** The signal or request that stopped it. */
  stoppedBy: string;
}

export async function serveForeground(opts: ServeOptions): Promise<ServeResult> {
  const pool = checkPoolDir(opts.pool);
  await assertNotServed(pool);
  const files = runFiles(pool);
  const logFile = openLogFile(files.log);
  try {
    const r = await runCoordinator({ pool, mountpoint: opts.mountpoint, readOnly: opts.readOnly, allowOther: opts.allowOther,
      suid: opts.suid, dev: opts.dev, metrics: opts.metrics, log: logFile.log },
      (c) => opts.onReady?.({ ...c.info(), log: files.log }));
    if (!r.clean) {
      throw new DfsError('ECOORDINATOR', `the coordinator stopped (${r.reason}) but some steps failed; see ${files.log}`, pool);
    }
    return { pool, mountpoint: opts.mountpoint === undefined ? null : path.resolve(opts.mountpoint), pid: process.pid, log: files.log, stoppedBy: r.reason };
  } finally {
    logFile.close();
  }
}

/** The absolute pool directory, or ENOTPOOL before anything (the log file included) is created. */
export function checkPoolDir(pool: string): string {
  const abs = path.resolve(pool);
  if (!fs.existsSync(abs)) throw new DfsError('ENOTPOOL', `pool ${abs} does not exist; create it with \`dynamicfs init ${pool}\``, abs);
  readSuperblock(abs);
  return abs;
}

/**
 * EPOOLBUSY naming the coordinator when one already answers for `pool` (clearer than
 * the lock's "in use by PID n", which is what a race past this check still gets).
 */
export async function assertNotServed(pool: string): Promise<void> {
  const running = await ping(pool, 2000).catch(() => undefined);
  if (!running) return;
  if (running.mountDetached) {
    throw new DfsError('EPOOLBUSY', `pool ${pool} is still served by its coordinator (PID ${running.pid}): its mount at ${running.mountpoint} was detached `
      + '(umount -l) but files there are still open; it stops once they are closed', pool, { pid: running.pid });
  }
  const where = running.mountpoint ? `mounted at ${running.mountpoint}` : 'served without a mount';
  throw new DfsError('EPOOLBUSY', `pool ${pool} is already ${where} by its coordinator (PID ${running.pid})`, pool, { pid: running.pid });
}
