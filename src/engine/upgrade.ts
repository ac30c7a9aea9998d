/**
 * Upgrading a pool's format (features.ts): the plan (what `upgrade --dry-run` lists) and
 * the persistent `upgrade` job that carries it out.
 *
 * The job's one-time work is the metadata copies: a pool that did not keep them (format 1
 * made before them) gets a fresh checkpoint of its metadata on every disk, each head
 * already carrying the new format. Its final commit is one durable rename of pool.json
 * recording the current format and every known feature (metadata-copies active once a
 * disk holds a copy); from then on the pool uses packs and the intent log too. Until that
 * commit the pool is in its old format: a failure before it rolls back (the copies
 * written are removed, or, on a pool that kept copies already, rewritten with the old
 * superblock) and pool.json is untouched; a SIGKILL leaves the job running, and the next
 * coordinator (or `upgrade` run offline) runs it again from the start: every step
 * is idempotent. In a coordinator the job's in-progress state is committed (a group
 * commit) before any disk is written, so a coordinator killed at any point finds the job
 * when it starts again and resumes it that way.
 *
 * Cancelled (`jobs --cancel`) before the final commit it rolls back as after a failure,
 * and ends cancelled (state rolled-back); cancelled while not running (queued, or left by
 * a killed process) it is run to roll back. From the final commit on a cancel is refused.
 *
 * The upgrade's own state lives in the job's progress (`progress.upgrade`): not-started,
 * in-progress, completed, rolled-back, failed (failed: after the commit, or the rollback
 * itself failed).
 */
import { DfsError, toDfsError } from '../errors';
import { failPoint, holdPointAsync } from '../log/fault-points';
import { FEATURES, POOL_FORMAT, type FeatureName, type FeatureState, type RecordedState } from '../pool/features';
import type { HeadSuperblock } from '../pool/meta-format';
import type { Pool } from '../pool/pool';
import type { EngineServices } from './context';
import { crashPoint } from './crash-points';
import { JobInterrupted, reqIdOf, type JobContext, type JobKind, type JobProgress } from './jobs';

export type UpgradeState = 'not-started' | 'in-progress' | 'completed' | 'rolled-back' | 'failed';

export interface UpgradePlan {
  from: { format: number; features: Record<string, FeatureState> };
  to: { format: number; features: Record<string, RecordedState> };
  /** Known features the pool does not use yet, which the upgrade enables. */
  enable: FeatureName[];
  /** The one-time work, one line per step, in order. */
  work: string[];
  /** Nothing to do: the pool is at the current format with every known feature. */
  upToDate: boolean;
}

/** What `upgrade` would change on `pool` now (changes nothing). */
export function upgradePlan(pool: Pool): UpgradePlan {
  const sb = pool.superblock;
  const from: Record<string, FeatureState> = {};
  for (const f of FEATURES) from[f.name] = pool.feature(f.name);
  for (const [name, state] of Object.entries(sb.features)) from[name] ??= state;
  const enable = FEATURES.filter((f) => from[f.name] === 'disabled').map((f) => f.name);
  const disks = pool.disks().length;
  const to: Record<string, RecordedState> = {};
  for (const [name, state] of Object.entries(from)) if (state !== 'disabled') to[name] = state;
  for (const name of enable) to[name] = 'enabled';
  // The copies written by the upgrade make the feature active at its commit.
  if (disks > 0) to['metadata-copies'] = 'active';
  const upToDate = sb.format === POOL_FORMAT && enable.length === 0;
  const work: string[] = [];
  if (!upToDate) {
    if (disks > 0) {
      work.push(enable.includes('metadata-copies')
        ? `write a checkpoint of the metadata (generation ${pool.meta.generation()}) to each of the ${disks} disks (DISK/meta/)`
        : `rewrite the metadata copy on each of the ${disks} disks with a head recording format ${POOL_FORMAT}`);
    }
    work.push(`record format ${POOL_FORMAT} and the features (${Object.entries(to).map(([n, s]) => `${n} ${s}`).join(', ')}) in pool.json: the final commit`);
  }
  return { from: { format: sb.format, features: from }, to: { format: POOL_FORMAT, features: to }, enable, work, upToDate };
}

/** The upgrade's state as its job row says (a job not run yet is not-started). */
export function upgradeStateOf(progress: Record<string, unknown>): UpgradeState {
  return (progress.upgrade as UpgradeState | undefined) ?? 'not-started';
}

export function upgradeProgress(): JobProgress {
  return { extentsDone: 0, extentsTotal: 0, bytesDone: 0, bytesTotal: 0, upgrade: 'not-started', disksDone: 0, disksTotal: 0 };
}

/** Why an upgrade can no longer be cancelled: pool.json records the new format. */
function committedWhy(pool: Pool, running: boolean): string {
  return `its final commit is made (pool.json records format ${POOL_FORMAT})`
    + (running ? '; it finishes by itself' : `; run \`dynamicfs upgrade ${pool.dir}\` to finish it`);
}

async function upgradeJob(engine: EngineServices, ctx: JobContext): Promise<void> {
  const pool = engine.pool;
  const p = ctx.progress;
  const save = (state: UpgradeState): void => {
    p.upgrade = state;
    engine.meta.transact((tx) => ctx.checkpoint(tx));
  };
  const plan = upgradePlan(pool);
  if (plan.upToDate) {
    // A run that committed and was killed before it said so: done.
    ctx.refuseCancel(committedWhy(pool, true));
    save('completed');
    return;
  }
  // A run that rolled back and was killed before its end was recorded ends as it did, not as a new attempt.
  if (upgradeStateOf(p) === 'rolled-back') {
    throw p.rollbackCause === CANCELLED ? new JobInterrupted('cancel') : new DfsError('EJOBFAILED', String(p.rollbackCause ?? 'the upgrade rolled back'));
  }
  const keptCopies = pool.copies.keeping;
  let committed = false;
  try {
    await ctx.step();
    save('in-progress');
    // Durable before any disk is written (in a coordinator the save sits in the open group until then).
    await engine.txg.commit('upgrade');
    const disks = pool.disks();
    p.disksTotal = disks.length;
    if (disks.length > 0) {
      const target: HeadSuperblock = { format: POOL_FORMAT, uuid: pool.superblock.uuid, createdMs: pool.superblock.createdMs,
        policy: pool.superblock.policy, extentSize: pool.superblock.extentSize, inlineMax: pool.superblock.inlineMax, features: plan.to.features };
      const got = await pool.copies.start(target);
      const failed = [...got].filter(([, r]) => r.error !== null);
      if (failed.length > 0) {
        throw new DfsError('EMETACOPIES', `the metadata copy could not be written to ${failed.map(([id, r]) => `disk ${id} (${r.error})`).join(', ')}`);
      }
      p.disksDone = got.size;
      save('in-progress');
    }
    await holdPointAsync('upgrade-before-commit', () => ctx.step());
    // The last point a cancel applies: from here to the commit nothing awaits.
    await ctx.step();
    crashPoint('upgrade-before-commit');
    failPoint('upgrade-before-commit');
    ctx.refuseCancel(committedWhy(pool, true));
    pool.commitFormat(plan.to.features);
    committed = true;
    pool.copies.endUpgrade();
    crashPoint('upgrade-after-commit');
    save('completed');
    await engine.txg.commit('upgrade').catch(() => undefined); // the next commit retries; the pool is upgraded either way
  } catch (err) {
    // A coordinator stopping: the job stays unfinished and runs again from the start when one starts.
    if (err instanceof JobInterrupted && err.reason === 'stop') throw err;
    if (committed) {
      p.upgrade = 'failed';
      throw err;
    }
    const cause = err instanceof JobInterrupted ? CANCELLED : toDfsError(err).message;
    // A run cancelled before it began has nothing to undo.
    if (upgradeStateOf(p) === 'in-progress') {
      await rollBack(pool, keptCopies).catch((rb: unknown) => {
        p.upgrade = 'failed';
        throw new DfsError('EJOBFAILED', `upgrade ${cause === CANCELLED ? 'cancelled' : `failed (${cause})`} before its final commit and its rollback `
          + `failed (${toDfsError(rb).message}); pool.json still records format ${pool.superblock.format}: run \`dynamicfs upgrade\` again`);
      });
    }
    p.rollbackCause = cause;
    save('rolled-back');
    await engine.txg.commit('upgrade').catch(() => undefined);
    engine.pool.events.record({ kind: 'job', subject: `job ${ctx.id}`, reqId: reqIdOf(ctx.params),
      message: `upgrade job ${ctx.id} rolled back before its final commit (${cause}): the pool is as it was, pool.json records format ${pool.superblock.format}`,
      details: { job: ctx.id, jobKind: 'upgrade', upgrade: 'rolled-back', cause } });
    if (err instanceof JobInterrupted) throw err;
    const e = toDfsError(err);
    throw new DfsError(e.code, `upgrade rolled back before its final commit: ${e.message}; the pool is as it was (format ${pool.superblock.format}); `
      + 'fix the cause and run `dynamicfs upgrade` again', e.path);
  }
}

/** What a rollback records as its cause when the job was cancelled. */
const CANCELLED = 'cancelled';

/** The upgrade job: cancelled, it undoes its work (run to do so when not running); after its final commit it refuses. */
export const upgradeKind: JobKind = {
  run: upgradeJob,
  undoesOnCancel: true,
  cancelRefused: (engine) => (upgradePlan(engine.pool).upToDate ? committedWhy(engine.pool, false) : undefined),
};

/** Undo the work before the commit: the copies the upgrade wrote go (or, kept before, get heads of the old format again). */
async function rollBack(pool: Pool, keptCopies: boolean): Promise<void> {
  if (!keptCopies) {
    await pool.copies.stop();
    return;
  }
  pool.copies.endUpgrade();
  const got = await pool.copies.renew(pool.disks().map((d) => d.id));
  const failed = [...got].filter(([, r]) => r.error !== null);
  if (failed.length > 0) throw new DfsError('EMETACOPIES', `disk ${failed[0]![0]}: ${failed[0]![1].error}`);
}
