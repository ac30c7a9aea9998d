/**
 * `tier migrate`: move every extent idle past its policy's demoteAfter (and not hot) to
 * its background tier, and, with promotion on, every hot one back to its foreground tier
 * (the tier migration job, engine/tier-migrate.ts), at --rate or else tier.migrateRate.
 * Joins the migration already under way, if any (the coordinator's schedule may have
 * started it).
 */
import { policySettings } from '../../engine/tier-intent';
import { bool, num } from '../args';
import type { AdminOp } from '../context';
import { runJob, type JobOutcome } from '../job-op';

export interface TierMigrateArgs {
  wait?: boolean;
  /** Bytes per second, 0 = unlimited (the default: the setting tier.migrateRate). */
  rateBytesPerSec?: number;
}

export const tierMigrate: AdminOp<TierMigrateArgs, JobOutcome> = async (engine, args, ctx) => {
  const wait = bool('tier-migrate', args, 'wait');
  const rate = args.rateBytesPerSec === undefined || args.rateBytesPerSec === null ? undefined : num('tier-migrate', args, 'rateBytesPerSec', 0);
  const joined = engine.jobs.active('tier-migrate')?.id;
  const id = joined ?? engine.jobs.submit('tier-migrate', { rateBytesPerSec: rate ?? policySettings(engine).migrateRate }, undefined, ctx.reqId);
  if (joined !== undefined && rate !== undefined) engine.jobs.setRate(joined, rate, {});
  return runJob(engine, ctx, id, wait, 'tier migrate');
};
