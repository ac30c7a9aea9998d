/**
 * `drain`: mark a disk draining (no new fragments) and move every fragment off it, onto
 * other healthy disks; then `remove-disk` can take it out of the pool.
 */
import { DfsError } from '../../errors';
import { bool } from '../args';
import type { AdminOp } from '../context';
import { diskOf } from '../disk-arg';
import { runJob, type JobOutcome } from '../job-op';

export interface DrainArgs {
  disk: string;
  wait?: boolean;
}

export const drain: AdminOp<DrainArgs, JobOutcome> = async (engine, args, ctx) => {
  const d = diskOf(engine, 'drain', args.disk);
  const wait = bool('drain', args, 'wait');
  const running = engine.jobs.active('drain');
  if (running && !(running.params.evacuate as number[] | undefined)?.includes(d.id)) {
    throw new DfsError('EBUSY', `drain job ${running.id} is moving another disk; wait for it (\`dynamicfs jobs\`) before draining disk ${d.id}`);
  }
  if (d.state !== 'failed') engine.health.set(d.id, 'draining', 'operator', 'drain requested', ctx.reqId);
  const id = running?.id ?? engine.jobs.submit('drain', { reason: `drain disk ${d.id}`, evacuate: [d.id] }, undefined, ctx.reqId);
  return runJob(engine, ctx, id, wait, `drain disk ${d.id}`);
};
