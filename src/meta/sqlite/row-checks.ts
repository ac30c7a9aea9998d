/**
 * The one place that knows how each checksummed table's row is verified: its key columns
 * and the checksum its columns should carry (records.ts). Used by the schema-5 upgrade
 * (checksums.ts), by `check`'s walk of every table (damagedRows), by a checkpoint's
 * verification of its copy before it is sealed (vacuum.ts), and by the record heal's
 * reads and write-back of single rows (record-copies.ts).
 */
import {
  diskChecksum, diskEventChecksum, direntChecksum, extentChecksum, inodeChecksum, jobChecksum, metaChecksum, repairChecksum, snapshotChecksum,
  verifiedChecksum, versionChecksum, xattrChecksum,
} from '../records';
import type { ChecksummedTable, DamagedRow, RowKey } from '../store';
import { toDisk, toEvent, type DiskEventSql, type DiskSql } from './disks';
import { toExtent, toRepair, type ExtentSql, type FragmentSql, type RepairSql } from './extents';
import { storedJob, type JobSql } from './jobs';
import { toInode, type InodeSql } from './namespace';
import type { Sql } from './sql';
import { toSnapshot, type SnapshotSql } from './snapshots';

export type Row = Record<string, unknown>;

interface TableCheck {
  /** The primary key's columns, in order. */
  key: string[];
  /** The checksum the row should carry; extents also take their placements' rows (the checksum covers them). */
  sum(row: Row, fragments: readonly FragmentSql[]): Buffer;
}

export const TABLE_CHECKS: Record<ChecksummedTable, TableCheck> = {
  meta: { key: ['key'], sum: (r) => metaChecksum(r.key as string, r.value as number | string) },
  disks: { key: ['id'], sum: (r) => diskChecksum(toDisk(r as unknown as DiskSql)) },
  inodes: { key: ['ino'], sum: (r) => inodeChecksum(toInode(r as unknown as InodeSql)) },
  xattrs: { key: ['ino', 'name'], sum: (r) => xattrChecksum(r.ino as number, r.name as string, r.value as Buffer) },
  dirents: { key: ['parent', 'name'], sum: (r) => direntChecksum(r.parent as number, r.name as string, r.ino as number) },
  extents: { key: ['id'], sum: (r, frags) => extentChecksum(toExtent(r as unknown as ExtentSql, frags)) },
  repairs: { key: ['extent_id'], sum: (r) => repairChecksum(toRepair(r as unknown as RepairSql)) },
  disk_events: { key: ['id'], sum: (r) => diskEventChecksum(toEvent(r as unknown as DiskEventSql)) },
  jobs: { key: ['id'], sum: (r) => jobChecksum(storedJob(r as unknown as JobSql)) },
  verified: { key: ['extent_id'], sum: (r) => verifiedChecksum(r.extent_id as Buffer, r.at_ms as number) },
  snapshots: { key: ['id'], sum: (r) => snapshotChecksum(toSnapshot(r as unknown as SnapshotSql)) },
  snap_inodes: { key: ['ino', 'born'],
    sum: (r) => versionChecksum('inode', r.born as number, r.died as number, inodeChecksum(toInode(r as unknown as InodeSql))) },
  snap_dirents: { key: ['parent', 'name', 'born'],
    sum: (r) => versionChecksum('dirent', r.born as number, r.died as number, direntChecksum(r.parent as number, r.name as string, r.ino as number)) },
  snap_xattrs: { key: ['ino', 'name', 'born'],
    sum: (r) => versionChecksum('xattr', r.born as number, r.died as number, xattrChecksum(r.ino as number, r.name as string, r.value as Buffer)) },
};

const BATCH = 1000;

/** Whether `row` of `table` carries the checksum its columns make (an extent's placements read from `sql`). */
export function rowVerifies(sql: Sql, table: ChecksummedTable, row: Row): boolean {
  const frags = table === 'extents' ? sql('SELECT idx, disk_id, hash FROM fragments WHERE extent_id = ? ORDER BY idx').all(row.id) as FragmentSql[] : [];
  return sumMatches(TABLE_CHECKS[table].sum(row, frags), row.checksum);
}

function sumMatches(sum: Buffer, stored: unknown): boolean {
  return Buffer.isBuffer(stored) && sum.equals(stored);
}

/** The key of `row` in `table`, as stored. */
export function keyOf(table: ChecksummedTable, row: Row): RowKey {
  return TABLE_CHECKS[table].key.map((k) => row[k] as number | string | Buffer);
}

/** `ino 5, name "user.a"`: a row's key for people, as the read errors spell it. */
export function keyText(table: ChecksummedTable, key: RowKey): string {
  const cols = TABLE_CHECKS[table].key;
  return key.map((v, i) => `${cols[i]} ${Buffer.isBuffer(v) ? v.toString('hex') : typeof v === 'string' ? JSON.stringify(v) : String(v)}`).join(', ');
}


/** `WHERE (a, b) = (?, ?)` for a table's key. */
export function keyWhere(table: ChecksummedTable): string {
  const cols = TABLE_CHECKS[table].key;
  return `(${cols.join(', ')}) = (${cols.map(() => '?').join(', ')})`;
}

/**
 * Walk `table` in key order, a batch at a time (a million rows never sit in memory at
 * once), calling `each` with every row and the checksum its columns make.
 */
export function walkTable(sql: Sql, table: ChecksummedTable, each: (row: Row, sum: Buffer) => void): void {
  const { key, sum } = TABLE_CHECKS[table];
  const cols = key.join(', ');
  const marks = key.map(() => '?').join(', ');
  const first = sql(`SELECT * FROM ${table} ORDER BY ${cols} LIMIT ${BATCH}`);
  const next = sql(`SELECT * FROM ${table} WHERE (${cols}) > (${marks}) ORDER BY ${cols} LIMIT ${BATCH}`);
  for (let rows = first.all() as Row[]; rows.length > 0;) {
    const frags = table === 'extents' ? placements(sql, rows) : undefined;
    for (const r of rows) each(r, sum(r, frags?.get((r.id as Buffer).toString('hex')) ?? []));
    const last = rows[rows.length - 1]!;
    rows = next.all(...key.map((k) => last[k])) as Row[];
  }
}

/** The placements of a batch of extents (in id order), by extent id (hex), in one range query. */
function placements(sql: Sql, extents: readonly Row[]): Map<string, FragmentSql[]> {
  const out = new Map<string, FragmentSql[]>();
  const rows = sql('SELECT extent_id, idx, disk_id, hash FROM fragments WHERE extent_id >= ? AND extent_id <= ? ORDER BY extent_id, idx')
    .all(extents[0]!.id, extents[extents.length - 1]!.id) as (FragmentSql & { extent_id: Buffer })[];
  for (const f of rows) {
    const id = f.extent_id.toString('hex');
    const list = out.get(id) ?? [];
    list.push(f);
    out.set(id, list);
  }
  return out;
}

/** Every row of `tables` that fails its checksum. */
export function damagedRows(sql: Sql, tables: readonly ChecksummedTable[]): DamagedRow[] {
  const out: DamagedRow[] = [];
  for (const table of tables) {
    walkTable(sql, table, (row, sum) => {
      if (sumMatches(sum, row.checksum)) return;
      const key = keyOf(table, row);
      out.push({ table, key, keyText: keyText(table, key) });
    });
  }
  return out;
}
