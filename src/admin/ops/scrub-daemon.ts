/**
 * `scrub-daemon`: drive the background scrub of a served pool — start, stop, pause,
 * resume, set-intensity — and report it (status). The background scrub is an ordinary
 * `scrub` job in the coordinator's job runner ({ background: true }); intensity is its
 * I/O rate limit (JobRunner.setRate), applied at once to the running job.
 *
 * Only a coordinator runs jobs in the background, so without one every action fails with
 * ENOCOORDINATOR and says how to start one (or to scrub in the foreground).
 *
 * `scrubSection` is what `status` shows of scrubbing, offline too: the schedule, when the
 * next pass is due, coverage, the active scrub and the last one that ended.
 */
import type { Engine } from '../../engine/engine';
import type { JobView } from '../../engine/jobs';
import { checkIntensity, intensityRate, type IntensitySetting, type ScrubParams } from '../../engine/scrub-params';
import { lastEndedScrub, scrubCoverage, scrubReport, summarize, type ScrubCoverage, type ScrubReport, type ScrubSummary } from '../../engine/scrub-report';
import { decide, readSchedule, startBackgroundScrub, type ScheduleDecision, type ScrubSchedule } from '../../engine/scrub-scheduler';
import { DfsError } from '../../errors';
import type { JobRow } from '../../meta/records';
import { str } from '../args';
import type { AdminOp } from '../context';

export const DAEMON_ACTIONS = ['start', 'stop', 'status', 'pause', 'resume', 'set-intensity'] as const;
export type DaemonAction = (typeof DAEMON_ACTIONS)[number];

export interface ScrubDaemonArgs {
  action: DaemonAction;
  /** set-intensity: the new one; start: instead of the schedule's. */
  intensity?: IntensitySetting;
  /** start: repair on the spot (default: the schedule's auto-repair). */
  repair?: boolean;
}

/** A scrub job with its live figures (rate over the last seconds, ETA) and cursor. */
export interface ScrubJobInfo extends ScrubReport {
  rateBytesPerSec: number | null;
  etaSeconds: number | null;
  cursor: string;
}

export interface ScrubSection {
  schedule: ScrubSchedule;
  /** When the next background pass starts, and why (or why not). */
  next: ScheduleDecision;
  coverage: ScrubCoverage;
  /** The scrub job not yet ended (queued, running, paused), if any. */
  active: ScrubSummary | null;
  /** The most recent scrub job that ended. */
  last: ScrubSummary | null;
}

export interface ScrubDaemonData {
  pool: string;
  action: DaemonAction;
  /** Whether the action changed anything (stop with nothing running does not). */
  changed: boolean;
  message: string;
  schedule: ScrubSchedule;
  next: ScheduleDecision;
  coverage: ScrubCoverage & { oldestAgeSeconds: number | null };
  active: ScrubJobInfo | null;
  last: ScrubReport | null;
}

/** Scrubbing as `status` reports it (works offline: it reads only the store). */
export function scrubSection(engine: Engine, nowMs = Date.now()): ScrubSection {
  const schedule = readSchedule(engine.meta);
  const scrubs = engine.meta.jobs().filter((j) => j.kind === 'scrub');
  const active = engine.jobs.active('scrub');
  const last = lastEndedScrub(engine);
  return {
    schedule,
    next: decide(schedule, scrubs, nowMs),
    coverage: scrubCoverage(engine, nowMs),
    active: active ? summarize(scrubReport(live(engine, active))) : null,
    last: last ? summarize(scrubReport(last)) : null,
  };
}

/** The row with the runner's in-memory progress when the job runs in this process. */
function live(engine: Engine, row: JobRow): JobRow {
  return { ...row, progress: engine.jobs.view(row).progress };
}

function jobInfo(engine: Engine, row: JobRow): ScrubJobInfo {
  const v: JobView = engine.jobs.view(row);
  return { ...scrubReport({ ...row, progress: v.progress }), rateBytesPerSec: v.rateBytesPerSec, etaSeconds: v.etaSeconds,
    cursor: String((v.progress as { cursor?: string }).cursor ?? '') };
}

export const scrubDaemon: AdminOp<ScrubDaemonArgs, ScrubDaemonData> = async (engine, args) => {
  const action = str('scrub-daemon', args, 'action') as DaemonAction;
  if (!(DAEMON_ACTIONS as readonly string[]).includes(action)) {
    throw new DfsError('EINVAL', `scrub-daemon: action "${action}" is not one of ${DAEMON_ACTIONS.join(', ')}`);
  }
  const a = args as unknown as Record<string, unknown>;
  const intensity = a.intensity === undefined || a.intensity === null ? undefined : checkIntensity(a.intensity, 'scrub-daemon: intensity');
  if (a.repair !== undefined && a.repair !== null && typeof a.repair !== 'boolean') throw new DfsError('EINVAL', 'scrub-daemon: argument "repair" must be true or false');
  const pool = engine.pool.dir;
  if (!engine.jobs.background) {
    throw new DfsError('ENOCOORDINATOR', `no coordinator serves ${pool}, and the background scrub runs inside one: mount the pool `
      + `(\`dynamicfs mount ${pool} MOUNTPOINT\`) or serve it (\`dynamicfs serve ${pool}\`), or scrub in the foreground with \`dynamicfs scrub ${pool}\``, pool);
  }
  const schedule = readSchedule(engine.meta);
  let active = engine.jobs.active('scrub');
  const none = (what: string): DfsError => new DfsError('ENOENT', `no scrub is running in ${pool}, so there is nothing to ${what}; `
    + `start one with \`dynamicfs scrub-daemon ${pool} start\``);
  let changed = false;
  let message: string;
  switch (action) {
    case 'status':
      message = active ? `scrub job ${active.id} is ${active.state}` : 'no scrub is running';
      break;
    case 'start':
      if (active?.state === 'paused') {
        engine.jobs.resume(active.id);
        changed = true;
        message = `scrub job ${active.id} was paused; resumed it`;
      } else if (active) {
        message = `scrub job ${active.id} is already ${active.state}`;
      } else {
        const id = startBackgroundScrub(engine, { intensity: intensity ?? schedule.intensity, repair: typeof a.repair === 'boolean' ? a.repair : schedule.autoRepair,
          reason: 'scrub-daemon start' });
        changed = true;
        message = `started background scrub job ${id}`;
      }
      break;
    case 'stop':
      if (!active) {
        message = 'no scrub is running';
        break;
      }
      engine.jobs.cancel(active.id);
      await engine.jobs.wait(active.id);
      changed = true;
      message = `stopped scrub job ${active.id}${schedule.frequency === 'manual' ? '' : `; the ${schedule.frequency} schedule waits until \`scrub-daemon start\``}`;
      break;
    case 'pause':
      if (!active) throw none('pause');
      if (active.state === 'paused') {
        message = `scrub job ${active.id} is already paused`;
        break;
      }
      engine.jobs.pause(active.id);
      changed = true;
      message = `paused scrub job ${active.id}`;
      break;
    case 'resume':
      if (!active) throw none('resume');
      if (active.state !== 'paused') {
        message = `scrub job ${active.id} is ${active.state}, not paused`;
        break;
      }
      engine.jobs.resume(active.id);
      changed = true;
      message = `resumed scrub job ${active.id}`;
      break;
    case 'set-intensity': {
      if (intensity === undefined) throw new DfsError('EINVAL', 'scrub-daemon set-intensity: give low, medium, high or a rate in bytes per second');
      if (!active) throw none('set the intensity of');
      const was = (active.params as ScrubParams).intensity;
      engine.jobs.setRate(active.id, intensityRate(intensity), { intensity });
      changed = was !== intensity;
      message = `scrub job ${active.id} now runs at intensity ${String(intensity)}`;
      break;
    }
  }
  active = engine.jobs.active('scrub');
  const last = lastEndedScrub(engine);
  const now = Date.now();
  const coverage = scrubCoverage(engine, now);
  return {
    pool, action, changed, message,
    schedule: readSchedule(engine.meta),
    next: decide(readSchedule(engine.meta), engine.meta.jobs().filter((j) => j.kind === 'scrub'), now),
    coverage: { ...coverage, oldestAgeSeconds: coverage.oldestVerifiedMs ? Math.max(0, Math.round((now - coverage.oldestVerifiedMs) / 1000)) : null },
    active: active ? jobInfo(engine, active) : null,
    last: last ? scrubReport(last) : null,
  };
};
