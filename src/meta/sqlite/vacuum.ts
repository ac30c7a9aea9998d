/**
 * A consistent copy of the store as of its last COMMIT (`VACUUM INTO` from a second,
 * read-only connection: under WAL it never sees an open group), its generation, and every
 * row of it that fails its checksum (a checkpoint must not seal one: the disks' older
 * copies are where a heal finds the good row). Used on the caller's thread (copyTo) and
 * in vacuum.worker.ts (copyToInWorker), so a coordinator keeps serving meanwhile.
 */
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { DfsError, isErrorCode } from '../../errors';
import { CHECKSUMMED_TABLES, type StoreCopy } from '../store';
import { damagedRows } from './row-checks';
import { statementCache } from './sql';

/** Damaged rows a copy's report spells out (the count covers them all). */
const SPELLED_OUT = 5;

export function vacuumInto(file: string, target: string): StoreCopy {
  const reader = new Database(file, { readonly: true, fileMustExist: true });
  try {
    reader.prepare('VACUUM INTO ?').run(target);
  } finally {
    reader.close();
  }
  const copy = new Database(target, { readonly: true, fileMustExist: true });
  try {
    const sql = statementCache(copy);
    const damaged = damagedRows(sql, CHECKSUMMED_TABLES);
    // Read unverified: a damaged generation row is among `damaged`, and the copy is refused for it.
    const generation = Number((copy.prepare("SELECT value FROM meta WHERE key = 'generation'").get() as { value: number }).value);
    return { generation, damaged: { count: damaged.length, first: damaged.slice(0, SPELLED_OUT).map((d) => `${d.table} (${d.keyText})`) } };
  } finally {
    copy.close();
  }
}

/** vacuumInto on a worker thread. */
export function vacuumInWorker(file: string, target: string): Promise<StoreCopy> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(path.join(__dirname, 'vacuum.worker.js'), { workerData: { file, target } });
    let settled = false;
    worker.once('message', (m: { copy?: StoreCopy; error?: string; code?: string | null }) => {
      settled = true;
      if (m.copy !== undefined) resolve(m.copy);
      else reject(new DfsError(isErrorCode(m.code) ? m.code : 'EIO', `copying the metadata store ${file} to ${target}: ${m.error}`, file));
    });
    worker.once('error', (err) => {
      settled = true;
      reject(err);
    });
    worker.once('exit', (code) => {
      if (!settled) reject(new DfsError('EINTERNAL', `the worker copying the metadata store ${file} exited (${code}) without an answer`, file));
    });
  });
}
