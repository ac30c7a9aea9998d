/**
 * The `backup` job: one backup of the pool into a repository (create.ts), as a persistent
 * job of the pool, so `jobs` shows its progress and ETA and a coordinator resumes it after
 * a restart. The repository holds the backup's state (in-progress until its manifest is
 * in place); the job's params name the repository and the backup. While it runs the
 * backup's snapshot is held, so it cannot be deleted under the reads.
 */
import { toDfsError } from '../errors';
import type { EngineServices } from '../engine/context';
import { JobInterrupted, type JobContext, type JobKind } from '../engine/jobs';
import { readState, writeState, type BackupRecord } from './backup-state';
import { writeBackup } from './create';
import { Repository } from './repo';

export interface BackupJobParams {
  repo: string;
  backupId: string;
}

function setHeld(engine: EngineServices, ctx: JobContext, name: string, held: boolean): void {
  const snap = engine.meta.getSnapshot(name);
  if (!snap || snap.held === held) return;
  engine.meta.transact((tx) => {
    tx.setSnapshotHeld(name, held);
    ctx.progress.heldSnapshot = held;
    ctx.checkpoint(tx);
  });
}

async function run(engine: EngineServices, ctx: JobContext): Promise<void> {
  const { repo: dir, backupId } = ctx.params as unknown as BackupJobParams;
  const repo = await Repository.open(dir);
  let rec: BackupRecord | undefined;
  let stopped = false;
  try {
    rec = readState(repo.backupsDir, backupId);
    ctx.progress.backupId = backupId;
    if (rec.state !== 'in-progress') return;
    await ctx.step();
    // Held by this job (not by the operator): released when the job ends.
    if (ctx.progress.heldSnapshot !== true && engine.meta.getSnapshot(rec.snapshot)?.held === false) setHeld(engine, ctx, rec.snapshot, true);
    const fig = await writeBackup(engine, repo, rec, {
      step: () => ctx.step(),
      progress: (f) => {
        Object.assign(ctx.progress, f);
        ctx.checkpoint();
      },
    });
    const { extentsDone: _e, extentsTotal: _t, bytesDone: _d, bytesTotal: _b, ...figures } = fig;
    rec = { ...rec, ...figures, note: figures.note ?? rec.note, state: 'completed', finishedMs: Date.now() };
    writeState(repo.backupsDir, rec);
  } catch (err) {
    if (err instanceof JobInterrupted && err.reason === 'stop') {
      // The coordinator is stopping: the job stays queued and the backup in progress, to resume.
      stopped = true;
      throw err;
    }
    if (rec?.state === 'in-progress') {
      const why = err instanceof JobInterrupted ? 'cancelled' : toDfsError(err).message;
      writeState(repo.backupsDir, { ...rec, state: 'failed', finishedMs: Date.now(), error: why });
    }
    throw err;
  } finally {
    try {
      if (!stopped && rec && ctx.progress.heldSnapshot === true) setHeld(engine, ctx, rec.snapshot, false);
    } finally {
      repo.close();
    }
  }
}

export const backupJobKind: JobKind = { run, undoesOnCancel: true, lane: 'backup' };
