/** `backup list`: the repository's backups from their state files, and its restores and verifies (no lock taken: it only reads). */
import * as path from 'node:path';
import { listStates, type BackupRecord } from './backup-state';
import { ObjectIndex } from './object-index';
import { Repository, type RepoConfig } from './repo';
import { listJobs, type RepoJob } from './repo-jobs';

export interface BackupList {
  repo: string;
  config: RepoConfig;
  backups: BackupRecord[];
  /** Restores and verifies not completed (in progress, or failed). */
  jobs: RepoJob[];
  /** State files that fail their checksum. */
  unreadable: string[];
  /** What the index holds (null when it cannot be read now: the next writer rebuilds it). */
  stored: { packs: number; objects: number; bytes: number; packBytes: number } | null;
}

export function listBackups(dir: string): BackupList {
  const config = Repository.readConfig(dir);
  const { backups, unreadable } = listStates(path.join(dir, 'backups'));
  const index = ObjectIndex.openReadOnly(path.join(dir, 'index.db'));
  let stored: BackupList['stored'] = null;
  try {
    stored = index?.totals() ?? null;
  } catch {
    stored = null;
  } finally {
    index?.close();
  }
  return { repo: dir, config, backups, jobs: listJobs(path.join(dir, 'jobs')).filter((j) => j.state !== 'completed'), unreadable, stored };
}
