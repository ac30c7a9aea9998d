/**
 * The coordinator's tier migrations: every tier.migrateEvery seconds (0: never) it looks
 * for an extent the migration would move now (tier-intent.ts: idle and not hot with a
 * background tier to go to, or hot off its foreground tier with promotion on) and, when
 * one is due, starts a `tier-migrate` job ({ scheduled: true }, at tier.migrateRate, so it
 * yields to foreground I/O). A pool whose disks are all of one tier has nothing to move
 * and is never looked at.
 *
 * The next look is tier.migrateEvery after the later of the last migration's end (any,
 * requested or scheduled, from the jobs table: a restarted coordinator does not start one
 * at once after a recent run) and the last look that found nothing due (kept in memory:
 * a coordinator's start looks once). While a migration is queued, running or paused
 * nothing starts. The look walks every extent's record in batches, giving the event loop
 * back between them, and stops at the first extent due.
 *
 * The decision is a pure function (`decideMigration`) so that `tier status` can show the
 * next look and tests can move the clock; the class only ticks it.
 */
import type { Logger } from 'pino';
import type { JobRow } from '../meta/records';
import type { Engine } from './engine';
import { extentIntent, moveTarget, policySettings, type PolicySettings } from './tier-intent';

export interface MigrateDecision {
  /** Look for due extents now. */
  look: boolean;
  /** When the next look is (null: none by itself: off, one tier, or a migration is active). */
  nextLookMs: number | null;
  reason: string;
}

const ACTIVE = new Set(['queued', 'running', 'paused']);
const SCAN_BATCH = 1000;

/**
 * Whether the schedule looks for due extents now: `every` (s), the number of tiers with
 * disks, every tier-migrate job, when a look last found nothing (undefined: not since
 * this coordinator started), and the clock.
 */
export function decideMigration(everySeconds: number, tiers: number, jobs: readonly JobRow[], nothingDueAtMs: number | undefined, nowMs: number): MigrateDecision {
  if (everySeconds === 0) return { look: false, nextLookMs: null, reason: 'tier.migrateEvery is 0: migrations start only by `tier migrate`' };
  if (tiers < 2) return { look: false, nextLookMs: null, reason: `the pool's disks are of ${tiers === 0 ? 'no' : 'one'} tier: nothing to move` };
  const active = jobs.find((j) => j.kind === 'tier-migrate' && ACTIVE.has(j.state));
  if (active) return { look: false, nextLookMs: null, reason: `tier-migrate job ${active.id} is ${active.state}` };
  const ended = jobs.filter((j) => j.kind === 'tier-migrate' && j.finishedMs !== null).sort((a, b) => b.finishedMs! - a.finishedMs! || b.id - a.id)[0];
  const everyMs = everySeconds * 1000;
  let next = nowMs;
  let reason = 'no migration has run yet';
  if (ended) {
    next = ended.finishedMs! + everyMs;
    reason = `every ${everySeconds} s after the last migration (job ${ended.id}, ${ended.state} at ${new Date(ended.finishedMs!).toISOString()})`;
  }
  if (nothingDueAtMs !== undefined && nothingDueAtMs + everyMs > next) {
    next = nothingDueAtMs + everyMs;
    reason = `every ${everySeconds} s after the last look, which found nothing due (${new Date(nothingDueAtMs).toISOString()})`;
  }
  return { look: nowMs >= next, nextLookMs: next, reason };
}

/** The first extent the migration would move now, or undefined; the event loop is given back between batches. */
export async function firstDue(engine: Engine, settings: PolicySettings, nowMs: number): Promise<Buffer | undefined> {
  const present = engine.placement.tiersPresent();
  const tierOfDisk = new Map(engine.pool.disks().map((d) => [d.id, d.tier]));
  for (const batch of engine.meta.allExtentIds(SCAN_BATCH)) {
    for (const id of batch) {
      const e = engine.meta.getExtent(id);
      if (!e || e.fragments.length === 0) continue;
      if (moveTarget(extentIntent(engine, e, settings, present, tierOfDisk, nowMs)) !== null) return id;
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
  return undefined;
}

export interface TierSchedulerOptions {
  /** The clock (tests move it). */
  now?: () => number;
  /** How often the schedule is looked at. */
  tickMs?: number;
}

const running = new WeakMap<Engine, TierScheduler>();

export class TierScheduler {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private inFlight: Promise<number | undefined> | undefined;
  /** When a look last found nothing due. */
  private nothingDueAtMs: number | undefined;
  private readonly now: () => number;

  constructor(private readonly engine: Engine, private readonly log: Logger, opts: TierSchedulerOptions = {}) {
    this.now = opts.now ?? Date.now;
  }

  /** Start following tier.migrateEvery (the coordinator calls this once it runs jobs). */
  static start(engine: Engine, log: Logger, opts: TierSchedulerOptions = {}): TierScheduler {
    void running.get(engine)?.stop();
    const s = new TierScheduler(engine, log, opts);
    running.set(engine, s);
    s.timer = setInterval(() => void s.tick(), opts.tickMs ?? 2000);
    s.timer.unref();
    setImmediate(() => void s.tick());
    return s;
  }

  /** The scheduler running for this engine, if any. */
  static of(engine: Engine): TierScheduler | undefined {
    return running.get(engine);
  }

  /** The schedule's decision now (tier status shows it). */
  decision(): MigrateDecision {
    const settings = policySettings(this.engine);
    return decideMigration(settings.migrateEvery, this.engine.placement.tiersPresent().length, this.engine.meta.jobs(), this.nothingDueAtMs, this.now());
  }

  /** Stop ticking; resolves once a look in flight has finished. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    this.timer = undefined;
    if (running.get(this.engine) === this) running.delete(this.engine);
    await this.inFlight?.catch(() => undefined);
  }

  /** Look once; resolves with the id of the job it started, if it started one (nothing while another look runs). */
  tick(): Promise<number | undefined> {
    if (this.stopped || this.inFlight) return Promise.resolve(undefined);
    const run = this.look().finally(() => { this.inFlight = undefined; });
    this.inFlight = run;
    return run;
  }

  private async look(): Promise<number | undefined> {
    try {
      const d = this.decision();
      if (!d.look) return undefined;
      const settings = policySettings(this.engine);
      const nowMs = this.now();
      const due = await firstDue(this.engine, settings, nowMs);
      if (this.stopped) return undefined;
      if (due === undefined) {
        this.nothingDueAtMs = nowMs;
        return undefined;
      }
      // A `tier migrate` may have started one while we looked.
      if (this.engine.jobs.active('tier-migrate')) return undefined;
      const id = this.engine.jobs.submit('tier-migrate', { rateBytesPerSec: settings.migrateRate, scheduled: true });
      this.engine.pool.events.record({ kind: 'tier', subject: `job ${id}`,
        message: `tier migration started by the schedule (every ${settings.migrateEvery} s): extent ${due.toString('hex')} and maybe others are due`,
        details: { action: 'migrate-scheduled', job: id, everySeconds: settings.migrateEvery, rateBytesPerSec: settings.migrateRate, firstDue: due.toString('hex'), why: d.reason } });
      this.log.info({ job: id, every: settings.migrateEvery, rate: settings.migrateRate, why: d.reason }, 'tier migration started');
      return id;
    } catch (err) {
      this.log.error({ err: (err as Error).message }, 'tier migration schedule check failed');
      return undefined;
    }
  }
}
