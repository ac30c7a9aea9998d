/**
 * `upgrade`: move the pool to the current format (the `upgrade` job, engine/upgrade.ts),
 * waiting for the job to end (its work is one checkpoint per disk). `dryRun` lists what
 * would change and changes nothing. Joins (resumes) an upgrade left unfinished, e.g. by a
 * SIGKILL. A job that rolled back or failed is this operation's error (EJOBFAILED unless
 * the cause has a code of its own; ECANCELED when cancelled), carrying the plan, the state and the job.
 */
import type { JobView } from '../../engine/jobs';
import { upgradePlan, upgradeProgress, upgradeStateOf, type UpgradePlan, type UpgradeState } from '../../engine/upgrade';
import { DfsError } from '../../errors';
import { bool } from '../args';
import type { AdminOp } from '../context';
import { runJob } from '../job-op';

export interface UpgradeArgs {
  dryRun?: boolean;
}

export interface UpgradeData {
  pool: string;
  dryRun: boolean;
  plan: UpgradePlan;
  /** The upgrade's state: not-started (dry run of an old pool), in-progress, completed, rolled-back, failed. */
  state: UpgradeState;
  /** The job that ran (null: a dry run, or nothing to do). */
  job: JobView | null;
}

export const upgrade: AdminOp<UpgradeArgs, UpgradeData> = async (engine, args, ctx) => {
  const dryRun = bool('upgrade', args, 'dryRun');
  const pool = engine.pool.dir;
  const unfinished = engine.jobs.active('upgrade');
  const plan = upgradePlan(engine.pool);
  if (dryRun) {
    const state: UpgradeState = unfinished ? upgradeStateOf(unfinished.progress) : plan.upToDate ? 'completed' : 'not-started';
    return { pool, dryRun, plan, state, job: unfinished ? engine.jobs.view(unfinished) : null };
  }
  if (!unfinished && plan.upToDate) return { pool, dryRun, plan, state: 'completed', job: null };
  const id = unfinished?.id ?? engine.jobs.submit('upgrade', {}, upgradeProgress(), ctx.reqId);
  const { job } = await runJob(engine, ctx, id, true, 'upgrade');
  const state = upgradeStateOf(job.progress);
  const data: UpgradeData = { pool, dryRun, plan, state, job };
  if (job.state === 'cancelled') {
    throw new DfsError('ECANCELED', `upgrade job ${job.id} was cancelled before its final commit and ${state === 'rolled-back' ? 'rolled back' : `is ${state}`}: `
      + `the pool is as it was (format ${engine.pool.superblock.format}); run \`dynamicfs upgrade ${pool}\` to start again`, pool, { upgrade: data });
  }
  if (job.state === 'queued' || job.state === 'paused') {
    // The coordinator stopped under it (or it was paused): not a failure, and not over.
    throw new DfsError('EINTERRUPTED', `upgrade job ${job.id} is ${job.state} (upgrade ${state}): it runs again when a coordinator starts, `
      + `or with \`dynamicfs upgrade ${pool}\``, pool, { upgrade: data });
  }
  if (job.state !== 'done') {
    throw new DfsError('EJOBFAILED', job.error ?? `upgrade job ${job.id} is ${job.state}`, pool, { upgrade: data });
  }
  return data;
};
