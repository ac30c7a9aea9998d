/**
 * Extents and their fragment placements in SQLite (verified on read: an extent's checksum
 * covers its placements), with their upkeep: the repair queue and scrub's verified marks.
 */
import { extentChecksum, ownsFragments, PACK_INO, repairChecksum, verifiedChecksum, type Extent, type ExtentScheme, type FragmentRef, type RepairEntry } from '../records';
import type { DroppedFragmentsOf, ExtentReads, ExtentWrites } from '../store';
import { now } from '../clock';
import type { ExtentMapCache } from './extent-maps';
import { DfsError } from '../../errors';
import { bumpMeta, corrupt, type Sql } from './sql';
import type { Versions } from './versions';

export interface ExtentSql { id: Buffer; ino: number; offset: number; length: number; scheme: string; k: number; m: number; frag_len: number;
  logical_hash: Buffer; inline_data: Buffer | null; pack_id: Buffer | null; pack_offset: number | null; checksum: Buffer;
  born?: number; died?: number | null }
export interface FragmentSql { idx: number; disk_id: number; hash: Buffer }
export interface RepairSql { extent_id: Buffer; reason: string; queued_ms: number; checksum: Buffer }

/**
 * An extent row with its placements, verified (its checksum covers them). Inline and
 * packed extents own no fragments (records.ts ownsFragments): their rows are not looked
 * for (a lookup per small file was a fifth of a backup's walk).
 */
export function verifiedExtent(sql: Sql, r: ExtentSql): Extent {
  const frags = ownsFragments({ scheme: r.scheme as ExtentScheme })
    ? sql('SELECT idx, disk_id, hash FROM fragments WHERE extent_id = ? ORDER BY idx').all(r.id) as FragmentSql[] : [];
  const e = toExtent(r, frags);
  if (!extentChecksum(e).equals(r.checksum)) throw corrupt(sql, 'extents', `id ${r.id.toString('hex')}, file inode ${r.ino}`);
  return e;
}

export function extentReads(sql: Sql, maps: ExtentMapCache): ExtentReads {
  const verifyExtent = (r: ExtentSql): Extent => verifiedExtent(sql, r);
  const idsAfter = (after: Buffer, limit: number): Buffer[] =>
    (sql('SELECT id FROM extents WHERE id > ? ORDER BY id LIMIT ?').all(after, limit) as { id: Buffer }[]).map((r) => r.id);
  const getExtent = (id: Buffer): Extent | undefined => {
    const hit = maps.get(id);
    if (hit) return hit;
    const r = sql('SELECT * FROM extents WHERE id = ?').get(id) as ExtentSql | undefined;
    if (!r) return undefined;
    const e = verifyExtent(r);
    if (e.died === undefined) maps.put(e); // an ended extent is in no file's map
    return e;
  };
  return {
    extentsOf(ino) {
      const hit = maps.map(ino);
      if (hit) return hit;
      const extents = (sql('SELECT * FROM extents WHERE ino = ? AND died IS NULL ORDER BY offset').all(ino) as ExtentSql[]).map(verifyExtent);
      maps.setMap(ino, extents);
      return extents;
    },
    getExtent,
    hasFragment(extentId, index, diskId) {
      // gc deletes what this denies: answer from the verified extent (its checksum covers its placements), not a bare fragment row.
      const e = getExtent(extentId);
      return !!e && e.fragments.some((f) => f.index === index && f.diskId === diskId);
    },
    extentsOnDisk(diskId) {
      return (sql('SELECT DISTINCT extent_id FROM fragments WHERE disk_id = ?').all(diskId) as { extent_id: Buffer }[]).map((r) => r.extent_id);
    },
    fragmentCounts() {
      const rows = sql('SELECT disk_id, COUNT(*) AS n FROM fragments GROUP BY disk_id').all() as { disk_id: number; n: number }[];
      return new Map(rows.map((r) => [r.disk_id, r.n]));
    },
    *allExtentIds(batch = 1000) {
      for (let ids = idsAfter(Buffer.alloc(0), batch); ids.length > 0; ids = idsAfter(Buffer.from(ids[ids.length - 1]!), batch)) yield ids;
    },
    extentIdsAfter: idsAfter,
    repairQueue() {
      return (sql('SELECT * FROM repairs ORDER BY queued_ms').all() as RepairSql[]).map((r) => {
        const q = toRepair(r);
        if (!repairChecksum(q).equals(r.checksum)) throw corrupt(sql, 'repairs', `extent_id ${r.extent_id.toString('hex')}`);
        return q;
      });
    },
    // Statistics over every mark (scrub coverage): an aggregate reads no record whole, so no row is verified here.
    verification(sinceMs) {
      const r = sql(`SELECT COUNT(*) AS total, SUM(v.at_ms >= ?) AS recent, MIN(v.at_ms) AS oldest, SUM(v.at_ms IS NULL) AS never
                     FROM extents e LEFT JOIN verified v ON v.extent_id = e.id`).get(sinceMs) as
        { total: number; recent: number | null; oldest: number | null; never: number | null };
      return { total: r.total, verifiedSince: r.recent ?? 0, oldestMs: r.oldest, neverVerified: r.never ?? 0 };
    },
    packRefs(packId) {
      return (sql('SELECT * FROM extents WHERE pack_id = ? ORDER BY pack_offset').all(packId) as ExtentSql[]).map(verifyExtent);
    },
    sparsePackTotals(fraction) {
      const r = sql(`SELECT COUNT(*) AS packs, COALESCE(SUM(length), 0) AS bytes FROM (
                       SELECT p.length AS length, COALESCE(SUM(e.length), 0) AS live
                       FROM extents p LEFT JOIN extents e ON e.pack_id = p.id WHERE p.ino = ${PACK_INO}
                       GROUP BY p.id HAVING live <= p.length * ?)`).get(fraction) as { packs: number; bytes: number };
      return { packs: r.packs, bytes: r.bytes };
    },
    sparsePacks(fraction, limit) {
      return (sql(`SELECT p.id AS id, p.length AS length, COALESCE(SUM(e.length), 0) AS live
                   FROM extents p LEFT JOIN extents e ON e.pack_id = p.id WHERE p.ino = ${PACK_INO}
                   GROUP BY p.id HAVING live <= p.length * ? ORDER BY live, p.id LIMIT ?`).all(fraction, limit) as
        { id: Buffer; length: number; live: number }[]);
    },
    verifiedAt(extentId) {
      const r = sql('SELECT at_ms, checksum FROM verified WHERE extent_id = ?').get(extentId) as { at_ms: number; checksum: Buffer } | undefined;
      if (!r) return undefined;
      if (!verifiedChecksum(extentId, r.at_ms).equals(r.checksum)) throw corrupt(sql, 'verified', `extent_id ${extentId.toString('hex')}`);
      return r.at_ms;
    },
  };
}

/**
 * Every write here updates `maps` in the same call: the extent-map cache follows the tables exactly.
 *
 * An extent leaves its file (dropExtent) in one of two ways. Seen by a snapshot, or the
 * bytes behind another extent (a clone's or a rollback's reference: pack_id names it), it
 * stays with `died` set and its fragments stay. Otherwise it is deleted and its fragments
 * are returned for deletion after the commit, and so is what it referenced, once nothing
 * else needs that (collect).
 */
export function extentWrites(sql: Sql, maps: ExtentMapCache, versions: Versions): ExtentWrites {
  const markVerified = (extentId: Buffer, atMs = now()): void => {
    sql('INSERT OR REPLACE INTO verified (extent_id, at_ms, checksum) VALUES (?, ?, ?)').run(extentId, atMs, verifiedChecksum(extentId, atMs));
  };
  /** Delete one extent with its placements, repair and verified marks; its fragments are returned for deletion after commit. */
  const remove = (id: Buffer): DroppedFragmentsOf[] => {
    const frags = (sql('SELECT idx, disk_id, hash FROM fragments WHERE extent_id = ?').all(id) as FragmentSql[]).map(toRef);
    sql('DELETE FROM fragments WHERE extent_id = ?').run(id);
    sql('DELETE FROM repairs WHERE extent_id = ?').run(id);
    sql('DELETE FROM verified WHERE extent_id = ?').run(id);
    sql('DELETE FROM extents WHERE id = ?').run(id);
    maps.drop(id);
    return [{ extentId: id, fragments: frags }];
  };
  const referenced = (id: Buffer): boolean => !!sql('SELECT 1 FROM extents WHERE pack_id = ? LIMIT 1').get(id);
  /**
   * Delete an extent nothing needs any more: a pack (PACK_INO) no extent references, or an
   * ended extent no snapshot sees and nothing references; then what it referenced, likewise.
   */
  const collect = (id: Buffer): DroppedFragmentsOf[] => {
    const r = sql('SELECT ino, born, died, pack_id FROM extents WHERE id = ?').get(id) as
      { ino: number; born: number; died: number | null; pack_id: Buffer | null } | undefined;
    if (!r) return [];
    if (r.ino !== PACK_INO && r.died === null) return []; // still a file's
    if (referenced(id)) return [];
    if (r.died !== null && versions.seenBetween(r.born, r.died)) return [];
    const out = remove(id);
    if (r.pack_id) out.push(...collect(r.pack_id));
    return out;
  };
  const dropExtent = (id: Buffer): DroppedFragmentsOf[] => {
    const r = sql('SELECT ino, born, died, pack_id FROM extents WHERE id = ?').get(id) as
      { ino: number; born: number; died: number | null; pack_id: Buffer | null } | undefined;
    if (!r) return [];
    if (r.died === null && r.ino !== PACK_INO && (versions.seen(r.born) || referenced(id))) {
      sql('UPDATE extents SET died = ? WHERE id = ?').run(versions.writing(), id);
      maps.drop(id);
      return [];
    }
    if (r.died !== null) return collect(id);
    const out = remove(id);
    if (r.pack_id) out.push(...collect(r.pack_id));
    return out;
  };
  return {
    putExtent(e) {
      const existing = sql('SELECT born, died FROM extents WHERE id = ?').get(e.id) as { born: number; died: number | null } | undefined;
      // The same extent placed anew (repair, compaction) keeps its life; a new one starts now, and ends what was live at its offset.
      if (!existing) {
        const before = sql('SELECT id FROM extents WHERE ino = ? AND offset = ? AND died IS NULL').get(e.ino, e.offset) as { id: Buffer } | undefined;
        if (before && e.ino !== PACK_INO) dropExtent(before.id);
      }
      sql(`INSERT OR REPLACE INTO extents (id, ino, offset, length, scheme, k, m, frag_len, logical_hash, inline_data, pack_id, pack_offset, checksum, born, died)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
        .run(e.id, e.ino, e.offset, e.length, e.scheme, e.k, e.m, e.fragLen, e.logicalHash, e.inlineData, e.pack?.id ?? null,
          e.pack?.offset ?? null, extentChecksum(e), existing?.born ?? versions.writing(), existing?.died ?? null);
      sql('DELETE FROM fragments WHERE extent_id = ?').run(e.id);
      const ins = sql('INSERT INTO fragments (extent_id, idx, disk_id, hash) VALUES (?, ?, ?, ?)');
      for (const f of e.fragments) ins.run(e.id, f.index, f.diskId, f.hash);
      // Every fragment was just written from (or rebuilt to) its verified hash.
      markVerified(e.id);
      if (existing?.died != null) maps.drop(e.id);
      else maps.put({ ...e, died: undefined });
    },
    dropExtent,
    dropExtents(ino) {
      const ids = (sql('SELECT id FROM extents WHERE ino = ? AND died IS NULL').all(ino) as { id: Buffer }[]).map((r) => r.id);
      const dropped = ids.flatMap(dropExtent);
      maps.forget(ino);
      return dropped;
    },
    reviveExtent(id) {
      const r = sql('SELECT ino, died FROM extents WHERE id = ?').get(id) as { ino: number; died: number | null } | undefined;
      if (!r || r.died === null) return false;
      // A snapshot taken since it ended must go on not seeing it: then the caller references its bytes from a new extent instead.
      if (sql('SELECT 1 FROM snapshots WHERE gen >= ? LIMIT 1').get(r.died)) return false;
      sql('UPDATE extents SET died = NULL WHERE id = ?').run(id);
      // Its file's cached map lacks it: read the map again.
      maps.forget(r.ino);
      return true;
    },
    collectExtent: collect,
    adoptExtent(id, ino) {
      const r = sql('SELECT * FROM extents WHERE id = ?').get(id) as ExtentSql | undefined;
      if (!r || r.died !== null || r.ino === PACK_INO || r.ino === ino) {
        throw new DfsError('EINVAL', `extent ${id.toString('hex')} is no other file's live extent: it cannot be adopted by inode ${ino}`);
      }
      const e = verifiedExtent(sql, r);
      const before = sql('SELECT id FROM extents WHERE ino = ? AND offset = ? AND died IS NULL').get(ino, e.offset) as { id: Buffer } | undefined;
      const dropped = before ? dropExtent(before.id) : [];
      const moved: Extent = { ...e, ino };
      // Born now: a snapshot of an earlier generation sees the file as it was, not this extent at its offset.
      sql('UPDATE extents SET ino = ?, born = ?, checksum = ? WHERE id = ?').run(ino, versions.writing(), extentChecksum(moved), id);
      maps.forget(r.ino);
      maps.put({ ...moved, died: undefined });
      return dropped;
    },
    allocPackSeq() {
      return bumpMeta(sql, 'next_pack', 1);
    },
    markVerified,
    clearVerified(extentId) {
      sql('DELETE FROM verified WHERE extent_id = ?').run(extentId);
    },
    queueRepair(extentId, reason) {
      const q = { extentId, reason, queuedMs: now() };
      sql('INSERT OR IGNORE INTO repairs (extent_id, reason, queued_ms, checksum) VALUES (?, ?, ?, ?)').run(extentId, reason, q.queuedMs, repairChecksum(q));
    },
    clearRepair(extentId) {
      sql('DELETE FROM repairs WHERE extent_id = ?').run(extentId);
    },
  };
}

/** An extent as its row and its placements' rows hold it (unverified). */
export function toExtent(r: ExtentSql, fragments: readonly FragmentSql[]): Extent {
  const e: Extent = { id: r.id, ino: r.ino, offset: r.offset, length: r.length, scheme: r.scheme as ExtentScheme, k: r.k, m: r.m,
    fragLen: r.frag_len, logicalHash: r.logical_hash, inlineData: r.inline_data, fragments: fragments.map(toRef) };
  if (r.pack_id) e.pack = { id: r.pack_id, offset: r.pack_offset ?? 0 };
  if (r.died !== undefined && r.died !== null) e.died = r.died;
  return e;
}

function toRef(f: FragmentSql): FragmentRef {
  return { index: f.idx, diskId: f.disk_id, hash: f.hash };
}

export function toRepair(r: RepairSql): RepairEntry {
  return { extentId: r.extent_id, reason: r.reason, queuedMs: r.queued_ms };
}
