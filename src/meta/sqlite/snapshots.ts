/**
 * Snapshots in SQLite: their records, the namespace as one of them sees it (live rows born
 * at or before its generation, kept versions that lived across it: schema.ts VERSIONS),
 * what changed between two generations, their space, and the purge of the versions a
 * deleted snapshot alone saw. Every record is verified as it is read.
 */
import { DfsError } from '../../errors';
import {
  derivedSnapshotGuid, direntChecksum, inodeChecksum, snapshotChecksum, versionChecksum, xattrChecksum, type Dirent, type Extent, type Inode, type Snapshot,
} from '../records';
import { ROOT_INO, type ChangedKeys, type DroppedFragmentsOf, type NamespaceView, type SnapshotReads, type SnapshotUsage, type SnapshotWrites } from '../store';
import { verifiedExtent, type ExtentSql } from './extents';
import { toInode, verifyDirent, verifyInode, verifyXattr, type InodeSql } from './namespace';
import { corrupt, type Sql } from './sql';
import type { Versions } from './versions';

export interface SnapshotSql { id: number; name: string; gen: number; created_ms: number; held: number; checksum: Buffer; guid: Buffer; root: string }

export function toSnapshot(r: SnapshotSql): Snapshot {
  return { id: r.id, name: r.name, gen: r.gen, createdMs: r.created_ms, held: r.held !== 0, guid: r.guid, root: r.root };
}

function verifySnapshot(sql: Sql, r: SnapshotSql): Snapshot {
  const s = toSnapshot(r);
  if (!snapshotChecksum(s).equals(r.checksum)) throw corrupt(sql, 'snapshots', `id ${r.id}`);
  return s;
}

type Versioned<T> = T & { born: number; died: number | null };

/** A kept version's checksum binds its record's to the generations it lived in. */
function verifyVersion(sql: Sql, table: string, key: string, kind: 'inode' | 'dirent' | 'xattr', born: number, died: number, stored: Buffer, record: Buffer): void {
  if (!versionChecksum(kind, born, died, record).equals(stored)) throw corrupt(sql, table, `${key}, born ${born}`);
}

/** The namespace at generation `gen`: each query asks the live table (born ≤ gen) and the kept versions (born ≤ gen < died). */
export function viewAt(sql: Sql, gen: number): NamespaceView {
  const getInode = (ino: number): Inode | undefined => {
    const live = sql('SELECT * FROM inodes WHERE ino = ? AND born <= ?').get(ino, gen) as InodeSql | undefined;
    if (live) return verifyInode(sql, live);
    const kept = sql('SELECT * FROM snap_inodes WHERE ino = ? AND born <= ? AND died > ?').get(ino, gen, gen) as Versioned<InodeSql> | undefined;
    if (!kept) return undefined;
    const i = toInode(kept);
    verifyVersion(sql, 'snap_inodes', `ino ${ino}`, 'inode', kept.born, kept.died!, kept.checksum, inodeChecksum(i));
    return i;
  };
  type EntrySql = { parent: number; name: string; ino: number; checksum: Buffer; born: number; died: number | null };
  const entry = (r: EntrySql): Dirent & { parent: number } => {
    if (r.died === null) verifyDirent(sql, r.parent, r);
    else verifyVersion(sql, 'snap_dirents', `parent ${r.parent}, name ${JSON.stringify(r.name)}`, 'dirent', r.born, r.died, r.checksum, direntChecksum(r.parent, r.name, r.ino));
    return { parent: r.parent, name: r.name, ino: r.ino };
  };
  const linksOf = (ino: number): (Dirent & { parent: number })[] =>
    (sql(`SELECT parent, name, ino, checksum, born, NULL AS died FROM dirents WHERE ino = ? AND born <= ?
          UNION ALL SELECT parent, name, ino, checksum, born, died FROM snap_dirents WHERE ino = ? AND born <= ? AND died > ?
          ORDER BY parent, name`).all(ino, gen, ino, gen, gen) as EntrySql[]).map(entry);
  type XattrSql = { name: string; value: Buffer; checksum: Buffer; born: number; died: number | null };
  const xattr = (ino: number, r: XattrSql): Buffer => {
    if (r.died === null) verifyXattr(sql, ino, r.name, r);
    else verifyVersion(sql, 'snap_xattrs', `ino ${ino}, name ${JSON.stringify(r.name)}`, 'xattr', r.born, r.died, r.checksum, xattrChecksum(ino, r.name, r.value));
    return r.value;
  };
  return {
    gen,
    getInode,
    lookup(parent, name) {
      const r = sql(`SELECT parent, name, ino, checksum, born, NULL AS died FROM dirents WHERE parent = ? AND name = ? AND born <= ?
                     UNION ALL SELECT parent, name, ino, checksum, born, died FROM snap_dirents WHERE parent = ? AND name = ? AND born <= ? AND died > ?`)
        .get(parent, name, gen, parent, name, gen, gen) as EntrySql | undefined;
      return r && entry(r).ino;
    },
    readdir(parent) {
      return (sql(`SELECT parent, name, ino, checksum, born, NULL AS died FROM dirents WHERE parent = ? AND born <= ?
                   UNION ALL SELECT parent, name, ino, checksum, born, died FROM snap_dirents WHERE parent = ? AND born <= ? AND died > ?
                   ORDER BY name`).all(parent, gen, parent, gen, gen) as EntrySql[]).map((r) => {
        const e = entry(r);
        return { name: e.name, ino: e.ino };
      });
    },
    linksOf,
    pathOf(ino) {
      const names: string[] = [];
      let cur = ino;
      for (let guard = 0; cur !== ROOT_INO; guard++) {
        const link = linksOf(cur)[0];
        if (!link || guard >= 4096) return undefined;
        names.unshift(link.name);
        cur = link.parent;
      }
      return `/${names.join('/')}`;
    },
    getXattr(ino, name) {
      const r = sql(`SELECT name, value, checksum, born, NULL AS died FROM xattrs WHERE ino = ? AND name = ? AND born <= ?
                     UNION ALL SELECT name, value, checksum, born, died FROM snap_xattrs WHERE ino = ? AND name = ? AND born <= ? AND died > ?`)
        .get(ino, name, gen, ino, name, gen, gen) as XattrSql | undefined;
      return r && xattr(ino, r);
    },
    xattrs(ino) {
      const rows = sql(`SELECT name, value, checksum, born, NULL AS died FROM xattrs WHERE ino = ? AND born <= ?
                        UNION ALL SELECT name, value, checksum, born, died FROM snap_xattrs WHERE ino = ? AND born <= ? AND died > ?
                        ORDER BY name`).all(ino, gen, ino, gen, gen) as XattrSql[];
      return new Map(rows.map((r) => [r.name, xattr(ino, r)]));
    },
    extentsOf(ino): Extent[] {
      // Each half by its own index: the file's live extents, and those that ended after `gen`.
      return (sql(`SELECT * FROM extents WHERE ino = ? AND died IS NULL AND born <= ?
                   UNION ALL SELECT * FROM extents WHERE ino = ? AND died IS NOT NULL AND died > ? AND born <= ? ORDER BY offset`).all(ino, gen, ino, gen, gen) as ExtentSql[])
        .map((r) => verifiedExtent(sql, r));
    },
  };
}

/** The index of the first of the sorted `gens` at or above `g` (gens.length when none is). */
function firstAtOrAbove(gens: readonly number[], g: number): number {
  let lo = 0, hi = gens.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (gens[mid]! < g) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export function snapshotReads(sql: Sql): SnapshotReads {
  // Sums over live extents read the covering index extents_live (born, length): no table row.
  const liveBytes = (): number => (sql('SELECT COALESCE(SUM(length), 0) AS b FROM extents WHERE ino <> 0 AND died IS NULL').get() as { b: number }).b;
  const snapshots = (): Snapshot[] => (sql('SELECT * FROM snapshots ORDER BY gen, id').all() as SnapshotSql[]).map((r) => verifySnapshot(sql, r));
  return {
    snapshots,
    getSnapshot(name) {
      const r = sql('SELECT * FROM snapshots WHERE name = ?').get(name) as SnapshotSql | undefined;
      return r && verifySnapshot(sql, r);
    },
    snapshotsByGuid(guid) {
      return (sql('SELECT * FROM snapshots WHERE guid = ? ORDER BY root').all(guid) as SnapshotSql[]).map((r) => verifySnapshot(sql, r));
    },
    viewAt: (gen) => viewAt(sql, gen),
    changedBetween(from, to) {
      // A key changed when one of its versions was born or ended in (from, to]; a live row never ended.
      const inRange = '((born > ? AND born <= ?) OR (died > ? AND died <= ?))';
      const b = [from, to, from, to];
      const inodes = sql(`SELECT ino FROM inodes WHERE born > ? AND born <= ? UNION SELECT ino FROM snap_inodes WHERE ${inRange}`).all(from, to, ...b) as { ino: number }[];
      const dirents = sql(`SELECT parent, name FROM dirents WHERE born > ? AND born <= ? UNION SELECT parent, name FROM snap_dirents WHERE ${inRange}`)
        .all(from, to, ...b) as { parent: number; name: string }[];
      const xattrs = sql(`SELECT ino FROM xattrs WHERE born > ? AND born <= ? UNION SELECT ino FROM snap_xattrs WHERE ${inRange}`).all(from, to, ...b) as { ino: number }[];
      const extents = sql(`SELECT DISTINCT ino FROM extents WHERE ino <> 0 AND ((born > ? AND born <= ?) OR (died IS NOT NULL AND died > ? AND died <= ?))`)
        .all(...b) as { ino: number }[];
      return { inodes: inodes.map((r) => r.ino), dirents, xattrInodes: xattrs.map((r) => r.ino), extentInodes: extents.map((r) => r.ino) } satisfies ChangedKeys;
    },
    snapshotUsage() {
      const snaps = snapshots();
      if (snaps.length === 0) return [];
      const gens = snaps.map((s) => s.gen);
      const n = snaps.length;
      // What snapshot i sees: the live extents and files less those born after it, plus the ended ones alive at it.
      // Only what changed since the oldest snapshot is read, each row once; every snapshot's share is found by its generation.
      const bornLater = new Array<number>(n + 1).fill(0);
      const filesLater = new Array<number>(n + 1).fill(0);
      for (const r of sql('SELECT born, SUM(length) AS b FROM extents WHERE ino <> 0 AND died IS NULL AND born > ? GROUP BY born').all(gens[0]) as { born: number; b: number }[]) {
        bornLater[firstAtOrAbove(gens, r.born)] += r.b; // seen by none from this snapshot on: subtract for those before
      }
      for (const r of sql("SELECT born, COUNT(*) AS n FROM inodes WHERE kind = 'file' AND born > ? GROUP BY born").all(gens[0]) as { born: number; n: number }[]) {
        filesLater[firstAtOrAbove(gens, r.born)] += r.n;
      }
      // A row alive over [born, died) adds to the snapshots in it: +len at the first, -len past the last.
      const keptBytes = new Array<number>(n + 1).fill(0);
      const keptFiles = new Array<number>(n + 1).fill(0);
      const unique = new Array<number>(n).fill(0);
      for (const r of sql('SELECT born, died, length FROM extents WHERE ino <> 0 AND died IS NOT NULL').all() as { born: number; died: number; length: number }[]) {
        const lo = firstAtOrAbove(gens, r.born), hi = firstAtOrAbove(gens, r.died);
        if (lo >= hi) continue;
        keptBytes[lo]! += r.length;
        keptBytes[hi]! -= r.length;
        if (hi - lo === 1) unique[lo]! += r.length;
      }
      for (const r of sql("SELECT born, died FROM snap_inodes WHERE kind = 'file'").all() as { born: number; died: number }[]) {
        const lo = firstAtOrAbove(gens, r.born), hi = firstAtOrAbove(gens, r.died);
        if (lo >= hi) continue;
        keptFiles[lo]! += 1;
        keptFiles[hi]! -= 1;
      }
      const live = liveBytes();
      const liveFiles = (sql("SELECT COUNT(*) AS n FROM inodes WHERE kind = 'file'").get() as { n: number }).n;
      const out: SnapshotUsage[] = [];
      // bornLater[j] holds rows born in (gens[j-1], gens[j]]: unseen by snapshots 0..j-1. Sum from the top down.
      let laterBytes = 0, laterFiles = 0;
      const after = new Array<{ b: number; f: number }>(n);
      for (let i = n - 1; i >= 0; i--) {
        laterBytes += bornLater[i + 1]!;
        laterFiles += filesLater[i + 1]!;
        after[i] = { b: laterBytes, f: laterFiles };
      }
      let kb = 0, kf = 0;
      for (let i = 0; i < n; i++) {
        kb += keptBytes[i]!;
        kf += keptFiles[i]!;
        out.push({ name: snaps[i]!.name, referencedBytes: live - after[i]!.b + kb, uniqueBytes: unique[i]!, files: liveFiles - after[i]!.f + kf });
      }
      return out;
    },
    spaceByOwner() {
      const newest = (sql('SELECT MAX(gen) AS g FROM snapshots').get() as { g: number | null }).g ?? -1;
      const shared = (sql('SELECT COALESCE(SUM(length), 0) AS b FROM extents WHERE ino <> 0 AND died IS NULL AND born <= ?').get(newest) as { b: number }).b;
      const kept = (sql('SELECT COALESCE(SUM(length), 0) AS b FROM extents WHERE ino <> 0 AND died IS NOT NULL').get() as { b: number }).b;
      return { liveBytes: liveBytes(), sharedBytes: shared, snapshotOnlyBytes: kept };
    },
  };
}

export function snapshotWrites(sql: Sql, versions: Versions, collectExtent: (id: Buffer) => DroppedFragmentsOf[]): SnapshotWrites {
  const byName = (name: string): Snapshot => {
    const r = sql('SELECT * FROM snapshots WHERE name = ?').get(name) as SnapshotSql | undefined;
    if (!r) throw new DfsError('ENOENT', `no snapshot named "${name}" (see \`dynamicfs snapshot list\`)`, name);
    return verifySnapshot(sql, r);
  };
  const put = (s: Snapshot): void => {
    sql('INSERT OR REPLACE INTO snapshots (id, name, gen, created_ms, held, checksum, guid, root) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
      .run(s.id, s.name, s.gen, s.createdMs, s.held ? 1 : 0, snapshotChecksum(s), s.guid, s.root);
  };
  return {
    createSnapshot(name, gen, createdMs, guid, root = '/') {
      if (sql('SELECT 1 FROM snapshots WHERE name = ?').get(name)) {
        throw new DfsError('EEXIST', `a snapshot named "${name}" exists already; pick another name or delete it first`, name);
      }
      const id = ((sql('SELECT MAX(id) AS id FROM snapshots').get() as { id: number | null }).id ?? 0) + 1;
      // A record of older code names no guid: it gets the one the upgrade would have given it.
      const identity = guid === undefined ? derivedSnapshotGuid(id, name, gen, createdMs) : Buffer.from(guid);
      if (identity.length !== 16) throw new DfsError('EINVAL', `a snapshot's guid is 16 bytes, not ${identity.length}`, name);
      if (sql('SELECT 1 FROM snapshots WHERE guid = ? AND root = ?').get(identity, root)) {
        throw new DfsError('EEXIST', `snapshot ${identity.toString('hex')} is at ${root} in this pool already`, name);
      }
      put({ id, name, gen, createdMs, held: false, guid: identity, root });
      versions.forget();
      return id;
    },
    deleteSnapshot(name) {
      const s = byName(name);
      if (s.held) throw new DfsError('EBUSY', `snapshot "${name}" is held; \`dynamicfs snapshot release\` it first`, name);
      sql('DELETE FROM snapshots WHERE id = ?').run(s.id);
      versions.forget();
      const prev = (sql('SELECT MAX(gen) AS g FROM snapshots WHERE gen <= ?').get(s.gen) as { g: number | null }).g;
      const next = (sql('SELECT MIN(gen) AS g FROM snapshots WHERE gen >= ?').get(s.gen) as { g: number | null }).g;
      // Another snapshot of the same generation sees every version this one did: nothing to drop.
      if (prev === s.gen || next === s.gen) return { after: s.gen, gen: s.gen, until: s.gen };
      return { after: prev ?? -1, gen: s.gen, until: next ?? versions.writing() };
    },
    setSnapshotHeld(name, held) {
      put({ ...byName(name), held });
    },
    purgeVersions({ after, gen, until }, limit) {
      // Versions born after the previous snapshot that ended by the next one: the deleted snapshot alone saw them.
      const where = 'died > ? AND died <= ? AND born > ? AND born <= ?';
      const args = [gen, until, after, gen];
      const unseen = (born: number, died: number): boolean => !versions.seenBetween(born, died);
      let count = 0;
      const inodes = sql(`SELECT ino, born, died FROM snap_inodes WHERE ${where} LIMIT ?`).all(...args, limit) as { ino: number; born: number; died: number }[];
      for (const r of inodes) if (unseen(r.born, r.died)) count += sql('DELETE FROM snap_inodes WHERE ino = ? AND born = ?').run(r.ino, r.born).changes;
      const dirents = sql(`SELECT parent, name, born, died FROM snap_dirents WHERE ${where} LIMIT ?`).all(...args, limit) as
        { parent: number; name: string; born: number; died: number }[];
      for (const r of dirents) {
        if (unseen(r.born, r.died)) count += sql('DELETE FROM snap_dirents WHERE parent = ? AND name = ? AND born = ?').run(r.parent, r.name, r.born).changes;
      }
      const xattrs = sql(`SELECT ino, name, born, died FROM snap_xattrs WHERE ${where} LIMIT ?`).all(...args, limit) as
        { ino: number; name: string; born: number; died: number }[];
      for (const r of xattrs) {
        if (unseen(r.born, r.died)) count += sql('DELETE FROM snap_xattrs WHERE ino = ? AND name = ? AND born = ?').run(r.ino, r.name, r.born).changes;
      }
      const extents = sql(`SELECT id FROM extents e WHERE died IS NOT NULL AND ${where} AND NOT EXISTS (SELECT 1 FROM extents r WHERE r.pack_id = e.id) LIMIT ?`).all(...args, limit) as { id: Buffer }[];
      const dropped: DroppedFragmentsOf[] = [];
      for (const r of extents) {
        const out = collectExtent(r.id);
        if (out.length > 0) count++;
        dropped.push(...out);
      }
      // Referenced extents are left out above (the last reference collects them); stop too when a batch dropped nothing.
      const more = count > 0 && [inodes, dirents, xattrs, extents].some((rows) => rows.length === limit);
      return { versions: count, dropped, more };
    },
  };
}
