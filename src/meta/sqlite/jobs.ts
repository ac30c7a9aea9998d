/** Persistent jobs in SQLite: params and progress are stored as JSON text. */
import type { JobRow, JobState } from '../records';
import type { JobReads, JobWrites } from '../store';
import { now } from '../clock';
import type { Sql } from './sql';

interface JobSql { id: number; kind: string; state: string; params: string; progress: string; error: string | null; created_ms: number;
  updated_ms: number; finished_ms: number | null }

export function jobReads(sql: Sql): JobReads {
  return {
    jobs() {
      return (sql('SELECT * FROM jobs ORDER BY id').all() as JobSql[]).map(toJob);
    },
    getJob(id) {
      const r = sql('SELECT * FROM jobs WHERE id = ?').get(id) as JobSql | undefined;
      return r ? toJob(r) : undefined;
    },
  };
}

export function jobWrites(sql: Sql): JobWrites {
  return {
    createJob(kind, params, progress = {}) {
      const at = now();
      return Number(sql('INSERT INTO jobs (kind, state, params, progress, created_ms, updated_ms) VALUES (?, ?, ?, ?, ?, ?)')
        .run(kind, 'queued', JSON.stringify(params), JSON.stringify(progress), at, at).lastInsertRowid);
    },
    updateJob(id, change) {
      const at = now();
      const finished = change.state === 'done' || change.state === 'failed' || change.state === 'cancelled' ? at : null;
      const json = (v: object | undefined): string | null => (v ? JSON.stringify(v) : null);
      sql(`UPDATE jobs SET state = COALESCE(?, state), params = COALESCE(?, params), progress = COALESCE(?, progress),
           error = CASE WHEN ? THEN ? ELSE error END, updated_ms = ?, finished_ms = COALESCE(?, finished_ms) WHERE id = ?`)
        .run(change.state ?? null, json(change.params), json(change.progress), change.error !== undefined ? 1 : 0, change.error ?? null,
          at, finished, id);
    },
  };
}

function toJob(r: JobSql): JobRow {
  return { id: r.id, kind: r.kind, state: r.state as JobState, params: JSON.parse(r.params) as Record<string, unknown>,
    progress: JSON.parse(r.progress) as Record<string, unknown>, error: r.error, createdMs: r.created_ms, updatedMs: r.updated_ms,
    finishedMs: r.finished_ms };
}
