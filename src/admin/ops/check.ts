/**
 * `check`: the pool's fsck (fs/check.ts): namespace invariants, extent records, and the
 * fragments against the disks; with `repair`, what is safe to fix is fixed. Through a
 * coordinator it runs there, so its uncommitted writes and open files are seen as such.
 *
 * The data is the report either way; the CLI turns remaining problems into ECHECK.
 */
import { gcMinAgeSeconds } from '../../engine/gc';
import { checkPool, type CheckReport } from '../../fs/check';
import { bool, num } from '../args';
import { progressOf, type AdminOp } from '../context';

export interface CheckArgs {
  repair?: boolean;
  /** Unreferenced fragments younger than this are reported, not removed; default: the pool's gc.minAgeSeconds. */
  minAgeSeconds?: number;
}

export interface CheckData extends CheckReport {
  pool: string;
  repair: boolean;
  /** No problem remains (none found, or all repaired). */
  clean: boolean;
}

export const check: AdminOp<CheckArgs, CheckData> = async (engine, args, ctx) => {
  const repair = bool('check', args, 'repair');
  const minAgeSeconds = args.minAgeSeconds === undefined || args.minAgeSeconds === null ? gcMinAgeSeconds(engine.meta) : num('check', args, 'minAgeSeconds');
  const report = await checkPool(engine, { repair, minAgeSeconds, ...(ctx.reqId === undefined ? {} : { reqId: ctx.reqId }), bar: (label, total) => progressOf(ctx, label, total) });
  return { pool: engine.pool.dir, repair, ...report, clean: report.remaining === 0 };
};
