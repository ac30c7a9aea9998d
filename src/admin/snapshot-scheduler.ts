/**
 * The coordinator's loop that follows the snapshot schedules (snapshot-schedules.ts):
 * once a second it reads them and, for each one due, takes `PREFIX-YYYYMMDD-HHMMSS`
 * (fs/snapshots.ts createSnapshot: a commit, then the record) and prunes that prefix's
 * unheld snapshots oldest-first down to `keep` (each a snapshot-delete with its purge
 * job). Every snapshot taken or pruned, and every failed run, is a `snapshot` event in
 * the pool's history and counted in the metrics.
 *
 * Between runs a tick reads only the schedules: the snapshots are looked at again when the
 * first schedule is next due or the schedules change (so a schedule's newest snapshot
 * deleted by hand is replaced at the planned time, not at once).
 *
 * Runs never overlap: a tick while one runs does nothing, and stop() and idle() wait for
 * the run in flight, so `snapshot schedule --remove` answers once no run of the removed
 * schedule can still happen. A failed run (a manual snapshot holding the name, a pool
 * refusing commits) is retried after min(every, 1 min), not at every tick. The clock is
 * injectable: tests call tick() with a moved clock, as the scrub scheduler's do.
 */
import type { Logger } from 'pino';
import type { Engine } from '../engine/engine';
import { toDfsError } from '../errors';
import { createSnapshot } from '../fs/snapshots';
import { deleteSnapshot } from './ops/snapshot';
import { everyText, planOf, readSchedules, snapshotNameFor, toPrune, type SnapshotSchedule } from './snapshot-schedules';

/** What one run of one schedule did. */
export interface ScheduleRun {
  prefix: string;
  outcome: 'ok' | 'failed';
  /** The snapshot taken (null when the run failed before). */
  taken: string | null;
  /** Snapshots deleted to keep the prefix at `keep`, oldest first. */
  pruned: string[];
  error?: { code: string; message: string };
}

export interface SnapshotSchedulerOptions {
  /** The clock (tests move it). */
  now?: () => number;
  /** How often the schedules are looked at. */
  tickMs?: number;
}

const RETRY_MS = 60_000;
const running = new WeakMap<Engine, SnapshotScheduler>();

export class SnapshotScheduler {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private inFlight: Promise<ScheduleRun[]> | undefined;
  /** Per prefix: no new try before this time, after a failed run. */
  private readonly retryAt = new Map<string, number>();
  /**
   * The schedules as last looked at, and when the first of them is next due: until then,
   * and while they stay the same, a tick reads no snapshots (a pool may have thousands).
   */
  private seen = '';
  private wakeAtMs = 0;
  private readonly now: () => number;

  constructor(private readonly engine: Engine, private readonly log: Logger, opts: SnapshotSchedulerOptions = {}) {
    this.now = opts.now ?? Date.now;
  }

  /** Start following the pool's schedules (the coordinator calls this once it runs jobs); a run due at once starts now. */
  static start(engine: Engine, log: Logger, opts: SnapshotSchedulerOptions = {}): SnapshotScheduler {
    void running.get(engine)?.stop();
    const s = new SnapshotScheduler(engine, log, opts);
    running.set(engine, s);
    s.timer = setInterval(() => void s.tick(), opts.tickMs ?? 1000);
    s.timer.unref();
    setImmediate(() => void s.tick());
    return s;
  }

  /** The scheduler running for this engine, if any. */
  static of(engine: Engine): SnapshotScheduler | undefined {
    return running.get(engine);
  }

  /** Stop ticking; resolves once the run in flight (if any) has finished. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    this.timer = undefined;
    if (running.get(this.engine) === this) running.delete(this.engine);
    await this.idle();
  }

  /** Resolves once no run is in flight. */
  async idle(): Promise<void> {
    await this.inFlight?.catch(() => undefined);
  }

  /** Run every schedule that is due now; resolves with what each run did (nothing while another tick runs). */
  tick(): Promise<ScheduleRun[]> {
    if (this.stopped || this.inFlight) return Promise.resolve([]);
    const run = this.runDue().finally(() => { this.inFlight = undefined; });
    this.inFlight = run;
    return run;
  }

  private async runDue(): Promise<ScheduleRun[]> {
    const out: ScheduleRun[] = [];
    let schedules: SnapshotSchedule[];
    try {
      schedules = readSchedules(this.engine.meta);
    } catch (err) {
      this.log.error({ err: toDfsError(err).toJSON() }, 'reading the snapshot schedules failed');
      return out;
    }
    if (schedules.length === 0) return out;
    const seen = JSON.stringify(schedules);
    if (seen === this.seen && this.now() < this.wakeAtMs) return out;
    for (const s of schedules) {
      if (this.stopped) break;
      const now = this.now();
      if (now < (this.retryAt.get(s.prefix) ?? 0)) continue;
      if (!planOf(s, this.engine.meta.snapshots(), now).due) continue;
      out.push(await this.runOne(s, now));
    }
    const snapshots = this.engine.meta.snapshots();
    const now = this.now();
    this.wakeAtMs = Math.min(...schedules.map((s) => Math.max(planOf(s, snapshots, now).nextDueMs, this.retryAt.get(s.prefix) ?? 0)));
    this.seen = seen;
    return out;
  }

  /** Take the schedule's snapshot of `now`, then prune its prefix down to `keep`. */
  private async runOne(s: SnapshotSchedule, now: number): Promise<ScheduleRun> {
    const m = this.engine.metrics;
    const events = this.engine.pool.events;
    const rule = `every ${everyText(s.everyMs)}, keep ${s.keep}`;
    const run: ScheduleRun = { prefix: s.prefix, outcome: 'ok', taken: null, pruned: [] };
    try {
      const snap = await createSnapshot(this.engine, snapshotNameFor(s.prefix, now));
      run.taken = snap.name;
      events.record({ kind: 'snapshot', subject: `snapshot ${snap.name}`, message: `taken by schedule ${s.prefix} (${rule})`,
        details: { action: 'taken', prefix: s.prefix, name: snap.name, generation: snap.gen, everyMs: s.everyMs, keep: s.keep } });
      const plan = planOf(s, this.engine.meta.snapshots(), now);
      const unheld = plan.owned.filter((o) => !o.snapshot.held).length;
      for (const victim of toPrune(s, plan.owned)) {
        let job: number | undefined;
        try {
          job = deleteSnapshot(this.engine, victim.name);
        } catch (err) {
          // Deleted or held by someone else since we looked: not ours to prune any more.
          const code = toDfsError(err).code;
          if (code === 'ENOENT' || code === 'EBUSY') continue;
          throw err;
        }
        run.pruned.push(victim.name);
        m.snapshotsPruned.inc({ prefix: s.prefix });
        events.record({ kind: 'snapshot', subject: `snapshot ${victim.name}`,
          message: `pruned by schedule ${s.prefix} (${rule}: ${unheld} unheld)${job === undefined ? '' : `; job ${job} purges what only it kept`}`,
          details: { action: 'pruned', prefix: s.prefix, name: victim.name, generation: victim.gen, keep: s.keep, job: job ?? null } });
      }
      // The deletions durable now, not at the next interval.
      if (run.pruned.length > 0) await this.engine.txg.commit('snapshot');
      this.retryAt.delete(s.prefix);
      m.snapshotScheduleRuns.inc({ prefix: s.prefix, outcome: 'ok' });
      this.log.info({ prefix: s.prefix, taken: run.taken, pruned: run.pruned }, 'snapshot schedule ran');
    } catch (err) {
      const e = toDfsError(err);
      run.outcome = 'failed';
      run.error = { code: e.code, message: e.message };
      const retryMs = Math.min(s.everyMs, RETRY_MS);
      this.retryAt.set(s.prefix, now + retryMs);
      m.snapshotScheduleRuns.inc({ prefix: s.prefix, outcome: 'failed' });
      events.record({ kind: 'snapshot', subject: `schedule ${s.prefix}`, message: `schedule ${s.prefix} failed: ${e.code}: ${e.message}; retrying in ${everyText(retryMs)}`,
        details: { action: 'failed', prefix: s.prefix, taken: run.taken, pruned: run.pruned, error: run.error } });
      this.log.error({ prefix: s.prefix, err: e.toJSON() }, 'snapshot schedule failed');
    }
    return run;
  }
}
