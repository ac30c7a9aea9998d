/**
 * `rebuild`: restore full redundancy now (a coordinator also does it by itself). Joins
 * the rebuild already under way, if any. `rateBytesPerSec` caps the job's I/O (reads
 * and writes) so a rebuild can run without starving the mount; given when joining a
 * running rebuild, it changes that job's rate.
 */
import { bool, num } from '../args';
import type { AdminOp } from '../context';
import { runJob, type JobOutcome } from '../job-op';

export interface RebuildArgs {
  wait?: boolean;
  /** Bytes per second, 0 = unlimited (the default). */
  rateBytesPerSec?: number;
}

export const rebuild: AdminOp<RebuildArgs, JobOutcome> = async (engine, args, ctx) => {
  const wait = bool('rebuild', args, 'wait');
  const rate = args.rateBytesPerSec === undefined || args.rateBytesPerSec === null ? undefined : num('rebuild', args, 'rateBytesPerSec', 0);
  const joined = engine.jobs.active('rebuild')?.id;
  const id = joined ?? engine.jobs.submit('rebuild', { reason: 'requested by the operator', ...(rate === undefined ? {} : { rateBytesPerSec: rate }) }, undefined, ctx.reqId);
  if (joined !== undefined && rate !== undefined) engine.jobs.setRate(joined, rate, {});
  return runJob(engine, ctx, id, wait, 'rebuild');
};
