/**
 * `scrub-schedule`: show or set the background scrub schedule a coordinator follows
 * (engine/scrub-scheduler.ts). Fields not given keep their stored values; with none the
 * schedule is only shown; with `dryRun` the result is shown and nothing is stored. A new
 * intensity also applies at once to a background scrub that is running.
 */
import { checkIntensity, intensityRate, type ScrubParams } from '../../engine/scrub-params';
import { checkFrequency, decide, readSchedule, type ScheduleDecision, type ScrubSchedule } from '../../engine/scrub-scheduler';
import { DfsError } from '../../errors';
import { bool } from '../args';
import type { AdminOp } from '../context';

export interface ScrubScheduleArgs {
  frequency?: string;
  intensity?: string | number;
  autoRepair?: boolean;
  dryRun?: boolean;
}

export interface ScrubScheduleData {
  pool: string;
  schedule: ScrubSchedule;
  previous: ScrubSchedule;
  /** The schedule was written (false: only shown, or a dry run). */
  stored: boolean;
  dryRun: boolean;
  next: ScheduleDecision;
  /** The running background scrub whose rate the new intensity changed. */
  appliedToJob: number | null;
}

export const scrubSchedule: AdminOp<ScrubScheduleArgs, ScrubScheduleData> = async (engine, args) => {
  const a = args as unknown as Record<string, unknown>;
  const given = (k: string): boolean => a[k] !== undefined && a[k] !== null;
  const dryRun = bool('scrub-schedule', args, 'dryRun');
  if (given('autoRepair') && typeof a.autoRepair !== 'boolean') throw new DfsError('EINVAL', 'scrub-schedule: argument "autoRepair" must be true or false');
  const previous = readSchedule(engine.meta);
  const schedule: ScrubSchedule = {
    frequency: given('frequency') ? checkFrequency(a.frequency) : previous.frequency,
    intensity: given('intensity') ? checkIntensity(a.intensity, 'scrub-schedule: intensity') : previous.intensity,
    autoRepair: given('autoRepair') ? (a.autoRepair as boolean) : previous.autoRepair,
    updatedMs: previous.updatedMs,
  };
  const changing = given('frequency') || given('intensity') || given('autoRepair');
  let appliedToJob: number | null = null;
  if (changing && !dryRun) {
    schedule.updatedMs = Date.now();
    engine.meta.transact((tx) => tx.setConfig('scrub', schedule));
    const active = engine.jobs.active('scrub');
    if (active && (active.params as ScrubParams).background && given('intensity')) {
      engine.jobs.setRate(active.id, intensityRate(schedule.intensity), { intensity: schedule.intensity });
      appliedToJob = active.id;
    }
  }
  const next = decide(schedule, engine.meta.jobs().filter((j) => j.kind === 'scrub'), Date.now());
  return { pool: engine.pool.dir, schedule, previous, stored: changing && !dryRun, dryRun, next, appliedToJob };
};
