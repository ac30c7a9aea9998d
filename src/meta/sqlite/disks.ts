/** The disk registry in SQLite, and each disk's state history (disk_events). */
import { DfsError } from '../../errors';
import type { DiskRow, DiskState, Tier, TransitionSource } from '../records';
import type { DiskReads, DiskWrites } from '../store';
import { now } from '../clock';
import type { Sql } from './sql';

interface DiskSql { id: number; uuid: string; path: string; tier: string; state: string; added_ms: number; read_errors: number;
  checksum_errors: number; write_errors: number }
interface DiskEventSql { id: number; disk_id: number; at_ms: number; from_state: string | null; to_state: string; source: string; reason: string }

export function diskReads(sql: Sql): DiskReads {
  return {
    listDisks() {
      return (sql('SELECT * FROM disks ORDER BY id').all() as DiskSql[]).map(toDisk);
    },
    getDisk(id) {
      const r = sql('SELECT * FROM disks WHERE id = ?').get(id) as DiskSql | undefined;
      return r && toDisk(r);
    },
    diskEvents(diskId) {
      const rows = (diskId === undefined
        ? sql('SELECT * FROM disk_events ORDER BY id').all()
        : sql('SELECT * FROM disk_events WHERE disk_id = ? ORDER BY id').all(diskId)) as DiskEventSql[];
      return rows.map((r) => ({ id: r.id, diskId: r.disk_id, atMs: r.at_ms, from: r.from_state as DiskState | null, to: r.to_state as DiskState,
        source: r.source as TransitionSource, reason: r.reason }));
    },
  };
}

export function diskWrites(sql: Sql): DiskWrites {
  const event = (): ReturnType<Sql> => sql('INSERT INTO disk_events (disk_id, at_ms, from_state, to_state, source, reason) VALUES (?, ?, ?, ?, ?, ?)');
  return {
    addDisk(d) {
      const id = Number(sql('INSERT INTO disks (uuid, path, tier, state, added_ms) VALUES (?, ?, ?, ?, ?)')
        .run(d.uuid, d.path, d.tier, d.state, d.addedMs).lastInsertRowid);
      event().run(id, d.addedMs, null, d.state, 'pool', `added at ${d.path}`);
      return id;
    },
    setDiskState(id, state, source, reason) {
      const cur = sql('SELECT state FROM disks WHERE id = ?').get(id) as { state: string } | undefined;
      if (!cur) throw new DfsError('ENOENT', `disk ${id} is not in the pool`);
      sql('UPDATE disks SET state = ? WHERE id = ?').run(state, id);
      event().run(id, now(), cur.state, state, source, reason);
    },
    countDiskErrors(id, kind, n = 1) {
      const col = { read: 'read_errors', checksum: 'checksum_errors', write: 'write_errors' }[kind];
      sql(`UPDATE disks SET ${col} = ${col} + ? WHERE id = ?`).run(n, id);
    },
    resetDiskErrors(id) {
      sql('UPDATE disks SET read_errors = 0, checksum_errors = 0, write_errors = 0 WHERE id = ?').run(id);
    },
    removeDisk(id) {
      sql('DELETE FROM disks WHERE id = ?').run(id);
    },
  };
}

function toDisk(r: DiskSql): DiskRow {
  return { id: r.id, uuid: r.uuid, path: r.path, tier: r.tier as Tier, state: r.state as DiskState, addedMs: r.added_ms,
    readErrors: r.read_errors, checksumErrors: r.checksum_errors, writeErrors: r.write_errors };
}
