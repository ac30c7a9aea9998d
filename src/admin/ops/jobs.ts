/**
 * `jobs`: every long operation (rebuild, drain, scrub) with state, progress, rate and ETA;
 * pause, resume or cancel one. A cancel answers once the job has stopped (and, an upgrade,
 * rolled back), so the list shows it cancelled.
 */
import type { JobView } from '../../engine/jobs';
import { DfsError } from '../../errors';
import { num, optStr } from '../args';
import type { AdminOp } from '../context';

export interface JobsArgs {
  action?: 'pause' | 'resume' | 'cancel';
  id?: number;
}

export interface JobsData {
  pool: string;
  jobs: JobView[];
}

export const jobs: AdminOp<JobsArgs, JobsData> = async (engine, args) => {
  const action = optStr('jobs', args, 'action');
  if (action !== undefined) {
    const id = num('jobs', args, 'id', 1);
    if (action === 'pause') engine.jobs.pause(id);
    else if (action === 'resume') engine.jobs.resume(id);
    else if (action === 'cancel') {
      engine.jobs.cancel(id);
      await engine.jobs.wait(id);
    }
    else throw new DfsError('EINVAL', `jobs: action "${action}" is not one of pause, resume, cancel`);
  }
  return { pool: engine.pool.dir, jobs: engine.jobs.list() };
};
