/**
 * Job kinds defined above engine/ (whose own are engine/job-kinds.ts): every process that
 * opens a pool for admin operations — a local run (client.ts) and a coordinator — passes
 * them to openEngine, so a job of these kinds runs and resumes wherever the pool is held.
 */
import type { ExtraJobKinds } from '../engine/open';
import { backupJobKind } from '../backup/backup-job';
import { poolRestoreJobKind } from '../backup/restore-pool';

export const ADMIN_JOB_KINDS: ExtraJobKinds = {
  backup: backupJobKind,
  'backup-restore': poolRestoreJobKind,
};
