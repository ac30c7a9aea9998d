/**
 * `gc`: remove fragments no metadata references and stale temp files older than
 * `minAgeSeconds` (see engine/gc.ts). With a coordinator running, writes are in flight
 * in the same process; the age limit is what keeps their fragments safe.
 */
import { collectGarbage, gcMinAgeSeconds, type GcResult } from '../../engine/gc';
import { bool } from '../args';
import { DfsError } from '../../errors';
import type { AdminOp } from '../context';

export interface GcArgs {
  /** Default: the pool's gc.minAgeSeconds. */
  minAgeSeconds?: number;
  dryRun?: boolean;
}

export type GcData = GcResult;

export const gc: AdminOp<GcArgs, GcData> = async (engine, args) => {
  const minAge = args.minAgeSeconds ?? gcMinAgeSeconds(engine.meta);
  if (typeof minAge !== 'number' || !Number.isFinite(minAge) || minAge < 0) {
    throw new DfsError('EINVAL', `--min-age ${String(minAge)}: give a number of seconds, 0 or more`);
  }
  return collectGarbage(engine, { minAgeSeconds: minAge, dryRun: bool('gc', args, 'dryRun') });
};
