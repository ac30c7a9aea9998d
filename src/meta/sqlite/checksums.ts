/**
 * The upgrade to schema 5: a checksum for every existing row of the tables that had none.
 * Rows are read in key order a batch at a time (better-sqlite3 runs no UPDATE while a
 * SELECT iterates, and a million dirents should not sit in memory at once).
 */
import { diskChecksum, diskEventChecksum, direntChecksum, jobChecksum, metaChecksum, repairChecksum, verifiedChecksum } from '../records';
import { toDisk, toEvent, type DiskEventSql, type DiskSql } from './disks';
import { toRepair, type RepairSql } from './extents';
import { storedJob, type JobSql } from './jobs';
import type { Sql } from './sql';

interface Summed {
  table: string;
  /** The primary key's columns, in order. */
  key: string[];
  sum(row: Record<string, unknown>): Buffer;
}

const SUMMED: Summed[] = [
  { table: 'meta', key: ['key'], sum: (r) => metaChecksum(r.key as string, r.value as number | string) },
  { table: 'disks', key: ['id'], sum: (r) => diskChecksum(toDisk(r as unknown as DiskSql)) },
  { table: 'dirents', key: ['parent', 'name'], sum: (r) => direntChecksum(r.parent as number, r.name as string, r.ino as number) },
  { table: 'repairs', key: ['extent_id'], sum: (r) => repairChecksum(toRepair(r as unknown as RepairSql)) },
  { table: 'disk_events', key: ['id'], sum: (r) => diskEventChecksum(toEvent(r as unknown as DiskEventSql)) },
  { table: 'jobs', key: ['id'], sum: (r) => jobChecksum(storedJob(r as unknown as JobSql)) },
  { table: 'verified', key: ['extent_id'], sum: (r) => verifiedChecksum(r.extent_id as Buffer, r.at_ms as number) },
];

/** The tables that gained a checksum column in schema 5. */
export const CHECKSUMMED_IN_5: readonly string[] = SUMMED.map((s) => s.table);

const BATCH = 1000;

/** Compute and store the checksum of every row of every table that gained one in schema 5 (inside the upgrade's transaction). */
export function sumEveryRow(sql: Sql): void {
  for (const { table, key, sum } of SUMMED) {
    const cols = key.join(', ');
    const marks = key.map(() => '?').join(', ');
    const first = sql(`SELECT * FROM ${table} ORDER BY ${cols} LIMIT ${BATCH}`);
    const next = sql(`SELECT * FROM ${table} WHERE (${cols}) > (${marks}) ORDER BY ${cols} LIMIT ${BATCH}`);
    const set = sql(`UPDATE ${table} SET checksum = ? WHERE (${cols}) = (${marks})`);
    for (let rows = first.all() as Record<string, unknown>[]; rows.length > 0;) {
      for (const r of rows) set.run(sum(r), ...key.map((k) => r[k]));
      const last = rows[rows.length - 1]!;
      rows = next.all(...key.map((k) => last[k])) as Record<string, unknown>[];
    }
  }
}
