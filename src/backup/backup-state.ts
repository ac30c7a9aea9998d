/**
 * REPO/backups/<id>.json: a backup's state and figures, a sealed JSON document rewritten
 * durably at each change (in-progress → completed | failed; completed ⇄ verified). The
 * manifest beside it is immutable once written; this is what changes. `backup list`
 * reads these alone.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { DfsError } from '../errors';
import { openJson, sealJson, writeFileDurable } from '../pool/durable-file';
import type { ManifestHeader } from './manifest-format';

export type BackupState = 'in-progress' | 'completed' | 'failed' | 'verified';

/** The manifest header's who, what and when (id, type, parent, pool, snapshot, start), then its state and figures. */
export interface BackupRecord extends Omit<ManifestHeader, 'format' | 'version'> {
  finishedMs: number | null;
  state: BackupState;
  /** Entries, files (regular, each inode once), directories, logical bytes of the files. */
  entries: number;
  files: number;
  dirs: number;
  bytes: number;
  /** Objects (and their bytes) this backup stored because the repository lacked them. */
  newObjects: number;
  newBytes: number;
  /** When the last verify that covered it passed; its damaged objects when the last one failed. */
  verifiedMs: number | null;
  /** Whether that verify re-read every object's bytes (--read-data), not only the structure. */
  verifiedData: boolean;
  damagedObjects: number;
  error: string | null;
  /** Why an incremental or differential walked the whole tree (its parent's snapshot gone, ...), or null. */
  note: string | null;
}

const FORMAT = 'dynamicfs-backup-state';
const ID = /^\d{8}-\d{6}-[0-9a-f]{4}$/;

/** A new backup id: the UTC time it started and 4 random hex digits, so ids sort by time. */
export function newBackupId(now = new Date()): string {
  const t = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${t}-${randomBytes(2).toString('hex')}`;
}

/** REPO/backups: the manifests and state files (what a reader that takes no lock reads). */
export function backupsDirOf(repo: string): string {
  return path.join(repo, 'backups');
}

export function stateFile(backupsDir: string, id: string): string {
  return path.join(backupsDir, `${id}.json`);
}

export function manifestFile(backupsDir: string, id: string): string {
  return path.join(backupsDir, `${id}.manifest`);
}

export function writeState(backupsDir: string, rec: BackupRecord): void {
  writeFileDurable(stateFile(backupsDir, rec.id), sealJson({ format: FORMAT, version: 1, ...rec }));
}

export function readState(backupsDir: string, id: string): BackupRecord {
  const file = stateFile(backupsDir, id);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    throw new DfsError('ENOENT', `no backup ${id} in this repository (see \`dynamicfs backup list\`)`, id);
  }
  const { format, version, ...rec } = openJson(text, 'backup state', file);
  if (format !== FORMAT || version !== 1) throw new DfsError('EFORMAT', `${file} is not a backup state document this DynamicFS reads`, file);
  return rec as unknown as BackupRecord;
}

/** Every backup of the repository, oldest first (by start time); a state file that fails its checksum is reported, not fatal. */
export function listStates(backupsDir: string): { backups: BackupRecord[]; unreadable: string[] } {
  const backups: BackupRecord[] = [];
  const unreadable: string[] = [];
  for (const f of fs.readdirSync(backupsDir).sort()) {
    if (!f.endsWith('.json') || !ID.test(f.slice(0, -5))) continue;
    try {
      backups.push(readState(backupsDir, f.slice(0, -5)));
    } catch {
      unreadable.push(path.join(backupsDir, f));
    }
  }
  backups.sort((a, b) => a.startedMs - b.startedMs || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return { backups, unreadable };
}

/** Completed (or verified) backups: the ones a restore, a parent or a prune's keep can use. */
export function usable(b: BackupRecord): boolean {
  return b.state === 'completed' || b.state === 'verified';
}

/** The backup `ref` names: an id, or `latest` (the newest usable one). */
export function resolveBackup(backupsDir: string, ref: string): BackupRecord {
  if (ref === 'latest') {
    const all = listStates(backupsDir).backups.filter(usable);
    const b = all[all.length - 1];
    if (!b) throw new DfsError('ENOENT', 'the repository holds no completed backup yet (see `dynamicfs backup list`)');
    return b;
  }
  if (!ID.test(ref)) throw new DfsError('EINVAL', `backup "${ref}": give a backup id as \`dynamicfs backup list\` shows it (YYYYMMDD-HHMMSS-xxxx), or latest`, ref);
  return readState(backupsDir, ref);
}
