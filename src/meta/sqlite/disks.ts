/** The disk registry in SQLite, and each disk's state history (disk_events); every row verified on read. */
import { DfsError } from '../../errors';
import { diskChecksum, diskEventChecksum, type DiskEvent, type DiskRow, type DiskState, type Tier, type TransitionSource } from '../records';
import type { DiskReads, DiskWrites } from '../store';
import { now } from '../clock';
import { corrupt, type Sql } from './sql';

export interface DiskSql { id: number; uuid: string; path: string; tier: string; state: string; added_ms: number; read_errors: number;
  checksum_errors: number; write_errors: number; checksum: Buffer }
export interface DiskEventSql { id: number; disk_id: number; at_ms: number; from_state: string | null; to_state: string; source: string;
  reason: string; checksum: Buffer; req_id: string | null }

/**
 * The registry as last read and verified: listDisks runs on every fsync through the intent
 * log and every extent write (placement), a query and six checksums each time otherwise.
 * Cleared by every write to the table (diskWrites), a rolled-back transaction and a heal.
 */
export class DiskCache {
  rows: DiskRow[] | undefined;
  clear(): void {
    this.rows = undefined;
  }
}

export function diskReads(sql: Sql, cache: DiskCache): DiskReads {
  return {
    listDisks() {
      cache.rows ??= (sql('SELECT * FROM disks ORDER BY id').all() as DiskSql[]).map((r) => verifyDisk(sql, r));
      return cache.rows.map((d) => ({ ...d }));
    },
    getDisk(id) {
      return getDisk(sql, id);
    },
    diskEvents(diskId) {
      const rows = (diskId === undefined
        ? sql('SELECT * FROM disk_events ORDER BY id').all()
        : sql('SELECT * FROM disk_events WHERE disk_id = ? ORDER BY id').all(diskId)) as DiskEventSql[];
      return rows.map((r) => {
        const e = toEvent(r);
        if (!diskEventChecksum(e).equals(r.checksum)) throw corrupt(sql, 'disk_events', `id ${r.id}`);
        return e;
      });
    },
  };
}

export function diskWrites(sql: Sql, cache: DiskCache): DiskWrites {
  const event = (e: Omit<DiskEvent, 'id'>): void => {
    // The id SQLite would give (largest + 1), chosen here because the checksum covers it.
    const id = (sql('SELECT COALESCE(MAX(id), 0) + 1 AS id FROM disk_events').get() as { id: number }).id;
    sql('INSERT INTO disk_events (id, disk_id, at_ms, from_state, to_state, source, reason, req_id, checksum) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)')
      .run(id, e.diskId, e.atMs, e.from, e.to, e.source, e.reason, e.reqId, diskEventChecksum({ id, ...e }));
  };
  return {
    addDisk(d, reqId) {
      cache.clear();
      const id = (sql('SELECT COALESCE(MAX(id), 0) + 1 AS id FROM disks').get() as { id: number }).id;
      insertDisk(sql, { ...d, id, readErrors: 0, checksumErrors: 0, writeErrors: 0 });
      event({ diskId: id, atMs: d.addedMs, from: null, to: d.state, source: 'pool', reason: `added at ${d.path}`, reqId: reqId ?? null });
      return id;
    },
    // Each change reads the row verified first, so a damaged row is never rewritten with a fresh checksum.
    setDiskState(id, state, source, reason, reqId) {
      cache.clear();
      const d = getDisk(sql, id);
      if (!d) throw new DfsError('ENOENT', `disk ${id} is not in the pool`);
      updateDisk(sql, { ...d, state });
      event({ diskId: id, atMs: now(), from: d.state, to: state, source, reason, reqId: reqId ?? null });
    },
    countDiskErrors(id, kind, n = 1) {
      cache.clear();
      const d = getDisk(sql, id);
      if (!d) return;
      if (kind === 'read') d.readErrors += n;
      else if (kind === 'checksum') d.checksumErrors += n;
      else d.writeErrors += n;
      updateDisk(sql, d);
    },
    resetDiskErrors(id) {
      cache.clear();
      const d = getDisk(sql, id);
      if (d) updateDisk(sql, { ...d, readErrors: 0, checksumErrors: 0, writeErrors: 0 });
    },
    removeDisk(id) {
      cache.clear();
      sql('DELETE FROM disks WHERE id = ?').run(id);
    },
  };
}

function getDisk(sql: Sql, id: number): DiskRow | undefined {
  const r = sql('SELECT * FROM disks WHERE id = ?').get(id) as DiskSql | undefined;
  return r && verifyDisk(sql, r);
}

/** A new row (plain INSERT: a second disk at the same uuid or path fails the UNIQUE constraints, as it must). */
function insertDisk(sql: Sql, d: DiskRow): void {
  sql(`INSERT INTO disks (id, uuid, path, tier, state, added_ms, read_errors, checksum_errors, write_errors, checksum)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
    .run(d.id, d.uuid, d.path, d.tier, d.state, d.addedMs, d.readErrors, d.checksumErrors, d.writeErrors, diskChecksum(d));
}

/** The mutable fields of an existing row (uuid, path, tier and added_ms never change). */
function updateDisk(sql: Sql, d: DiskRow): void {
  sql('UPDATE disks SET state = ?, read_errors = ?, checksum_errors = ?, write_errors = ?, checksum = ? WHERE id = ?')
    .run(d.state, d.readErrors, d.checksumErrors, d.writeErrors, diskChecksum(d), d.id);
}

function verifyDisk(sql: Sql, r: DiskSql): DiskRow {
  const d = toDisk(r);
  if (!diskChecksum(d).equals(r.checksum)) throw corrupt(sql, 'disks', `id ${r.id}`);
  return d;
}

export function toDisk(r: DiskSql): DiskRow {
  return { id: r.id, uuid: r.uuid, path: r.path, tier: r.tier as Tier, state: r.state as DiskState, addedMs: r.added_ms,
    readErrors: r.read_errors, checksumErrors: r.checksum_errors, writeErrors: r.write_errors };
}

export function toEvent(r: DiskEventSql): DiskEvent {
  return { id: r.id, diskId: r.disk_id, atMs: r.at_ms, from: r.from_state as DiskState | null, to: r.to_state as DiskState,
    source: r.source as TransitionSource, reason: r.reason, reqId: r.req_id ?? null };
}
