/**
 * `backup-restore`: a backup (or one of its directories) restored into the pool at a new
 * path or an empty directory, as the job backup/restore-pool.ts runs. Through a
 * coordinator the job runs in the background (`wait` to wait for it); run here it runs
 * to its end. Objects that fail their hash leave holes, named (EDIGEST once it ends).
 */
import { DfsError } from '../../errors';
import { startPoolRestore } from '../../backup/restore-pool';
import type { DamagedFile } from '../../backup/restore-dir';
import { bool, localPath, optStr, str } from '../args';
import type { AdminOp } from '../context';
import { runJob, type JobOutcome } from '../job-op';

export interface BackupRestoreArgs {
  /** The repository directory (absolute). */
  repo: string;
  /** A backup id, or latest. */
  backup: string;
  /** A directory of the backup (default: its root). */
  path?: string;
  /** The pool path the tree becomes. */
  dest: string;
  wait?: boolean;
}

export interface BackupRestoreData extends JobOutcome {
  backup: string;
  dest: string;
  resumed: boolean;
}

export const backupRestore: AdminOp<BackupRestoreArgs, BackupRestoreData> = async (engine, args, ctx) => {
  const repo = localPath('backup-restore', args, 'repo');
  const dest = str('backup-restore', args, 'dest');
  const started = await startPoolRestore(engine, { repo, backup: str('backup-restore', args, 'backup'), path: optStr('backup-restore', args, 'path'), dest, reqId: ctx.reqId });
  const outcome = await runJob(engine, ctx, started.jobId, bool('backup-restore', args, 'wait'), 'restore');
  const dests = String(outcome.job.params.dest);
  if (outcome.finished && outcome.job.state === 'failed') {
    throw new DfsError('EJOBFAILED', `restore of backup ${started.backupId} into ${dests} failed (nothing was published): ${outcome.job.error ?? 'see `dynamicfs jobs`'}`, dests, { job: outcome.job.id });
  }
  const damaged = (outcome.job.progress.damaged ?? []) as DamagedFile[];
  if (outcome.finished && damaged.length > 0) {
    throw new DfsError('EDIGEST', `restore of backup ${started.backupId} into ${dests}: ${damaged.length} object(s) failed their BLAKE3 or are missing; their ranges are holes in: `
      + `${[...new Set(damaged.map((d) => d.path))].join(', ')} (everything else is restored)`, dests, { damaged, job: outcome.job.id });
  }
  return { ...outcome, backup: started.backupId, dest: dests, resumed: started.resumed };
};
