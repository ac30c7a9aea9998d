/**
 * What every SQLite aggregate module shares: the per-connection statement cache, the
 * `meta` key-value table, and the error for a record that fails its checksum.
 */
import type Database from 'better-sqlite3';
import { DfsError } from '../../errors';

/** A prepared statement for `text`, compiled once per connection (compiling costs more than most queries). */
export type Sql = (text: string) => Database.Statement;

export function statementCache(db: Database.Database): Sql {
  const cache = new Map<string, Database.Statement>();
  return (text) => {
    let st = cache.get(text);
    if (!st) {
      st = db.prepare(text);
      cache.set(text, st);
    }
    return st;
  };
}

/** A value of the `meta` table (schema version, generation, next inode, config.*). */
export function metaValue(sql: Sql, key: string): unknown {
  return (sql('SELECT value FROM meta WHERE key = ?').get(key) as { value: unknown } | undefined)?.value;
}

export function corrupt(what: string): DfsError {
  return new DfsError('EMETACORRUPT', `metadata record ${what} fails its checksum; the metadata store is damaged (restore meta.db from a backup)`);
}
