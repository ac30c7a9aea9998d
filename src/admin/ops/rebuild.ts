/**
 * `rebuild`: restore full redundancy now (a coordinator also does it by itself). Joins
 * the rebuild already under way, if any.
 */
import { bool } from '../args';
import type { AdminOp } from '../context';
import { runJob, type JobOutcome } from '../job-op';

export interface RebuildArgs {
  wait?: boolean;
}

export const rebuild: AdminOp<RebuildArgs, JobOutcome> = async (engine, args, ctx) => {
  const wait = bool('rebuild', args, 'wait');
  const id = engine.jobs.active('rebuild')?.id ?? engine.jobs.submit('rebuild', { reason: 'requested by the operator' });
  return runJob(engine, ctx, id, wait, 'rebuild');
};
