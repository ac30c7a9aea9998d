/**
 * The coordinator: the one process that owns a pool while it is served. It holds the
 * pool lock (openEngine) for its whole life, writes POOL/run/coordinator.pid, recovers
 * what a crashed predecessor left (a stale FUSE mount, unlinked-but-open inodes,
 * orphaned fragments), answers admin requests on POOL/run/admin.sock, and — when given
 * a mountpoint — serves the pool there through FUSE.
 *
 * Start order: check the mountpoint → lock → pid file → clear a stale mount → check the
 * mountpoint is empty → recover → admin socket → FUSE mount. Stop order (SIGINT,
 * SIGTERM, the `shutdown` request, or the mount's session ended by an operator's
 * `umount`): flush, unmount, close the admin socket (running requests finish first),
 * remove the pid file, close the engine (releasing the lock).
 * A failed start undoes whatever it had done.
 *
 * daemon/ sits beside cli/ as an entry point: it imports admin/, engine/, fuse/, log/
 * and pool/; only cli/ imports it (and admin/client.ts, for the wire format).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as v8 from 'node:v8';
import type { Logger } from 'pino';
import { adminSettings } from '../admin/access';
import { auditSettings } from '../admin/audit';
import { ping } from '../admin/client';
import { isOpName, runOp } from '../admin/ops';
import { AutoRepair } from '../engine/auto-repair';
import type { Engine } from '../engine/engine';
import type { JobRow } from '../meta/records';
import { openEngine } from '../engine/open';
import { ADMIN_JOB_KINDS } from '../admin/job-kinds';
import { ScrubScheduler } from '../engine/scrub-scheduler';
import { TierScheduler } from '../engine/tier-scheduler';
import { DfsError, fromOsCode, toDfsError } from '../errors';
import { POOL_FSNAME_PREFIX } from '../fuse/mount-options';
import { replayIntentLog } from '../fs/log-replay';
import { findMountedPool, isFuseMounted, readMounts } from '../fuse/proc-mounts';
import { forceUnmount } from '../fuse/unmount';
import { mountFuse, type FuseMount } from '../fuse/mount';
import { auditLogOf, outcome } from '../admin/audit';
import { localIdentity, type AuditLog } from '../log/audit';
import { UsageRecorder } from '../admin/usage-recorder';
import { SnapshotScheduler } from '../admin/snapshot-scheduler';
import { AdminServer, type AdminRequest } from './admin-server';
import { MetricsHttpServer } from './metrics-http';
import { recoverPool, type RecoveryResult } from './recovery';
import { servingOf } from './serve-settings';
import type { CoordinatorInfo, ShutdownArgs } from '../rpc/frame';
import { readPidFile, runFiles, type RunFiles } from '../rpc/run-files';

export interface CoordinatorOptions {
  pool: string;
  /** Serve the pool here through FUSE; without it only the admin socket is served. */
  mountpoint?: string;
  readOnly?: boolean;
  /**
   * allowOther, suid, dev and metrics as the command line gave them: undefined where it
   * said nothing, and the pool's mount.* and metrics.* settings decide (serve-settings.ts).
   */
  allowOther?: boolean;
  /** Mount without nosuid / nodev (fuse/mount-options.ts). */
  suid?: boolean;
  dev?: boolean;
  /** Serve /metrics, /metrics/json and /health over HTTP (metrics-http.ts). */
  metrics?: { port?: number; bind?: string };
  log: Logger;
}

export interface StopResult {
  /** What asked for the stop: a signal name, "shutdown request", or why the mount's session ended. */
  reason: string;
  /** False when a step failed (the log says which); the pool lock is released regardless. */
  clean: boolean;
}

export class Coordinator {
  private fuse: FuseMount | undefined;
  private server: AdminServer | undefined;
  private http: MetricsHttpServer | undefined;
  /** POOL/run/audit.log: every audited admin request, and our own start and stop. */
  private readonly audit: AuditLog;
  private autoRepair: AutoRepair | undefined;
  /** Space per tier once an hour, for diagnose's capacity forecast. */
  private usage: UsageRecorder | undefined;
  private stopping: Promise<StopResult> | undefined;
  private resolveStopped!: (r: StopResult) => void;
  /** Resolves once the coordinator has stopped (by a signal, a request or stop()). */
  readonly stopped: Promise<StopResult> = new Promise((resolve) => { this.resolveStopped = resolve; });
  private readonly startedMs = Date.now();

  private constructor(
    readonly engine: Engine,
    readonly pool: string,
    readonly mountpoint: string | undefined,
    private readonly opts: CoordinatorOptions,
    private readonly files: RunFiles,
  ) {
    this.audit = auditLogOf(pool);
  }

  /** Start serving `opts.pool`; resolves once the admin socket answers and the mount (if any) is up. */
  static async start(opts: CoordinatorOptions): Promise<Coordinator> {
    const pool = path.resolve(opts.pool);
    const mountpoint = opts.mountpoint === undefined ? undefined : path.resolve(opts.mountpoint);
    const log = opts.log;
    if (mountpoint !== undefined) checkMountpointExists(mountpoint);
    const engine = openEngine(pool, undefined, log.child({ component: 'meta' }), ADMIN_JOB_KINDS);
    const files = runFiles(pool);
    const c = new Coordinator(engine, pool, mountpoint, opts, files);
    try {
      const serving = servingOf(opts, engine.meta);
      c.writePidFile();
      await clearStaleMountsOf(pool, log);
      if (mountpoint !== undefined) {
        await clearStaleMount(mountpoint, pool, log);
        checkMountpointEmpty(mountpoint);
      }
      const recovered: RecoveryResult = await recoverPool(engine, log);
      // From here on, changes commit in transaction groups (every admin request ends with a commit).
      engine.txg.start();
      // The encoder's worker thread starts now, not in the first large file's close (it costs ~150 ms).
      engine.work.warm();
      // fsyncs that returned after the last group commit, from the intent log, before anything is served.
      const replayed = await replayIntentLog(engine);
      if (replayed.records > 0 || replayed.skipped > 0) {
        log.info(replayed, 'replayed the intent log');
        c.recordSelf('replay-intent-log', { ...replayed });
      }
      // Jobs a previous coordinator left (queued, running) resume; damage gets repaired.
      // Every job transition in the log, with the request that asked for the job (if one did).
      const jobLog = log.child({ component: 'jobs' });
      engine.jobs.on('state', (row: JobRow) => {
        jobLog.info({ job: row.id, kind: row.kind, state: row.state, ...(typeof row.params.reqId === 'string' ? { reqId: row.params.reqId } : {}),
          ...(row.error ? { error: row.error } : {}) }, 'job state');
      });
      engine.jobs.start();
      c.autoRepair = new AutoRepair(engine, log.child({ component: 'repair' }));
      c.autoRepair.start();
      ScrubScheduler.start(engine, log.child({ component: 'scrub' }));
      // Tier migrations every tier.migrateEvery (a look at once when none ran recently).
      TierScheduler.start(engine, log.child({ component: 'tier' }));
      // Due snapshots (one per schedule, however many runs were missed while stopped) are taken now.
      SnapshotScheduler.start(engine, log.child({ component: 'snapshots' }));
      c.usage = UsageRecorder.start(engine, log.child({ component: 'usage' }));
      if (serving.metrics) {
        // Before the admin socket: once ping answers, the endpoint is up too.
        engine.metrics.enableProcessMetrics();
        c.http = await MetricsHttpServer.listen({ engine, port: serving.metrics.port, bind: serving.metrics.bind, log: log.child({ component: 'metrics' }) });
      }
      c.server = await AdminServer.listen({ socketPath: files.socket, log: log.child({ component: 'admin' }), handle: (op, args, req) => c.handle(op, args, req),
        audit: c.audit, metrics: engine.metrics, access: () => adminSettings(engine.meta), auditLookups: () => auditSettings(engine.meta).lookups });
      if (mountpoint !== undefined) {
        c.fuse = await mountFuse(engine, mountpoint, { readOnly: opts.readOnly ?? false, allowOther: serving.allowOther,
          allowOtherBySetting: serving.allowOtherFrom === 'setting', suid: serving.suid, dev: serving.dev, log: log.child({ component: 'fuse' }),
          // Nobody can reach the pool through us any more: commit, release the pool, exit.
          onSessionEnd: (reason) => void c.stop(reason) });
      }
      log.info({ pool, mountpoint: mountpoint ?? null, readOnly: !!opts.readOnly, metricsUrl: c.http?.url ?? null, recovered, replayed }, 'coordinator ready');
      c.recordSelf('coordinator-start', { mountpoint: mountpoint ?? null, readOnly: !!opts.readOnly, metricsUrl: c.http?.url ?? null });
      return c;
    } catch (err) {
      log.error({ err: toDfsError(err).toJSON() }, 'coordinator failed to start');
      c.recordSelf('coordinator-start', { mountpoint: mountpoint ?? null, readOnly: !!opts.readOnly }, err);
      await c.teardown();
      throw err;
    }
  }

  info(): CoordinatorInfo {
    return { pid: process.pid, pool: this.pool, mountpoint: this.mountpoint ?? null, mountDetached: this.fuse?.detached() ?? false, readOnly: !!this.opts.readOnly, startedMs: this.startedMs,
      metricsUrl: this.http?.url ?? null };
  }

  /** Our own start and stop, in the audit log (who: this process). */
  private recordSelf(op: string, args: Record<string, unknown>, err?: unknown): void {
    this.audit.record({ via: 'coordinator', who: localIdentity(), op, args, ...outcome(err), ms: Date.now() - this.startedMs });
  }

  /** Flush, unmount, close the socket and the engine. Safe to call twice; both calls get the same result. */
  stop(reason: string): Promise<StopResult> {
    this.stopping ??= (async () => {
      this.opts.log.info({ reason }, 'coordinator stopping');
      const clean = await this.teardown();
      const result = { reason, clean };
      this.opts.log.info(result, 'coordinator stopped');
      this.recordSelf('coordinator-stop', { reason }, clean ? undefined : new DfsError('ECOORDINATOR', 'some stop steps failed; see coordinator.log'));
      this.resolveStopped(result);
      return result;
    })();
    return this.stopping;
  }

  /** One admin request: a control operation, or an admin operation over our engine. */
  private async handle(op: string, args: Record<string, unknown>, req: AdminRequest): Promise<unknown> {
    if (op === 'ping') return this.info();
    if (op === 'shutdown') return this.shutdown(args as ShutdownArgs);
    if (!isOpName(op)) throw new DfsError('EINVAL', `unknown admin operation "${op}"`);
    const out = await runOp(op, this.engine, args, { log: req.log, reqId: req.reqId });
    if (op === 'config' || op === 'config-import') {
      this.server?.applyAccess(); // admin.monitorGroup: the socket's group and mode
      this.fuse?.vfs.applySettings(); // cache.extentBytes, read.aheadExtents, snapshots.visible: the mount's cache, read-ahead and root listing
    }
    // A command's reply means its changes are durable, as offline.
    await this.engine.txg.commit('admin');
    return out;
  }

  /**
   * The `shutdown` request: unmount first, so that a failure (a busy mount) reaches the
   * caller while we keep serving; then reply, and stop once the reply is on its way.
   */
  private async shutdown(args: ShutdownArgs): Promise<CoordinatorInfo> {
    if (args.mountpoint !== undefined && args.mountpoint !== null) {
      if (typeof args.mountpoint !== 'string') throw new DfsError('EINVAL', 'shutdown: argument "mountpoint" must be a string');
      if (path.resolve(args.mountpoint) !== this.mountpoint) {
        throw new DfsError('EINVAL', `this coordinator (PID ${process.pid}) serves ${this.pool} ${this.mountpoint ? `at ${this.mountpoint}` : 'without a mount'}, not at ${args.mountpoint}`, args.mountpoint);
      }
    }
    if (this.fuse) {
      await this.fuse.flush();
      await this.fuse.unmount();
      this.fuse = undefined;
    }
    setImmediate(() => void this.stop('shutdown request'));
    return this.info();
  }

  /** Undo everything start did, in reverse; true when every step succeeded. */
  private async teardown(): Promise<boolean> {
    const log = this.opts.log;
    let clean = true;
    const step = async (what: string, fn: () => Promise<void> | void): Promise<void> => {
      try {
        await fn();
      } catch (err) {
        clean = false;
        log.error({ err: toDfsError(err).toJSON() }, `stop: ${what} failed`);
      }
    };
    // First: a schedule's run in flight (its snapshot commits the mount's open files) finishes while the mount and jobs still run.
    await step('stopping the snapshot schedules', () => SnapshotScheduler.of(this.engine)?.stop());
    if (this.http) await step('closing the metrics endpoint', () => this.http!.close());
    this.http = undefined;
    if (this.fuse) {
      const fuse = this.fuse;
      const mnt = this.mountpoint!;
      await step('flush', () => fuse.flush());
      await step('unmount', async () => {
        try {
          await fuse.unmount();
        } catch (err) {
          // Never leave a mount behind that nobody serves: detach it, then report the failure.
          await forceUnmount(mnt).catch(() => undefined);
          throw err;
        }
      });
      this.fuse = undefined;
    }
    this.autoRepair?.stop();
    this.autoRepair = undefined;
    this.usage?.stop();
    this.usage = undefined;
    // Before the socket closes (it waits for running requests): a `--wait` request must
    // not hold the shutdown until its job ends. Interrupted jobs stay queued for next time.
    ScrubScheduler.of(this.engine)?.stop();
    await step('stopping the tier migration schedule', () => TierScheduler.of(this.engine)?.stop());
    await step('stopping jobs', () => this.engine.jobs.stop());
    if (this.server) await step('closing the admin socket', () => this.server!.close());
    this.server = undefined;
    await step('removing the pid file', () => {
      if (readPidFile(this.files.pid) === process.pid) fs.rmSync(this.files.pid, { force: true });
    });
    await step('closing the pool', () => this.engine.close());
    return clean;
  }

  /** POOL/run/coordinator.pid. We hold the lock, so any pid file already there is a dead coordinator's. */
  private writePidFile(): void {
    const old = readPidFile(this.files.pid);
    if (old !== undefined && old !== process.pid) {
      this.opts.log.warn({ stalePid: old }, 'replacing the pid file of a coordinator that is gone (the pool lock was free)');
    }
    const tmp = `${this.files.pid}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, `${process.pid}\n`);
    fs.renameSync(tmp, this.files.pid);
  }
}

/**
 * Run a coordinator until SIGINT, SIGTERM or a `shutdown` request stops it. A signal
 * that arrives while it is still starting stops it as soon as it is up.
 */
export async function runCoordinator(opts: CoordinatorOptions, onReady?: (c: Coordinator) => void): Promise<StopResult> {
  tuneGcForStreaming();
  let coordinator: Coordinator | undefined;
  let signalled: string | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    opts.log.info({ signal }, 'signal received');
    signalled ??= signal;
    if (coordinator) void coordinator.stop(signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    coordinator = await Coordinator.start(opts);
    if (signalled) void coordinator.stop(signalled);
    else onReady?.(coordinator);
    return await coordinator.stopped;
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
}

/**
 * A coordinator streams 1-4 MiB buffers (fragments, extents) that live a few ms. With
 * incremental marking on, V8 answers the external-memory pressure they cause by marking
 * the whole heap: a 1 GiB cold read through the mount ran ~150 full GCs and at 0.40x of a
 * FUSE passthrough. Without it the same pressure is met by scavenges (~90, ~20 full
 * GCs, as before the metrics and jobs code grew the heap) and reads ran ~35% faster in a
 * same-run A/B (bench:mount). The heap is small (tens of MB), so a full GC that is not
 * incremental pauses for a few ms.
 */
function tuneGcForStreaming(): void {
  v8.setFlagsFromString('--no-incremental-marking');
}

/** ENOENT / ENOTDIR before anything else happens. A stale FUSE mount (ENOTCONN) passes: start clears it. */
function checkMountpointExists(mnt: string): void {
  let st: fs.Stats;
  try {
    st = fs.statSync(mnt);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOTCONN' || code === 'ECONNABORTED') return;
    if (code === 'ENOENT') throw new DfsError('ENOENT', `mountpoint ${mnt} does not exist; create it (an empty directory) first`, mnt);
    throw fromOsCode(code, `cannot use mountpoint ${mnt}: ${(err as Error).message}`, mnt);
  }
  if (!st.isDirectory()) throw new DfsError('ENOTDIR', `mountpoint ${mnt} is not a directory`, mnt);
}

function checkMountpointEmpty(mnt: string): void {
  let entries: string[];
  try {
    entries = fs.readdirSync(mnt);
  } catch (err) {
    throw fromOsCode((err as NodeJS.ErrnoException).code, `cannot read mountpoint ${mnt}: ${(err as Error).message}`, mnt);
  }
  if (entries.length > 0) {
    throw new DfsError('ENOTEMPTY', `mountpoint ${mnt} is not empty (${entries.length} entries); the mount would hide them: choose an empty directory`, mnt);
  }
}

/**
 * A FUSE mount already at `mnt`: a stale one (its coordinator was killed) is detached;
 * a live one — another pool's coordinator answering — is EBUSY. Ours (this pool) is
 * stale by definition: we hold the pool's lock, so its coordinator is gone.
 */
async function clearStaleMount(mnt: string, pool: string, log: Logger): Promise<void> {
  if (!isFuseMounted(mnt)) return;
  const owner = findMountedPool(mnt);
  if (owner !== undefined && path.resolve(owner) !== pool) {
    const who = await ping(owner, 2000).catch(() => undefined);
    if (who) {
      throw new DfsError('EBUSY', `${mnt} is where pool ${owner} is mounted (coordinator PID ${who.pid}); unmount it (\`dynamicfs unmount ${mnt}\`) or choose another mountpoint`, mnt, { pid: who.pid });
    }
  } else if (owner === undefined) {
    throw new DfsError('EBUSY', `another FUSE filesystem (not a DynamicFS pool) is mounted at ${mnt}; unmount it or choose another mountpoint`, mnt);
  }
  const r = await forceUnmount(mnt);
  log.warn({ mountpoint: mnt, owner, action: r.action }, 'detached a stale FUSE mount left by a coordinator that died');
}

/**
 * Every FUSE mount of this pool still listed in /proc/mounts is stale: we hold the
 * pool's lock, so whatever served it is gone (a coordinator killed while mounted
 * elsewhere than where we are asked to mount now). Detach them all.
 */
async function clearStaleMountsOf(pool: string, log: Logger): Promise<void> {
  for (const m of readMounts()) {
    if (m.source !== POOL_FSNAME_PREFIX + pool || !(m.type === 'fuse' || m.type.startsWith('fuse.'))) continue;
    const r = await forceUnmount(m.target);
    log.warn({ mountpoint: m.target, action: r.action }, 'detached a stale FUSE mount of this pool left by a coordinator that died');
  }
}
