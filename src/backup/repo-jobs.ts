/**
 * REPO/jobs/<kind>-<key>.json: a restore or verify under way, kept in the repository
 * (none of them needs a pool: a restore after the pool is gone has nowhere else to keep
 * its state). The key is a hash of what the job is (the backup, the path, the
 * destination), so running the same command again finds it and resumes at its cursor.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { blake3 } from '../native';
import { openJson, sealJson, writeFileDurable } from '../pool/durable-file';

export type RepoJobKind = 'restore' | 'verify';
export type RepoJobState = 'in-progress' | 'completed' | 'failed';

export interface RepoJob {
  kind: RepoJobKind;
  key: string;
  state: RepoJobState;
  /** The backup (null: a verify of the whole repository). */
  backup: string | null;
  /** A restore's destination and subtree. */
  dest: string | null;
  path: string | null;
  startedMs: number;
  updatedMs: number;
  /** Entries (restore) or packs (verify) finished, in order: a resumed run starts at this one. */
  cursor: number;
  entriesDone: number;
  bytesDone: number;
  bytesTotal: number;
  error: string | null;
  /** What a resumed run must carry on (a verify's findings so far). */
  carry: Record<string, unknown>;
}

const FORMAT = 'dynamicfs-repo-job';

export function jobKey(kind: RepoJobKind, parts: readonly unknown[]): string {
  return blake3(Buffer.from(JSON.stringify([kind, ...parts]))).subarray(0, 8).toString('hex');
}

function jobFile(jobsDir: string, kind: RepoJobKind, key: string): string {
  return path.join(jobsDir, `${kind}-${key}.json`);
}

export function readJob(jobsDir: string, kind: RepoJobKind, key: string): RepoJob | undefined {
  const file = jobFile(jobsDir, kind, key);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const { format, ...job } = openJson(text, 'repository job', file);
    return format === FORMAT ? (job as unknown as RepoJob) : undefined;
  } catch {
    return undefined; // a damaged journal: the job starts over
  }
}

export function writeJob(jobsDir: string, job: RepoJob): void {
  writeFileDurable(jobFile(jobsDir, job.kind, job.key), sealJson({ format: FORMAT, ...job, updatedMs: Date.now() }));
}

export function removeJob(jobsDir: string, kind: RepoJobKind, key: string): void {
  fs.rmSync(jobFile(jobsDir, kind, key), { force: true });
}

export function listJobs(jobsDir: string): RepoJob[] {
  let names: string[];
  try {
    names = fs.readdirSync(jobsDir).sort();
  } catch {
    return [];
  }
  const out: RepoJob[] = [];
  for (const f of names) {
    const m = /^(restore|verify)-([0-9a-f]{16})\.json$/.exec(f);
    const job = m && readJob(jobsDir, m[1] as RepoJobKind, m[2]!);
    if (job) out.push(job);
  }
  return out;
}
