/**
 * The upgrade to schema 5: a checksum for every existing row of the tables that had none
 * (how each row's is made: row-checks.ts). Rows are read in key order a batch at a time
 * (better-sqlite3 runs no UPDATE while a SELECT iterates).
 */
import type { ChecksummedTable } from '../store';
import { keyWhere, keyOf, walkTable } from './row-checks';
import type { Sql } from './sql';

/** The tables that gained a checksum column in schema 5. */
export const CHECKSUMMED_IN_5: readonly ChecksummedTable[] = ['meta', 'disks', 'dirents', 'repairs', 'disk_events', 'jobs', 'verified'];

/** Compute and store the checksum of every row of every table that gained one in schema 5 (inside the upgrade's transaction). */
export function sumEveryRow(sql: Sql): void {
  for (const table of CHECKSUMMED_IN_5) {
    const set = sql(`UPDATE ${table} SET checksum = ? WHERE ${keyWhere(table)}`);
    walkTable(sql, table, (row, sum) => set.run(sum, ...keyOf(table, row)));
  }
}
