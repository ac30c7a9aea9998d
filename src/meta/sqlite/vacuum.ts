/**
 * A consistent copy of the store as of its last COMMIT (`VACUUM INTO` from a second,
 * read-only connection: under WAL it never sees an open group), and its generation. Used
 * on the caller's thread (copyTo) and in vacuum.worker.ts (copyToInWorker).
 */
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { DfsError, isErrorCode } from '../../errors';

export function vacuumInto(file: string, target: string): number {
  const reader = new Database(file, { readonly: true, fileMustExist: true });
  try {
    reader.prepare('VACUUM INTO ?').run(target);
  } finally {
    reader.close();
  }
  const copy = new Database(target, { readonly: true, fileMustExist: true });
  try {
    return Number((copy.prepare("SELECT value FROM meta WHERE key = 'generation'").get() as { value: number }).value);
  } finally {
    copy.close();
  }
}

/** vacuumInto on a worker thread. */
export function vacuumInWorker(file: string, target: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(path.join(__dirname, 'vacuum.worker.js'), { workerData: { file, target } });
    let settled = false;
    worker.once('message', (m: { generation?: number; error?: string; code?: string | null }) => {
      settled = true;
      if (m.generation !== undefined) resolve(m.generation);
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
