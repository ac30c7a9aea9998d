/**
 * The in-process parts of the workload benchmark, run in a child process so the
 * benchmark's own event loop stays free (and Ctrl-C is handled) while they run on a mount:
 *
 *   node workload-child.js sqlite DB delete|wal ROWS TRANSACTIONS AUTOCOMMITS
 *   node workload-child.js meta DIR FILES
 *
 * Prints one JSON object: the seconds of the work itself (not Node's start-up).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { seconds } from './file-io';

export interface SqliteResult { seconds: number; rows: number }
export interface MetaResult { seconds: number; create_s: number; stat_s: number; unlink_s: number }

/** synchronous=FULL; ROWS inserts in TRANSACTIONS transactions, then AUTOCOMMITS single inserts. */
function sqlite(db: string, journal: 'delete' | 'wal', rows: number, txns: number, autocommits: number): SqliteResult {
  const start = process.hrtime.bigint();
  const d = new Database(db);
  try {
    const mode = d.pragma(`journal_mode = ${journal}`, { simple: true });
    if (mode !== journal) throw new Error(`${db}: journal_mode ${journal} not taken (got ${String(mode)})`);
    d.pragma('synchronous = FULL');
    d.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, k TEXT NOT NULL, v BLOB NOT NULL)');
    const insert = d.prepare('INSERT INTO t (k, v) VALUES (?, ?)');
    const row = (i: number): [string, Buffer] => [`key-${i}`, Buffer.alloc(100, i & 0xff)];
    const batch = d.transaction((from: number, to: number) => {
      for (let i = from; i < to; i++) insert.run(...row(i));
    });
    const per = Math.ceil(rows / txns);
    for (let from = 0; from < rows; from += per) batch(from, Math.min(rows, from + per));
    for (let i = 0; i < autocommits; i++) insert.run(...row(rows + i));
    const n = d.prepare('SELECT count(*) FROM t').pluck().get() as number;
    if (n !== rows + autocommits) throw new Error(`${db}: ${n} rows, expected ${rows + autocommits}`);
  } finally {
    d.close();
  }
  return { seconds: seconds(start), rows: rows + autocommits };
}

/** create (O_EXCL), stat, then unlink FILES empty files in DIR (made and removed here). */
function meta(dir: string, files: number): MetaResult {
  fs.mkdirSync(dir);
  const names = Array.from({ length: files }, (_, i) => path.join(dir, `f${i}`));
  const t0 = process.hrtime.bigint();
  for (const p of names) fs.closeSync(fs.openSync(p, 'wx'));
  const create_s = seconds(t0);
  const t1 = process.hrtime.bigint();
  for (const p of names) fs.statSync(p);
  const stat_s = seconds(t1);
  const t2 = process.hrtime.bigint();
  for (const p of names) fs.unlinkSync(p);
  const unlink_s = seconds(t2);
  fs.rmdirSync(dir);
  return { seconds: create_s + stat_s + unlink_s, create_s, stat_s, unlink_s };
}

function main(argv: string[]): unknown {
  const [what, target, ...rest] = argv;
  const num = (s: string | undefined, name: string): number => {
    const n = Number(s);
    if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got ${s}`);
    return n;
  };
  if (what === 'sqlite' && target && (rest[0] === 'delete' || rest[0] === 'wal')) {
    return sqlite(target, rest[0], num(rest[1], 'ROWS'), Math.max(1, num(rest[2], 'TRANSACTIONS')), num(rest[3], 'AUTOCOMMITS'));
  }
  if (what === 'meta' && target) return meta(target, num(rest[0], 'FILES'));
  throw new Error('usage: workload-child sqlite DB delete|wal ROWS TRANSACTIONS AUTOCOMMITS | meta DIR FILES');
}

if (require.main === module) {
  try {
    process.stdout.write(JSON.stringify(main(process.argv.slice(2))) + '\n');
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    process.exitCode = 1;
  }
}
