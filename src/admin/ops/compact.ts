/**
 * `compact`: rewrite packs left sparse by deleted or overwritten small files (the
 * compaction job, engine/compact.ts). Joins the compaction already under way, if any.
 */
import { DfsError } from '../../errors';
import { compactBelow } from '../../engine/compact';
import { bool, num } from '../args';
import type { AdminOp } from '../context';
import { runJob, type JobOutcome } from '../job-op';

export interface CompactArgs {
  wait?: boolean;
  /** Rewrite packs whose live fraction is at most this (0 to 1; default: the pool's compact.belowFraction). */
  below?: number;
  /** Bytes per second, 0 = unlimited (the default). */
  rateBytesPerSec?: number;
}

export const compact: AdminOp<CompactArgs, JobOutcome> = async (engine, args, ctx) => {
  const wait = bool('compact', args, 'wait');
  const below = args.below === undefined || args.below === null ? compactBelow(engine.meta) : num('compact', args, 'below', 0);
  if (below > 1) throw new DfsError('EINVAL', `compact: --below ${below} is a fraction of a pack's bytes; give a number from 0 to 1 (default: the pool's compact.belowFraction)`);
  const rate = args.rateBytesPerSec === undefined || args.rateBytesPerSec === null ? undefined : num('compact', args, 'rateBytesPerSec', 0);
  const joined = engine.jobs.active('compact')?.id;
  const id = joined ?? engine.jobs.submit('compact', { below, ...(rate === undefined ? {} : { rateBytesPerSec: rate }) }, undefined, ctx.reqId);
  if (joined !== undefined && rate !== undefined) engine.jobs.setRate(joined, rate, {});
  return runJob(engine, ctx, id, wait, 'compact');
};
