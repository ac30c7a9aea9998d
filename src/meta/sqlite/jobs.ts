/** Persistent jobs in SQLite: params and progress are stored as JSON text; every row verified on read. */
import { DfsError } from '../../errors';
import { jobChecksum, type JobRow, type JobState, type StoredJob } from '../records';
import type { JobReads, JobWrites } from '../store';
import { now } from '../clock';
import { corrupt, type Sql } from './sql';

export interface JobSql { id: number; kind: string; state: string; params: string; progress: string; error: string | null; created_ms: number;
  updated_ms: number; finished_ms: number | null; checksum: Buffer }

export function jobReads(sql: Sql): JobReads {
  return {
    jobs() {
      return (sql('SELECT * FROM jobs ORDER BY id').all() as JobSql[]).map((r) => toJob(verifyJob(sql, r)));
    },
    getJob(id) {
      const r = getJob(sql, id);
      return r && toJob(r);
    },
  };
}

export function jobWrites(sql: Sql): JobWrites {
  return {
    createJob(kind, params, progress = {}) {
      const at = now();
      // The id SQLite would give (largest + 1), chosen here because the checksum covers it.
      const id = (sql('SELECT COALESCE(MAX(id), 0) + 1 AS id FROM jobs').get() as { id: number }).id;
      writeJob(sql, { id, kind, state: 'queued', params: JSON.stringify(params), progress: JSON.stringify(progress), error: null,
        createdMs: at, updatedMs: at, finishedMs: null });
      return id;
    },
    updateJob(id, change) {
      // Read-modify-write from the verified row: a damaged row is never rewritten with a fresh checksum.
      const j = getJob(sql, id);
      if (!j) throw new DfsError('ENOENT', `job ${id} does not exist`);
      const at = now();
      const finishes = change.state === 'done' || change.state === 'failed' || change.state === 'cancelled';
      writeJob(sql, { ...j, state: change.state ?? j.state, params: change.params ? JSON.stringify(change.params) : j.params,
        progress: change.progress ? JSON.stringify(change.progress) : j.progress, error: change.error !== undefined ? change.error : j.error,
        updatedMs: at, finishedMs: finishes ? at : j.finishedMs });
    },
  };
}

function getJob(sql: Sql, id: number): StoredJob | undefined {
  const r = sql('SELECT * FROM jobs WHERE id = ?').get(id) as JobSql | undefined;
  return r && verifyJob(sql, r);
}

function writeJob(sql: Sql, j: StoredJob): void {
  sql(`INSERT OR REPLACE INTO jobs (id, kind, state, params, progress, error, created_ms, updated_ms, finished_ms, checksum)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
    .run(j.id, j.kind, j.state, j.params, j.progress, j.error, j.createdMs, j.updatedMs, j.finishedMs, jobChecksum(j));
}

function verifyJob(sql: Sql, r: JobSql): StoredJob {
  const j = storedJob(r);
  if (!jobChecksum(j).equals(r.checksum)) throw corrupt(sql, 'jobs', `id ${r.id}`);
  return j;
}

export function storedJob(r: JobSql): StoredJob {
  return { id: r.id, kind: r.kind, state: r.state as JobState, params: r.params, progress: r.progress, error: r.error,
    createdMs: r.created_ms, updatedMs: r.updated_ms, finishedMs: r.finished_ms };
}

function toJob(j: StoredJob): JobRow {
  return { ...j, params: JSON.parse(j.params) as Record<string, unknown>, progress: JSON.parse(j.progress) as Record<string, unknown> };
}
