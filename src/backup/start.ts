/**
 * `backup create`'s first half: the repository (made on first use), the snapshot (taken
 * when none is named), the parent (the previous backup of this pool for an incremental,
 * the last full for a differential), the backup's state recorded as in-progress and its
 * job queued. A backup of this repository left unfinished by a killed run is resumed
 * instead of starting another.
 */
import * as fs from 'node:fs';
import { DfsError } from '../errors';
import type { Engine } from '../engine/engine';
import { createSnapshot, snapshotNamed } from '../fs/snapshots';
import type { JobRow, Snapshot } from '../meta/records';
import { backupsDirOf, listStates, newBackupId, readState, usable, writeState, type BackupRecord } from './backup-state';
import type { BackupType } from './manifest-format';
import { Repository } from './repo';

export const BACKUP_TYPES: readonly BackupType[] = ['full', 'incremental', 'differential'];

export interface StartArgs {
  repo: string;
  type: BackupType;
  snapshot?: string;
  reqId?: string;
}

export interface Started {
  jobId: number;
  backupId: string;
  /** An interrupted backup resumed rather than a new one. */
  resumed: boolean;
  createdRepo: boolean;
  /** The snapshot this call took (none when one was named or the backup resumed). */
  snapshotTaken: string | null;
  /** Why the backup is of another type than asked (an incremental with nothing before it is a full), or null. */
  note: string | null;
}

const ACTIVE = new Set(['queued', 'running', 'paused']);

/** The unfinished backup job of this repository in the pool, if any. */
function activeJob(engine: Engine, repo: string): JobRow | undefined {
  return engine.meta.jobs().find((j) => j.kind === 'backup' && ACTIVE.has(j.state) && j.params.repo === repo);
}

/** The repository at `dir`, made when `dir` is new or empty. */
function repoAt(dir: string): boolean {
  if (Repository.exists(dir)) return false;
  if (fs.existsSync(dir) && (!fs.statSync(dir).isDirectory() || fs.readdirSync(dir).length > 0)) {
    throw new DfsError('ENOTREPO', `${dir} is not a backup repository and not empty; give a repository, or a new or empty directory to make one`, dir);
  }
  Repository.init(dir);
  return true;
}

function timeName(now: Date): string {
  return `backup-${now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15)}`;
}

/** A snapshot for the backup: the one named, or a new `backup-YYYYMMDD-HHMMSS`. */
async function snapshotFor(engine: Engine, name: string | undefined): Promise<{ snap: Snapshot; taken: boolean }> {
  if (name !== undefined) return { snap: snapshotNamed(engine.meta, name), taken: false };
  const base = timeName(new Date());
  let pick = base;
  for (let n = 2; engine.meta.getSnapshot(pick); n++) pick = `${base}-${n}`;
  return { snap: await createSnapshot(engine, pick), taken: true };
}

/** Record a new backup (or find the interrupted one) and queue its job; the caller runs it. */
export async function startBackup(engine: Engine, args: StartArgs): Promise<Started> {
  const running = activeJob(engine, args.repo);
  if (running) {
    const id = String(running.params.backupId);
    const was = readState(backupsDirOf(args.repo), id);
    if (args.snapshot !== undefined && args.snapshot !== was.snapshot) {
      throw new DfsError('EBUSY', `backup ${id} of snapshot "${was.snapshot}" into ${args.repo} is unfinished (job ${running.id}); run \`dynamicfs backup create\` without --snapshot to resume it, or cancel it with \`dynamicfs jobs POOL --cancel ${running.id}\``);
    }
    return { jobId: running.id, backupId: id, resumed: true, createdRepo: false, snapshotTaken: null, note: null };
  }
  const createdRepo = repoAt(args.repo);
  const pool = engine.pool.superblock.uuid;
  const repo = await Repository.open(args.repo);
  try {
    const { backups } = listStates(repo.backupsDir);
    // A backup of this pool left in progress with no job to finish it (killed before its job was queued, or the job removed) failed.
    for (const b of backups) {
      if (b.state === 'in-progress' && b.pool === pool) writeState(repo.backupsDir, { ...b, state: 'failed', finishedMs: Date.now(), error: 'interrupted, and no job of the pool was left to resume it' });
    }
    const mine = backups.filter((b) => b.pool === pool && usable(b));
    const parent = args.type === 'incremental' ? mine[mine.length - 1] : args.type === 'differential' ? mine.filter((b) => b.type === 'full').pop() : undefined;
    let type = args.type;
    let note: string | null = null;
    if (type !== 'full' && !parent) {
      note = `no ${type === 'differential' ? 'full ' : ''}backup of this pool in the repository yet: this one is full`;
      type = 'full';
    }
    if (args.snapshot !== undefined) {
      const named = snapshotNamed(engine.meta, args.snapshot);
      if (parent && named.gen < parent.snapshotGen) {
        throw new DfsError('EINVAL', `snapshot "${named.name}" is older than "${parent.snapshot}" of the ${type} backup's parent ${parent.id}; name a newer snapshot or make a full backup`, named.name);
      }
    }
    const { snap, taken } = await snapshotFor(engine, args.snapshot);
    const now = Date.now();
    const rec: BackupRecord = {
      id: newBackupId(new Date(now)), type, parent: parent?.id ?? null, pool, poolDir: engine.pool.dir, snapshot: snap.name, snapshotGen: snap.gen,
      startedMs: now, finishedMs: null, state: 'in-progress', entries: 0, files: 0, dirs: 0, bytes: 0, newObjects: 0, newBytes: 0,
      verifiedMs: null, verifiedData: false, damagedObjects: 0, error: null, note,
    };
    writeState(repo.backupsDir, rec);
    repo.close();
    // The job opens the repository itself (in a coordinator it starts at once): the lock is free by now.
    const jobId = engine.jobs.submit('backup', { repo: args.repo, backupId: rec.id }, undefined, args.reqId);
    return { jobId, backupId: rec.id, resumed: false, createdRepo, snapshotTaken: taken ? snap.name : null, note };
  } finally {
    repo.close();
  }
}
