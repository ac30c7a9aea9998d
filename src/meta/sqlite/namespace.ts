/** The namespace in SQLite: inodes, dirents and xattrs, verified on read (from SQL; the cache holds only verified or written records). */
import { direntChecksum, inodeChecksum, versionChecksum, xattrChecksum, type Inode, type InodeKind, type Dirent } from '../records';
import { ROOT_INO, type NamespaceReads, type NamespaceWrites } from '../store';
import { bumpMeta, corrupt, metaValue, putMeta, type Sql } from './sql';
import type { Versions } from './versions';

export interface InodeSql { ino: number; kind: string; mode: number; uid: number; gid: number; size: number; nlink: number; atime_ms: number;
  mtime_ms: number; ctime_ms: number; policy: string | null; target: string | null; rdev: number; checksum: Buffer }
export interface DirentSql { name: string; ino: number; checksum: Buffer }

/**
 * Verified inodes by number and directory entries by (parent, name), kept coherent by
 * this connection's writes (the one writer): getattr and the path walk of every FUSE
 * call are answered from memory instead of a query (and a checksum) per call. A
 * rolled-back transaction clears both (its writes had updated them). Bounded: past MAX
 * entries a map starts over.
 */
export class NamespaceCache {
  private static readonly MAX = 200_000;
  private readonly inodes = new Map<number, Inode>();
  private readonly dirents = new Map<string, number>();
  /** Entries linked or unlinked (MetaStore.nameChanges). */
  nameChanges = 0;
  inode(ino: number): Inode | undefined {
    const i = this.inodes.get(ino);
    return i && { ...i };
  }
  setInode(i: Inode): void {
    if (this.inodes.size >= NamespaceCache.MAX) this.inodes.clear();
    this.inodes.set(i.ino, { ...i });
  }
  deleteInode(ino: number): void {
    this.inodes.delete(ino);
  }
  entry(parent: number, name: string): number | undefined {
    return this.dirents.get(`${parent}/${name}`);
  }
  setEntry(parent: number, name: string, ino: number): void {
    if (this.dirents.size >= NamespaceCache.MAX) this.dirents.clear();
    this.dirents.set(`${parent}/${name}`, ino);
  }
  deleteEntry(parent: number, name: string): void {
    this.dirents.delete(`${parent}/${name}`);
  }
  clear(): void {
    this.inodes.clear();
    this.dirents.clear();
  }
}

export function namespaceReads(sql: Sql, cache: NamespaceCache): NamespaceReads {
  /** A dirent row read from SQL; one the cache already holds as is was verified (or written) before and costs no hash. */
  const entry = (parent: number, r: DirentSql): Dirent => {
    if (cache.entry(parent, r.name) !== r.ino) {
      verifyDirent(sql, parent, r);
      cache.setEntry(parent, r.name, r.ino);
    }
    return { name: r.name, ino: r.ino };
  };
  const parentOf = (ino: number): (Dirent & { parent: number }) | undefined => {
    const r = sql('SELECT parent, name, ino, checksum FROM dirents WHERE ino = ? LIMIT 1').get(ino) as (DirentSql & { parent: number }) | undefined;
    return r && { parent: r.parent, ...entry(r.parent, r) };
  };
  return {
    getInode(ino) {
      const hit = cache.inode(ino);
      if (hit) return hit;
      const r = sql('SELECT * FROM inodes WHERE ino = ?').get(ino) as InodeSql | undefined;
      if (!r) return undefined;
      const i = verifyInode(sql, r);
      cache.setInode(i);
      return i;
    },
    lookup(parent, name) {
      const hit = cache.entry(parent, name);
      if (hit !== undefined) return hit;
      const r = sql('SELECT name, ino, checksum FROM dirents WHERE parent = ? AND name = ?').get(parent, name) as DirentSql | undefined;
      return r && entry(parent, r).ino;
    },
    readdir(parent) {
      return (sql('SELECT name, ino, checksum FROM dirents WHERE parent = ? ORDER BY name').all(parent) as DirentSql[]).map((r) => entry(parent, r));
    },
    readdirKinds(parent) {
      // The entry's inode comes along whole, so its kind is verified as the inode (or taken from the cache).
      const rows = sql(`SELECT d.name AS d_name, d.checksum AS d_checksum, i.* FROM dirents d JOIN inodes i ON i.ino = d.ino
                        WHERE d.parent = ? ORDER BY d.name`).all(parent) as (InodeSql & { d_name: string; d_checksum: Buffer })[];
      return rows.map((r) => {
        const d = entry(parent, { name: r.d_name, ino: r.ino, checksum: r.d_checksum });
        let i = cache.inode(r.ino);
        if (!i) {
          i = verifyInode(sql, r);
          cache.setInode(i);
        }
        return { ...d, kind: i.kind };
      });
    },
    parentOf,
    pathOf(ino) {
      const names: string[] = [];
      let cur = ino;
      for (let guard = 0; cur !== ROOT_INO && guard < 4096; guard++) {
        const d = parentOf(cur);
        if (!d) return `<inode ${ino}, unlinked>`;
        names.unshift(d.name);
        cur = d.parent;
      }
      return `/${names.join('/')}`;
    },
    getXattr(ino, name) {
      const r = sql('SELECT value, checksum FROM xattrs WHERE ino = ? AND name = ?').get(ino, name) as { value: Buffer; checksum: Buffer } | undefined;
      if (!r) return undefined;
      verifyXattr(sql, ino, name, r);
      return r.value;
    },
    listXattrs(ino) {
      const rows = sql('SELECT name, value, checksum FROM xattrs WHERE ino = ? ORDER BY name').all(ino) as { name: string; value: Buffer; checksum: Buffer }[];
      return rows.map((r) => verifyXattr(sql, ino, r.name, r));
    },
    unlinkedInodes() {
      return (sql('SELECT ino FROM inodes WHERE nlink = 0').all() as { ino: number }[]).map((r) => r.ino);
    },
    counts() {
      const i = sql("SELECT COUNT(*) AS n, SUM(kind = 'file') AS f, SUM(kind = 'dir') AS d, COALESCE(SUM(CASE WHEN kind = 'file' THEN size END), 0) AS b FROM inodes")
        .get() as { n: number; f: number; d: number; b: number };
      const e = sql('SELECT COUNT(*) AS n FROM extents').get() as { n: number };
      return { inodes: i.n, files: i.f ?? 0, dirs: i.d ?? 0, extents: e.n, bytes: i.b };
    },
    nameChanges() {
      return cache.nameChanges;
    },
  };
}

export function namespaceWrites(sql: Sql, cache: NamespaceCache, versions: Versions): NamespaceWrites {
  /** Keep the live inode (and with `xattrs`, its attributes) for the snapshots that see it, before it changes or goes. */
  const keepInode = (ino: number, xattrs: boolean): void => {
    if (versions.newestSnapshot() < 0) return;
    const r = sql('SELECT * FROM inodes WHERE ino = ?').get(ino) as (InodeSql & { born: number }) | undefined;
    if (r && versions.seen(r.born)) {
      const died = versions.writing();
      const i = verifyInode(sql, r);
      sql(`INSERT OR REPLACE INTO snap_inodes (ino, born, died, kind, mode, uid, gid, size, nlink, atime_ms, mtime_ms, ctime_ms, policy, target, rdev, checksum)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
        .run(i.ino, r.born, died, i.kind, i.mode, i.uid, i.gid, i.size, i.nlink, i.atimeMs, i.mtimeMs, i.ctimeMs, i.policy, i.target, i.rdev,
          versionChecksum('inode', r.born, died, r.checksum));
    }
    if (!xattrs) return;
    const rows = sql('SELECT name, value, born, checksum FROM xattrs WHERE ino = ?').all(ino) as { name: string; value: Buffer; born: number; checksum: Buffer }[];
    for (const x of rows) keepXattr(ino, x);
  };
  const keepXattr = (ino: number, x: { name: string; value: Buffer; born: number; checksum: Buffer }): void => {
    if (!versions.seen(x.born)) return;
    verifyXattr(sql, ino, x.name, x);
    const died = versions.writing();
    sql('INSERT OR REPLACE INTO snap_xattrs (ino, name, born, died, value, checksum) VALUES (?, ?, ?, ?, ?, ?)')
      .run(ino, x.name, x.born, died, x.value, versionChecksum('xattr', x.born, died, x.checksum));
  };
  const keepXattrNamed = (ino: number, name: string): void => {
    if (versions.newestSnapshot() < 0) return;
    const x = sql('SELECT name, value, born, checksum FROM xattrs WHERE ino = ? AND name = ?').get(ino, name) as
      { name: string; value: Buffer; born: number; checksum: Buffer } | undefined;
    if (x) keepXattr(ino, x);
  };
  return {
    allocIno() {
      return bumpMeta(sql, 'next_ino');
    },
    claimIno(ino) {
      const next = metaValue(sql, 'next_ino');
      if (typeof next !== 'number') throw corrupt(sql, 'meta', 'key next_ino');
      if (next <= ino) putMeta(sql, 'next_ino', ino + 1);
    },
    putInode(i) {
      keepInode(i.ino, false);
      writeInode(sql, i, versions.writing());
      cache.setInode(i);
    },
    deleteInode(ino) {
      keepInode(ino, true);
      cache.deleteInode(ino);
      sql('DELETE FROM inodes WHERE ino = ?').run(ino);
      sql('DELETE FROM xattrs WHERE ino = ?').run(ino);
    },
    link(parent, name, ino) {
      cache.nameChanges++;
      sql('INSERT INTO dirents (parent, name, ino, checksum, born) VALUES (?, ?, ?, ?, ?)').run(parent, name, ino, direntChecksum(parent, name, ino), versions.writing());
      cache.setEntry(parent, name, ino);
    },
    unlink(parent, name) {
      cache.nameChanges++;
      cache.deleteEntry(parent, name);
      if (versions.newestSnapshot() >= 0) {
        const r = sql('SELECT name, ino, born, checksum FROM dirents WHERE parent = ? AND name = ?').get(parent, name) as (DirentSql & { born: number }) | undefined;
        if (r && versions.seen(r.born)) {
          verifyDirent(sql, parent, r);
          const died = versions.writing();
          sql('INSERT OR REPLACE INTO snap_dirents (parent, name, born, died, ino, checksum) VALUES (?, ?, ?, ?, ?, ?)')
            .run(parent, name, r.born, died, r.ino, versionChecksum('dirent', r.born, died, r.checksum));
        }
      }
      sql('DELETE FROM dirents WHERE parent = ? AND name = ?').run(parent, name);
    },
    setXattr(ino, name, value) {
      keepXattrNamed(ino, name);
      sql('INSERT OR REPLACE INTO xattrs (ino, name, value, checksum, born) VALUES (?, ?, ?, ?, ?)')
        .run(ino, name, value, xattrChecksum(ino, name, value), versions.writing());
    },
    removeXattr(ino, name) {
      keepXattrNamed(ino, name);
      return sql('DELETE FROM xattrs WHERE ino = ? AND name = ?').run(ino, name).changes > 0;
    },
  };
}

/** Insert or replace an inode with its checksum, written in generation `born` (also how a new store writes its root, born 0). */
export function writeInode(sql: Sql, i: Inode, born = 0): void {
  sql(`INSERT OR REPLACE INTO inodes (ino, kind, mode, uid, gid, size, nlink, atime_ms, mtime_ms, ctime_ms, policy, target, rdev, checksum, born)
              VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
    .run(i.ino, i.kind, i.mode, i.uid, i.gid, i.size, i.nlink, i.atimeMs, i.mtimeMs, i.ctimeMs, i.policy, i.target, i.rdev, inodeChecksum(i), born);
}

export function toInode(r: InodeSql): Inode {
  return { ino: r.ino, kind: r.kind as InodeKind, mode: r.mode, uid: r.uid, gid: r.gid, size: r.size, nlink: r.nlink,
    atimeMs: r.atime_ms, mtimeMs: r.mtime_ms, ctimeMs: r.ctime_ms, policy: r.policy, target: r.target, rdev: r.rdev };
}

export function verifyInode(sql: Sql, r: InodeSql): Inode {
  const i = toInode(r);
  if (!inodeChecksum(i).equals(r.checksum)) throw corrupt(sql, 'inodes', `ino ${r.ino}`);
  return i;
}

export function verifyDirent(sql: Sql, parent: number, r: DirentSql): void {
  if (!direntChecksum(parent, r.name, r.ino).equals(r.checksum)) throw corrupt(sql, 'dirents', `parent ${parent}, name ${JSON.stringify(r.name)}`);
}

export function verifyXattr(sql: Sql, ino: number, name: string, r: { value: Buffer; checksum: Buffer }): string {
  if (!xattrChecksum(ino, name, r.value).equals(r.checksum)) throw corrupt(sql, 'xattrs', `ino ${ino}, name ${JSON.stringify(name)}`);
  return name;
}
