/**
 * The background scrub schedule and the small loop a coordinator runs to follow it.
 *
 * The schedule is three pool settings (scrub.frequency, scrub.intensity, scrub.autoRepair,
 * declared in config/settings.ts; set by `scrub-schedule` or `config`):
 * - manual: nothing starts by itself (`scrub-daemon start` or `scrub` do);
 * - nightly: a pass starts when the last scrub that finished is older than 24 h;
 * - continuous: a pass starts whenever none is active (at least a minute after the last
 *   one ended, so a small pool is not re-read in a tight loop).
 * A background pass is an ordinary `scrub` job ({ background: true, intensity, repair })
 * run by the job runner, so it shows in `jobs`, resumes after a restart, and can be
 * paused. A background pass the operator stopped (`scrub-daemon stop`) holds the
 * schedule until `scrub-daemon start` or a new schedule; a failed one is retried after
 * an hour.
 *
 * The decision is a pure function of the schedule, the scrub jobs and the clock
 * (`decide`), so `status` can show when the next pass is due and tests can move the
 * clock; the class only ticks it.
 */
import type { Logger } from 'pino';
import { SCRUB_FREQUENCIES, sectionDefaults } from '../config/settings';
import { sectionSettings } from '../config/values';
import { DfsError } from '../errors';
import type { JobRow } from '../meta/records';
import type { MetaStore } from '../meta/store';
import type { Engine } from './engine';
import { intensityRate, type IntensitySetting, type ScrubParams } from './scrub-params';

export const FREQUENCIES = SCRUB_FREQUENCIES;
export type Frequency = (typeof FREQUENCIES)[number];

export interface ScrubSchedule {
  frequency: Frequency;
  intensity: IntensitySetting;
  /** Background passes repair what they find on the spot. */
  autoRepair: boolean;
  /** When the schedule was last set (null: never, the defaults apply). */
  updatedMs: number | null;
}

export const DEFAULT_SCHEDULE: ScrubSchedule = { ...(sectionDefaults('scrub') as unknown as Omit<ScrubSchedule, 'updatedMs'>), updatedMs: null };

export interface SchedulerTiming {
  nightlyPeriodMs: number;
  continuousGapMs: number;
  retryAfterFailureMs: number;
}

export const DEFAULT_TIMING: SchedulerTiming = {
  nightlyPeriodMs: 24 * 3600 * 1000,
  continuousGapMs: 60 * 1000,
  retryAfterFailureMs: 3600 * 1000,
};

export function checkFrequency(v: unknown): Frequency {
  if (typeof v === 'string' && (FREQUENCIES as readonly string[]).includes(v)) return v as Frequency;
  throw new DfsError('EINVAL', `frequency ${JSON.stringify(v)} is not one of ${FREQUENCIES.join(', ')}`);
}

/** The stored schedule (defaults for anything missing or unreadable, as every setting). */
export function readSchedule(meta: MetaStore): ScrubSchedule {
  const raw = meta.getConfig<Partial<ScrubSchedule>>('scrub');
  const updatedMs = typeof raw?.updatedMs === 'number' ? raw.updatedMs : null;
  return { ...sectionSettings<Omit<ScrubSchedule, 'updatedMs'>>(meta, 'scrub'), updatedMs };
}

export interface ScheduleDecision {
  due: boolean;
  /** When the next background pass starts (null: not by itself — manual, held, or one is active). */
  nextDueMs: number | null;
  /** A background pass was stopped by the operator and the schedule waits for `scrub-daemon start`. */
  held: boolean;
  reason: string;
}

const ACTIVE = new Set(['queued', 'running', 'paused']);

/** Whether a background pass should start now, given the schedule and every scrub job. */
export function decide(schedule: ScrubSchedule, scrubJobs: JobRow[], nowMs: number, timing: SchedulerTiming = DEFAULT_TIMING): ScheduleDecision {
  const active = scrubJobs.find((j) => ACTIVE.has(j.state));
  if (active) return { due: false, nextDueMs: null, held: false, reason: `scrub job ${active.id} is ${active.state}` };
  if (schedule.frequency === 'manual') return { due: false, nextDueMs: null, held: false, reason: 'the schedule is manual' };
  const ended = scrubJobs.filter((j) => j.finishedMs !== null).sort((a, b) => b.finishedMs! - a.finishedMs! || b.id - a.id);
  const lastBackground = ended.find((j) => (j.params as ScrubParams).background);
  if (lastBackground?.state === 'cancelled' && (schedule.updatedMs ?? 0) < lastBackground.finishedMs!) {
    return { due: false, nextDueMs: null, held: true, reason: `background scrub job ${lastBackground.id} was stopped; \`scrub-daemon start\` resumes the schedule` };
  }
  const lastDone = ended.find((j) => j.state === 'done');
  const after = schedule.frequency === 'nightly' ? timing.nightlyPeriodMs : timing.continuousGapMs;
  let next = lastDone ? lastDone.finishedMs! + after : nowMs;
  let reason = lastDone ? `${schedule.frequency}: the last scrub (job ${lastDone.id}) finished at ${new Date(lastDone.finishedMs!).toISOString()}` : `${schedule.frequency}: no scrub has finished yet`;
  if (lastBackground?.state === 'failed' && (schedule.updatedMs ?? 0) < lastBackground.finishedMs!) {
    next = Math.max(next, lastBackground.finishedMs! + timing.retryAfterFailureMs);
    reason = `background scrub job ${lastBackground.id} failed (${lastBackground.error ?? 'no message'}); retrying after a pause`;
  }
  return { due: nowMs >= next, nextDueMs: next, held: false, reason };
}

/** Submit a background scrub with the given (or the schedule's) intensity and repair setting. */
export function startBackgroundScrub(engine: Engine, opts: { intensity: IntensitySetting; repair: boolean; reason: string }): number {
  const params: ScrubParams = { background: true, intensity: opts.intensity, repair: opts.repair, rateBytesPerSec: intensityRate(opts.intensity), reason: opts.reason };
  return engine.jobs.submit('scrub', params as Record<string, unknown>);
}

export interface SchedulerOptions extends Partial<SchedulerTiming> {
  /** The clock (tests move it). */
  now?: () => number;
  /** How often the schedule is looked at. */
  tickMs?: number;
}

const running = new WeakMap<Engine, ScrubScheduler>();

export class ScrubScheduler {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly now: () => number;
  private readonly timing: SchedulerTiming;

  constructor(private readonly engine: Engine, private readonly log: Logger, opts: SchedulerOptions = {}) {
    this.now = opts.now ?? Date.now;
    this.timing = { ...DEFAULT_TIMING, ...Object.fromEntries(Object.entries(opts).filter(([k, v]) => k in DEFAULT_TIMING && v !== undefined)) };
  }

  /** Start following the pool's schedule (the coordinator calls this once it runs jobs). */
  static start(engine: Engine, log: Logger, opts?: SchedulerOptions): ScrubScheduler {
    running.get(engine)?.stop();
    const s = new ScrubScheduler(engine, log, opts);
    running.set(engine, s);
    s.timer = setInterval(() => s.tick(), opts?.tickMs ?? 2000);
    s.timer.unref();
    setImmediate(() => s.tick());
    return s;
  }

  /** The scheduler running for this engine, if any. */
  static of(engine: Engine): ScrubScheduler | undefined {
    return running.get(engine);
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
    this.timer = undefined;
    if (running.get(this.engine) === this) running.delete(this.engine);
  }

  /** Look at the schedule once; returns the id of the job it started, if it started one. */
  tick(): number | undefined {
    if (this.stopped) return undefined;
    try {
      const schedule = readSchedule(this.engine.meta);
      const d = decide(schedule, this.engine.meta.jobs().filter((j) => j.kind === 'scrub'), this.now(), this.timing);
      if (!d.due) return undefined;
      const id = startBackgroundScrub(this.engine, { intensity: schedule.intensity, repair: schedule.autoRepair, reason: `schedule: ${schedule.frequency}` });
      this.log.info({ job: id, frequency: schedule.frequency, intensity: schedule.intensity, autoRepair: schedule.autoRepair, why: d.reason }, 'background scrub started');
      return id;
    } catch (err) {
      this.log.error({ err: (err as Error).message }, 'scrub schedule check failed');
      return undefined;
    }
  }
}
