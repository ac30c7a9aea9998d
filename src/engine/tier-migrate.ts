/**
 * The tier migration job (`tier migrate`, or the coordinator's schedule,
 * tier-scheduler.ts): every extent idle for its policy's demoteAfter and not hot
 * (tier-intent.ts; heat from tier-access.ts by tier.classifier) moves to its background
 * tier, and with promotion on every hot extent (not idle) moves back to its foreground
 * tier; each re-encoded to the target tier's redundancy
 * (tier.<tier>.redundancy, else its file's policy). Per extent,
 * under its extent lock: read it (verified), write the new copy on the background tier
 * only (same extent id, new fragments on other disks), then in ONE transaction replace
 * its placement (if it is still the one read: a rewrite, delete or repair meanwhile
 * makes ours moot) and move the job's cursor; the old fragments are deleted only once
 * that is committed (in a transaction group: once the group is). So the extent always
 * has a full copy under the old policy, the new one, or both: a crash before the commit
 * leaves the old placement (the new fragments are orphans for gc), after it the new (the
 * old ones are). A restarted job resumes after its cursor.
 *
 * Rate-limited (--rate, else tier.migrateRate) and paused or cancelled at each extent,
 * like compact; its reads and writes are background I/O, and while foreground I/O runs a
 * limited migration slows to a quarter of its rate, as a scrub does (foreground-yield.ts).
 * An extent the target tier cannot take now (too few healthy disks, full) is skipped and
 * counted, never moved elsewhere. Each move is counted in the metrics, and the end of a
 * run that moved or skipped anything is a `tier` event.
 */
import type { DfsError } from '../errors';
import type { Extent, FragmentRef, Tier } from '../meta/records';
import type { Policy } from '../pool/policy';
import type { EngineServices } from './context';
import { crashArmed, crashPoint } from './crash-points';
import { readExtent } from './extent-reader';
import { writeExtent } from './extent-writer';
import { throttleYielding } from './foreground-yield';
import { reqIdOf, type JobContext, type JobProgress } from './jobs';
import { extentIntent, moveTarget, policySettings } from './tier-intent';
import { allocEncodeBuffer } from './work-pools';

type Engine = EngineServices;

export interface MigrateProgress extends JobProgress {
  /** The last extent looked at (hex); the resumed job goes on after it. */
  cursor: string;
  /** Extents moved down to their background tier, and up to their foreground tier. */
  moved: number;
  promoted: number;
  /** Extents due but not moved, and the last reasons why. */
  skipped: number;
  skippedWhy: string[];
}

const BATCH = 64;

export async function tierMigrateJob(engine: Engine, ctx: JobContext): Promise<void> {
  const p = ctx.progress as MigrateProgress;
  const settings = policySettings(engine);
  const present = engine.placement.tiersPresent();
  const tierOfDisk = new Map(engine.pool.disks().map((d) => [d.id, d.tier]));
  const started = Date.now();
  if (p.cursor === undefined) {
    // Counted once, when the job first runs: the extents due now and their bytes.
    p.cursor = '';
    p.moved = 0;
    p.promoted = 0;
    p.skipped = 0;
    p.skippedWhy = [];
    for (const batch of engine.meta.allExtentIds(1000)) {
      for (const id of batch) {
        const e = engine.meta.getExtent(id);
        if (!e || e.fragments.length === 0) continue;
        if (moveTarget(extentIntent(engine, e, settings, present, tierOfDisk, started)) === null) continue;
        p.extentsTotal++;
        p.bytesTotal += e.length;
      }
    }
    ctx.checkpoint();
  }
  for (;;) {
    const ids = engine.meta.extentIdsAfter(Buffer.from(p.cursor, 'hex'), BATCH);
    if (ids.length === 0) break;
    for (const id of ids) {
      await ctx.step();
      const e = engine.meta.getExtent(id);
      const intent = e && e.fragments.length > 0 ? extentIntent(engine, e, settings, present, tierOfDisk, Date.now()) : undefined;
      const to = intent ? moveTarget(intent) : null;
      if (!e || !intent || to === null) {
        p.cursor = id.toString('hex');
        continue;
      }
      await throttleYielding(ctx, engine.foreground, 2 * e.length);
      try {
        const target = engine.placement.tierPolicy(to, intent.policy);
        const moved = await engine.exclusiveOnExtent(id, () => moveExtent(engine, e, to, target, ctx, id));
        const direction = to === intent.foreground ? 'up' : 'down';
        if (moved) {
          if (direction === 'up') p.promoted++;
          else p.moved++;
          engine.metrics.tierMovedExtents.inc({ direction });
          engine.metrics.tierMovedBytes.inc({ direction }, e.length);
        }
      } catch (err) {
        p.skipped++;
        p.skippedWhy = [...p.skippedWhy, `extent ${id.toString('hex')}: ${(err as DfsError).code ?? 'EIO'}: ${(err as Error).message}`].slice(-10);
      }
      p.cursor = id.toString('hex'); // a moved extent's cursor is already durable with its placement
      p.extentsDone = Math.min(p.extentsTotal, p.extentsDone + 1);
      p.bytesDone = Math.min(p.bytesTotal, p.bytesDone + e.length);
    }
    ctx.checkpoint();
  }
  p.extentsDone = p.extentsTotal;
  p.bytesDone = p.bytesTotal;
  ctx.checkpoint();
  if (p.moved + p.promoted + p.skipped > 0) {
    engine.pool.events.record({ kind: 'tier', subject: `job ${ctx.id}`, reqId: reqIdOf(ctx.params),
      message: `tier migration (job ${ctx.id}, started by ${ctx.params.scheduled === true ? 'the schedule' : 'a request'}) moved ${p.moved} extents down, ${p.promoted} up, skipped ${p.skipped}`,
      details: { action: 'migrated', job: ctx.id, by: ctx.params.scheduled === true ? 'schedule' : 'request', moved: p.moved, promoted: p.promoted, skipped: p.skipped } });
  }
}

/** Move one extent's fragments to `tier` under `policy`; false when it changed meanwhile (nothing moved). */
async function moveExtent(engine: Engine, read: Extent, tier: Tier, policy: Policy, ctx: JobContext, id: Buffer): Promise<boolean> {
  const e = engine.meta.getExtent(id);
  if (!e || !samePlacement(e, read)) return false;
  // writeExtent would keep so small an extent inline; one with fragments is never this small (they are written larger).
  if (e.length <= engine.pool.superblock.inlineMax) return false;
  const bytes = await readExtent(engine, e, undefined, 'background');
  const buf = allocEncodeBuffer(e.length, policy.k, policy.m, policy.scheme === 'mirror');
  buf.set(bytes.subarray(0, e.length));
  let fresh: Extent;
  try {
    fresh = await writeExtent(engine, e.ino, e.offset, buf, e.length, policy, id, tier);
  } catch (err) {
    engine.releaseExtents([id]); // what it wrote of the new copy is unreferenced: gc's
    throw err;
  }
  let committed = false;
  try {
    crashPoint('migrate-before-commit');
    committed = engine.meta.transact((tx) => {
      const now = engine.meta.getExtent(id);
      if (!now || !samePlacement(now, e)) return false;
      tx.putExtent({ ...now, scheme: fresh.scheme, k: fresh.k, m: fresh.m, fragLen: fresh.fragLen, fragments: fresh.fragments });
      (ctx.progress as MigrateProgress).cursor = id.toString('hex');
      ctx.checkpoint(tx); // the cursor moves with the placement it covers
      return true;
    });
  } finally {
    engine.releaseExtents([id]);
  }
  if (crashArmed('migrate-after-commit')) await engine.txg.commit('crash-point');
  crashPoint('migrate-after-commit');
  if (!committed) {
    // Ours is moot; remove the new copy, except a fragment the current placement names (a repair could have put one there).
    const now = engine.meta.getExtent(id);
    await removeNow(engine, id, fresh.fragments.filter((w) => !now?.fragments.some((f) => f.diskId === w.diskId && f.index === w.index)));
    return false;
  }
  await engine.removeFragments([{ extentId: id, fragments: e.fragments }]);
  return true;
}

async function removeNow(engine: Engine, id: Buffer, fragments: FragmentRef[]): Promise<void> {
  await Promise.all(fragments.map((f) => engine.pool.store(f.diskId).remove(id, f.index).catch(() => undefined)));
}

function samePlacement(a: Extent, b: Extent): boolean {
  return a.scheme === b.scheme && a.k === b.k && a.m === b.m && a.fragments.length === b.fragments.length
    && a.fragments.every((f, i) => f.diskId === b.fragments[i]!.diskId && f.index === b.fragments[i]!.index && f.hash.equals(b.fragments[i]!.hash));
}
