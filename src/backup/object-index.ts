/**
 * REPO/index.db: where each object lives (pack, offset, length), by its BLAKE3, in SQLite
 * on disk, so memory stays bounded whatever the repository's size. A cache of the packs:
 * everything in it can be rebuilt from their indexes (repo.ts rebuildIndex). It also
 * journals pack writes and deletions under way (`pending`), so a writer killed between
 * a pack's rename and its rows, or between a pack's last row and its unlink, is finished
 * by the next one; and holds prune's marks (the objects the kept backups reference).
 */
import Database from 'better-sqlite3';
import { DfsError } from '../errors';
import type { PackEntry } from './pack-format';

const SCHEMA_VERSION = 1;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS packs (no INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, size INTEGER NOT NULL,
  objects INTEGER NOT NULL, bytes INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS objects (hash BLOB PRIMARY KEY, pack INTEGER NOT NULL, offset INTEGER NOT NULL,
  length INTEGER NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS objects_by_pack ON objects (pack, offset);
CREATE TABLE IF NOT EXISTS pending (id TEXT PRIMARY KEY, op TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS marks (hash BLOB PRIMARY KEY) WITHOUT ROWID;
`;

/** Where an object's bytes are. */
export interface ObjectLoc {
  pack: string;
  offset: number;
  length: number;
}

export interface PackRow {
  id: string;
  size: number;
  /** Objects the pack holds (its index's entries), indexed here or not. */
  objects: number;
  bytes: number;
}

/** A pack's objects split by prune's marks. */
export interface PackLiveness {
  id: string;
  size: number;
  liveObjects: number;
  liveBytes: number;
}

export class ObjectIndex {
  private readonly stmts = new Map<string, Database.Statement>();

  private constructor(private readonly db: Database.Database, readonly file: string) {}

  /** Open `file` (creating it with `create`); EFORMAT when it is not an index this code reads. */
  static open(file: string, create: boolean): ObjectIndex {
    let db: Database.Database;
    try {
      db = new Database(file, { fileMustExist: !create });
      db.pragma('journal_mode = WAL');
      // Commits are ordered, not each synced: durable() makes them durable before anything relies on them.
      db.pragma('synchronous = NORMAL');
      db.exec(SCHEMA);
      const v = db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").get() as { value: number } | undefined;
      if (v === undefined) db.prepare("INSERT INTO meta (key, value) VALUES ('schema_version', ?)").run(SCHEMA_VERSION);
      else if (v.value !== SCHEMA_VERSION) {
        db.close();
        throw new DfsError('EFORMAT', `repository index ${file} has schema ${v.value}; this DynamicFS reads ${SCHEMA_VERSION} (rebuild it: dynamicfs backup rebuild-index)`, file);
      }
    } catch (err) {
      if (err instanceof DfsError) throw err;
      throw new DfsError('EFORMAT', `repository index ${file} cannot be opened: ${(err as Error).message} (rebuild it: dynamicfs backup rebuild-index)`, file);
    }
    return new ObjectIndex(db, file);
  }

  /** Open `file` only to read (no lock needed: SQLite's WAL lets a writer go on); undefined when it cannot be. */
  static openReadOnly(file: string): ObjectIndex | undefined {
    try {
      return new ObjectIndex(new Database(file, { fileMustExist: true, readonly: true }), file);
    } catch {
      return undefined;
    }
  }

  private sql(text: string): Database.Statement {
    let s = this.stmts.get(text);
    if (!s) {
      s = this.db.prepare(text);
      this.stmts.set(text, s);
    }
    return s;
  }

  /**
   * Make every commit so far durable (the WAL synced and checkpointed): before a manifest
   * that relies on the objects indexed is put in place, and before prune unlinks a pack
   * whose objects the index no longer places there. A commit lost to a power cut before
   * that leaves at most a pack no row names (a `write` whose journal row was lost too):
   * garbage that prune deletes.
   */
  durable(): void {
    this.db.pragma('wal_checkpoint(FULL)');
  }

  /** SQLite's quick_check: empty when the file is sound. */
  checkStructure(): string[] {
    const rows = this.db.pragma('quick_check') as { quick_check: string }[];
    return rows.map((r) => r.quick_check).filter((r) => r !== 'ok');
  }

  lookup(hash: Buffer): ObjectLoc | undefined {
    return this.sql('SELECT p.id AS pack, o.offset, o.length FROM objects o JOIN packs p ON p.no = o.pack WHERE o.hash = ?').get(hash) as ObjectLoc | undefined;
  }

  has(hash: Buffer): boolean {
    return this.sql('SELECT 1 FROM objects WHERE hash = ?').get(hash) !== undefined;
  }

  /** Journal a pack about to be written ('write') or deleted ('delete'). */
  setPending(id: string, op: 'write' | 'delete'): void {
    this.sql('INSERT OR REPLACE INTO pending (id, op) VALUES (?, ?)').run(id, op);
  }

  clearPending(id: string): void {
    this.sql('DELETE FROM pending WHERE id = ?').run(id);
  }

  pending(): { id: string; op: 'write' | 'delete' }[] {
    return this.sql('SELECT id, op FROM pending ORDER BY id').all() as { id: string; op: 'write' | 'delete' }[];
  }

  /**
   * A pack now durable in packs/: its row and its objects (an object already indexed in
   * another pack keeps that place), its write journal entry cleared, in one transaction.
   */
  addPack(id: string, size: number, entries: readonly PackEntry[]): void {
    this.db.transaction(() => this.insertPack(id, size, entries))();
  }

  private insertPack(id: string, size: number, entries: readonly PackEntry[]): number {
    const bytes = entries.reduce((s, e) => s + e.length, 0);
    const no = Number(this.sql('INSERT INTO packs (id, size, objects, bytes) VALUES (?, ?, ?, ?)').run(id, size, entries.length, bytes).lastInsertRowid);
    const put = this.sql('INSERT OR IGNORE INTO objects (hash, pack, offset, length) VALUES (?, ?, ?, ?)');
    for (const e of entries) put.run(e.hash, no, e.offset, e.length);
    this.sql('DELETE FROM pending WHERE id = ?').run(id);
    return no;
  }

  /**
   * Prune's rewrite: the live objects of `oldId` now live in `newId` (null: none did), the
   * old pack's rows go and its file is journalled for deletion, in one transaction.
   */
  replacePack(oldId: string, next: { id: string; size: number; entries: readonly PackEntry[] } | null): void {
    this.db.transaction(() => {
      const old = this.sql('SELECT no FROM packs WHERE id = ?').get(oldId) as { no: number } | undefined;
      if (!old) return;
      if (next) {
        const no = this.insertPack(next.id, next.size, []);
        const move = this.sql('UPDATE objects SET pack = ?, offset = ?, length = ? WHERE hash = ?');
        for (const e of next.entries) move.run(no, e.offset, e.length, e.hash);
        this.sql('UPDATE packs SET objects = ?, bytes = ? WHERE no = ?').run(next.entries.length, next.entries.reduce((s, e) => s + e.length, 0), no);
      }
      this.sql('DELETE FROM objects WHERE pack = ?').run(old.no);
      this.sql('DELETE FROM packs WHERE no = ?').run(old.no);
      this.sql('INSERT OR REPLACE INTO pending (id, op) VALUES (?, ?)').run(oldId, 'delete');
    })();
  }

  hasPack(id: string): boolean {
    return this.sql('SELECT 1 FROM packs WHERE id = ?').get(id) !== undefined;
  }

  *packs(): Generator<PackRow> {
    let after = '';
    for (;;) {
      const rows = this.sql('SELECT id, size, objects, bytes FROM packs WHERE id > ? ORDER BY id LIMIT 500').all(after) as PackRow[];
      if (rows.length === 0) return;
      yield* rows;
      after = rows[rows.length - 1]!.id;
    }
  }

  /** The objects the index places in pack `id`, in offset order. */
  objectsOf(id: string): PackEntry[] {
    return this.sql('SELECT o.hash, o.offset, o.length FROM objects o JOIN packs p ON p.no = o.pack WHERE p.id = ? ORDER BY o.offset').all(id) as PackEntry[];
  }

  totals(): { packs: number; objects: number; bytes: number; packBytes: number } {
    const o = this.sql('SELECT COUNT(*) AS n, COALESCE(SUM(length), 0) AS b FROM objects').get() as { n: number; b: number };
    const p = this.sql('SELECT COUNT(*) AS n, COALESCE(SUM(size), 0) AS s FROM packs').get() as { n: number; s: number };
    return { packs: p.n, objects: o.n, bytes: o.b, packBytes: p.s };
  }

  // Prune's marks: the objects some kept backup references, on disk.

  clearMarks(): void {
    this.sql('DELETE FROM marks').run();
  }

  /** Mark objects referenced by a kept backup (one transaction per call: give batches). */
  mark(hashes: readonly Buffer[]): void {
    const put = this.sql('INSERT OR IGNORE INTO marks (hash) VALUES (?)');
    this.db.transaction(() => { for (const h of hashes) put.run(h); })();
  }

  /** Referenced objects (marked) that no pack holds. */
  markedMissing(limit: number): Buffer[] {
    return (this.sql('SELECT m.hash FROM marks m LEFT JOIN objects o ON o.hash = m.hash WHERE o.hash IS NULL LIMIT ?').all(limit) as { hash: Buffer }[]).map((r) => r.hash);
  }

  /** Each pack with how much of it is marked (live), packs with unmarked objects or unindexed bytes only. */
  *packsWithDead(): Generator<PackLiveness> {
    let after = '';
    for (;;) {
      const rows = this.sql(`SELECT p.id, p.size, p.bytes, COUNT(m.hash) AS liveObjects, COALESCE(SUM(CASE WHEN m.hash IS NULL THEN 0 ELSE o.length END), 0) AS liveBytes
        FROM packs p LEFT JOIN objects o ON o.pack = p.no LEFT JOIN marks m ON m.hash = o.hash
        WHERE p.id > ? GROUP BY p.no ORDER BY p.id LIMIT 200`).all(after) as (PackLiveness & { bytes: number })[];
      if (rows.length === 0) return;
      for (const r of rows) if (r.liveBytes < r.bytes) yield { id: r.id, size: r.size, liveObjects: r.liveObjects, liveBytes: r.liveBytes };
      after = rows[rows.length - 1]!.id;
    }
  }

  /** Ids of the packs holding a marked object. */
  *packsWithMarked(): Generator<PackRow> {
    let after = '';
    for (;;) {
      const rows = this.sql(`SELECT p.id, p.size, p.objects, p.bytes FROM packs p WHERE p.id > ? AND EXISTS
        (SELECT 1 FROM objects o JOIN marks m ON m.hash = o.hash WHERE o.pack = p.no) ORDER BY p.id LIMIT 500`).all(after) as PackRow[];
      if (rows.length === 0) return;
      yield* rows;
      after = rows[rows.length - 1]!.id;
    }
  }

  /** The marked objects of pack `id`, in offset order. */
  liveObjectsOf(id: string): PackEntry[] {
    return this.sql(`SELECT o.hash, o.offset, o.length FROM objects o JOIN packs p ON p.no = o.pack JOIN marks m ON m.hash = o.hash
      WHERE p.id = ? ORDER BY o.offset`).all(id) as PackEntry[];
  }

  close(): void {
    this.db.close();
  }
}
