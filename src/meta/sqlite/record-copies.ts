/**
 * Records as SQLite stores them, copied between two stores of one pool (RecordCopies):
 * read whole rows from a store rebuilt from the disks (verified by the ordinary reads
 * first), and put them back into meta.db where its rows fail their checksum. The rows go
 * in as they are (no Txn: no redo record, no new generation), since they are what the
 * generation both stores stand at committed.
 */
import { DfsError } from '../../errors';
import { direntChecksum } from '../records';
import type { ExtentReads, NamespaceReads, RecordCopies, RecordRef, RowTable } from '../store';
import { keyText, keyWhere, rowVerifies, type Row } from './row-checks';
import { corrupt, type Sql } from './sql';

/** The rows of one record, per table. */
type Rows = Partial<Record<'inodes' | 'dirents' | 'extents' | 'fragments' | RowTable, Row[]>>;

function failsChecksum(read: () => unknown): boolean {
  try {
    read();
    return false;
  } catch (err) {
    if (err instanceof DfsError && err.code === 'EMETACORRUPT') return true;
    throw err;
  }
}

function insert(sql: Sql, table: string, row: Row): void {
  const cols = Object.keys(row);
  sql(`INSERT OR REPLACE INTO ${table} (${cols.join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`).run(...cols.map((c) => row[c]));
}

export function recordCopies(sql: Sql, inTransaction: <T>(fn: () => T) => T, reads: NamespaceReads & ExtentReads, clearCaches: () => void): RecordCopies {
  const stored = (ref: RecordRef): Rows | undefined => {
    switch (ref.kind) {
      case 'inode':
        if (!reads.getInode(ref.ino)) return undefined;
        return { inodes: sql('SELECT * FROM inodes WHERE ino = ?').all(ref.ino) as Row[] };
      case 'dirents': {
        const entries = reads.readdir(ref.parent);
        return entries.length === 0 ? undefined : { dirents: sql('SELECT * FROM dirents WHERE parent = ?').all(ref.parent) as Row[] };
      }
      case 'extent':
        if (!reads.getExtent(ref.id)) return undefined;
        return { extents: sql('SELECT * FROM extents WHERE id = ?').all(ref.id) as Row[],
          fragments: sql('SELECT * FROM fragments WHERE extent_id = ?').all(ref.id) as Row[] };
      case 'row': {
        const row = sql(`SELECT * FROM ${ref.table} WHERE ${keyWhere(ref.table)}`).get(...ref.key) as Row | undefined;
        if (!row) return undefined;
        if (!rowVerifies(sql, ref.table, row)) throw corrupt(sql, ref.table, keyText(ref.table, ref.key));
        return { [ref.table]: [row] };
      }
    }
  };
  /** Put one record back where it fails here; whether anything changed. */
  const restore = (ref: RecordRef, rows: Rows): boolean => {
    switch (ref.kind) {
      case 'inode':
        if (!failsChecksum(() => reads.getInode(ref.ino))) return false;
        for (const r of rows.inodes ?? []) insert(sql, 'inodes', r);
        return true;
      case 'dirents': {
        // A damaged name is a key the copy lacks: the failing rows go, and the copy's entries this directory lacks come back.
        const here = sql('SELECT name, CAST(name AS BLOB) AS raw, ino, checksum FROM dirents WHERE parent = ?').all(ref.parent) as
          { name: string; raw: Buffer; ino: number; checksum: Buffer }[];
        const failing = here.filter((r) => !direntChecksum(ref.parent, r.name, r.ino).equals(r.checksum));
        if (failing.length === 0) return false;
        for (const r of failing) sql('DELETE FROM dirents WHERE parent = ? AND CAST(name AS BLOB) = ?').run(ref.parent, r.raw);
        const left = new Set(here.filter((r) => !failing.includes(r)).map((r) => r.name));
        for (const r of rows.dirents ?? []) if (!left.has(r.name as string)) insert(sql, 'dirents', r);
        return true;
      }
      case 'extent':
        if (!failsChecksum(() => reads.getExtent(ref.id))) return false;
        // The checksum covers the placements too: they are replaced with the row.
        sql('DELETE FROM fragments WHERE extent_id = ?').run(ref.id);
        for (const r of rows.extents ?? []) insert(sql, 'extents', r);
        for (const r of rows.fragments ?? []) insert(sql, 'fragments', r);
        return true;
      case 'row': {
        const here = sql(`SELECT * FROM ${ref.table} WHERE ${keyWhere(ref.table)}`).get(...ref.key) as Row | undefined;
        if (!here || rowVerifies(sql, ref.table, here)) return false;
        for (const r of rows[ref.table] ?? []) insert(sql, ref.table, r);
        return true;
      }
    }
  };
  return {
    storedRecord(ref) {
      const rows = stored(ref);
      return rows && { ref, rows };
    },
    restoreRecords(records) {
      try {
        return inTransaction(() => records.filter((r) => restore(r.ref, r.rows as Rows)).map((r) => r.ref));
      } finally {
        // A failing row was never cached, but a rolled-back restore must not leave what it read in the caches either.
        clearCaches();
      }
    },
  };
}
