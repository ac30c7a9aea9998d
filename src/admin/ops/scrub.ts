/**
 * `scrub`: read and verify every fragment of every extent now, and wait for the result.
 *
 * Without a coordinator the scrub job runs in this process to its end (an unfinished
 * foreground scrub with the same options, left by an interrupted run, is resumed from its
 * cursor). Through a coordinator the job is submitted there and the request waits for
 * it; a scrub already active there (the background one) is EBUSY rather than queued
 * behind it for hours.
 *
 * The data is the job's report either way; whether damage remains is `clean`, and the
 * CLI turns remaining damage into EFINDINGS.
 */
import { runJob } from '../job-op';
import { checkIntensity, intensityRate, type IntensitySetting, type ScrubParams } from '../../engine/scrub-params';
import { scrubCoverage, scrubReport, type ScrubCoverage, type ScrubReport } from '../../engine/scrub-report';
import { DfsError } from '../../errors';
import { bool } from '../args';
import type { AdminOp } from '../context';

export interface ScrubArgs {
  /** Repair each damaged extent on the spot. */
  repair?: boolean;
  /** Report only; change nothing. */
  dryRun?: boolean;
  /** I/O rate limit; default high (unlimited): a foreground scrub is wanted now. */
  intensity?: IntensitySetting;
}

export interface ScrubData extends ScrubReport {
  pool: string;
  /** An interrupted foreground scrub was picked up from its cursor. */
  resumed: boolean;
  /** No damage remains (none found, or all of it repaired). */
  clean: boolean;
  coverage: ScrubCoverage;
}

export const scrub: AdminOp<ScrubArgs, ScrubData> = async (engine, args, ctx) => {
  const repair = bool('scrub', args, 'repair');
  const dryRun = bool('scrub', args, 'dryRun');
  const raw = (args as Record<string, unknown>).intensity;
  const intensity = raw === undefined || raw === null ? 'high' : checkIntensity(raw, 'scrub: intensity');
  const params: ScrubParams = { repair, dryRun, intensity, rateBytesPerSec: intensityRate(intensity), reason: 'requested by the operator' };
  const active = engine.jobs.active('scrub');
  let id: number | undefined;
  let resumed = false;
  if (engine.jobs.background && active) {
    const what = (active.params as ScrubParams).background ? 'the background scrub' : 'a scrub someone else started';
    throw new DfsError('EBUSY', `scrub job ${active.id} (${what}) is ${active.state}; wait for it (\`dynamicfs jobs ${engine.pool.dir}\`) `
      + `or stop it (\`dynamicfs scrub-daemon ${engine.pool.dir} stop\`), then run this again`, undefined, { job: active.id });
  }
  if (!engine.jobs.background && active && active.state !== 'paused') {
    const p = active.params as ScrubParams;
    if (!p.background && !!p.repair === repair && !!p.dryRun === dryRun) {
      id = active.id;
      resumed = true;
    }
  }
  id ??= engine.jobs.submit('scrub', params as Record<string, unknown>, undefined, ctx.reqId);
  await runJob(engine, ctx, id, true, 'scrub');
  const row = engine.meta.getJob(id)!;
  const report = scrubReport(row);
  const done = `after ${report.extents.checked} of ${report.extents.total} extents`;
  if (row.state === 'cancelled') throw new DfsError('ECANCELED', `scrub job ${id} was cancelled ${done}`, undefined, { job: id });
  if (row.state === 'failed') throw new DfsError('EJOBFAILED', `scrub job ${id} failed ${done}: ${row.error ?? 'no message'}`, undefined, { job: id });
  if (row.state !== 'done') {
    throw new DfsError('EINTERRUPTED', `scrub job ${id} was interrupted ${done} (the coordinator is stopping); it resumes from there when the pool is served or scrubbed again`, undefined, { job: id });
  }
  return { pool: engine.pool.dir, ...report, resumed, clean: report.remaining === 0, coverage: scrubCoverage(engine) };
};
