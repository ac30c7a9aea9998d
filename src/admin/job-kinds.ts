/**
 * Job kinds defined above engine/ (whose own are engine/job-kinds.ts): fs/'s (receive) and backup/'s; every process that
 * opens a pool for admin operations — a local run (client.ts) and a coordinator — passes
 * them to openEngine, so a job of these kinds runs and resumes wherever the pool is held.
 */
import type { MoreJobKinds } from '../engine/open';
import { FS_JOB_KINDS } from '../fs/job-kinds';
import { backupJobKind } from '../backup/backup-job';
import { poolRestoreJobKind } from '../backup/restore-pool';

export const ADMIN_JOB_KINDS: MoreJobKinds = {
  ...FS_JOB_KINDS,
  backup: backupJobKind,
  'backup-restore': poolRestoreJobKind,
};
