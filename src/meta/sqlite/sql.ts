/**
 * What every SQLite aggregate module shares: the per-connection statement cache, the
 * `meta` key-value table (every value checksummed), and the error for a record that
 * fails its checksum.
 */
import * as path from 'node:path';
import type Database from 'better-sqlite3';
import { DfsError } from '../../errors';
import { metaChecksum } from '../records';

/** A prepared statement for `text`, compiled once per connection (compiling costs more than most queries); `file` is the store's. */
export interface Sql {
  (text: string): Database.Statement;
  readonly file: string;
}

export function statementCache(db: Database.Database): Sql {
  const cache = new Map<string, Database.Statement>();
  const sql = (text: string): Database.Statement => {
    let st = cache.get(text);
    if (!st) {
      st = db.prepare(text);
      cache.set(text, st);
    }
    return st;
  };
  return Object.assign(sql, { file: db.name });
}

/** A verified value of the `meta` table (schema version, generation, next inode, config.*), or undefined when absent. */
export function metaValue(sql: Sql, key: string): number | string | undefined {
  const r = sql('SELECT value, checksum FROM meta WHERE key = ?').get(key) as { value: number | string; checksum: Buffer } | undefined;
  if (!r) return undefined;
  if (!metaChecksum(key, r.value).equals(r.checksum)) throw corrupt(sql, 'meta', `key ${key}`);
  return r.value;
}

/** Set a `meta` value with its checksum. */
export function putMeta(sql: Sql, key: string, value: number | string): void {
  sql('INSERT OR REPLACE INTO meta (key, value, checksum) VALUES (?, ?, ?)').run(key, value, metaChecksum(key, value));
}

/** Add one to the counter `key` (generation, next_ino, next_pack; `start` when absent) and return its value before. */
export function bumpMeta(sql: Sql, key: string, start?: number): number {
  const cur = metaValue(sql, key) ?? start;
  if (typeof cur !== 'number') throw corrupt(sql, 'meta', `key ${key}`);
  putMeta(sql, key, cur + 1);
  return cur;
}

/**
 * A record of `table` whose row `key` (its primary key, spelled out) fails its checksum.
 * The store's directory is the pool's (POOL/meta.db): the fix names it.
 */
export function corrupt(sql: Pick<Sql, 'file'>, table: string, key: string): DfsError {
  const pool = path.dirname(sql.file);
  return new DfsError('EMETACORRUPT', `metadata record in ${table} (${key}) fails its checksum (in ${sql.file}); `
    + `run \`dynamicfs check ${pool} --repair\` to restore it from the disks' copies`, sql.file, { table, key });
}
