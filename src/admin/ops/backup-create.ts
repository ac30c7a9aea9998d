/**
 * `backup-create`: a backup of the pool into a repository (backup/start.ts records it and
 * queues its job; backup/backup-job.ts runs it). Through a coordinator the job runs in the
 * background (`wait` to wait for it); run here it runs to its end.
 */
import { DfsError } from '../../errors';
import { backupsDirOf, readState, type BackupRecord } from '../../backup/backup-state';
import { BACKUP_TYPES, startBackup } from '../../backup/start';
import type { BackupType } from '../../backup/manifest-format';
import { bool, localPath, optStr } from '../args';
import type { AdminOp } from '../context';
import { runJob, type JobOutcome } from '../job-op';

export interface BackupCreateArgs {
  /** The repository directory (absolute). */
  repo: string;
  type?: BackupType;
  /** The snapshot to back up; absent: take one now. */
  snapshot?: string;
  wait?: boolean;
}

export interface BackupCreateData extends JobOutcome {
  /** The backup as the repository records it once the job ended (or as it stands, running). */
  backup: BackupRecord;
  resumed: boolean;
  createdRepo: boolean;
  snapshotTaken: string | null;
}

export const backupCreate: AdminOp<BackupCreateArgs, BackupCreateData> = async (engine, args, ctx) => {
  const repo = localPath('backup-create', args, 'repo');
  const type = (optStr('backup-create', args, 'type') ?? 'incremental') as BackupType;
  if (!BACKUP_TYPES.includes(type)) throw new DfsError('EINVAL', `backup type "${type}": give full, incremental or differential`, type);
  const started = await startBackup(engine, { repo, type, snapshot: optStr('backup-create', args, 'snapshot'), reqId: ctx.reqId });
  const outcome = await runJob(engine, ctx, started.jobId, bool('backup-create', args, 'wait'), 'backup');
  const backup = readState(backupsDirOf(repo), started.backupId);
  if (outcome.finished && outcome.job.state === 'failed') {
    throw new DfsError('EJOBFAILED', `backup ${backup.id} failed: ${outcome.job.error ?? 'see `dynamicfs jobs`'}`, repo, { job: outcome.job.id, backup: backup.id });
  }
  return { ...outcome, backup, resumed: started.resumed, createdRepo: started.createdRepo, snapshotTaken: started.snapshotTaken };
};
