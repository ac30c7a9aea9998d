/**
 * The purge of a deleted snapshot's versions: the row versions and ended extents only it
 * saw (MetaStore.purgeVersions over the range its deletion returned), a batch per
 * transaction, each batch's fragments deleted once it is committed. The job is created in
 * the deletion's own transaction, so a crash leaves either the snapshot or the job; the
 * range is the cursor (a dropped version is not found again), so a resumed job goes on.
 */
import type { PurgeRange } from '../meta/store';
import type { EngineServices } from './context';
import { crashPoint } from './crash-points';
import type { JobContext } from './jobs';

/** Versions dropped per transaction. */
const BATCH = Number(process.env.DYNAMICFS_PURGE_BATCH ?? 2000);

export interface SnapshotPurgeParams {
  snapshot: string;
  range: PurgeRange;
}

export async function snapshotPurgeJob(engine: EngineServices, ctx: JobContext): Promise<void> {
  const { range } = ctx.params as unknown as SnapshotPurgeParams;
  const p = ctx.progress as JobContext['progress'] & { versionsDropped?: number };
  for (;;) {
    await ctx.step();
    const out = engine.meta.transact((tx) => {
      const r = tx.purgeVersions(range, BATCH);
      p.versionsDropped = (p.versionsDropped ?? 0) + r.versions;
      p.extentsDone += r.dropped.length;
      p.bytesDone += r.dropped.reduce((n, d) => n + d.fragments.length, 0);
      ctx.checkpoint(tx);
      return r;
    });
    crashPoint('snapshot-purge-batch');
    await engine.removeFragments(out.dropped);
    if (!out.more) break;
  }
  p.extentsTotal = p.extentsDone;
  p.bytesTotal = p.bytesDone;
  ctx.checkpoint();
}
