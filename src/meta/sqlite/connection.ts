/**
 * Opening the SQLite store: one database file (better-sqlite3, WAL, synchronous=FULL, so a
 * transaction that returned from COMMIT survives power loss, until setDurableCommits(false)),
 * created with its schema and
 * root directory, or upgraded in place from an older schema version.
 */
import Database from 'better-sqlite3';
import { DfsError } from '../../errors';
import { derivedSnapshotGuid, newInode, snapshotChecksum, snapshotChecksumV1 } from '../records';
import { ROOT_INO } from '../store';
import { writeInode } from './namespace';
import { SCHEMA, SCHEMA_VERSION, SNAPSHOT_IDENTITY_COLUMNS, VERSION_COLUMNS, VERSIONS } from './schema';
import { sumEveryRow, CHECKSUMMED_IN_5 } from './checksums';
import { corrupt, metaValue, putMeta, statementCache, type Sql } from './sql';

export interface Connection {
  readonly db: Database.Database;
  readonly sql: Sql;
}

/** Address space mapped for reads (not memory: the pages are the page cache's). */
const MMAP_BYTES = 1 << 30;

/** Open (or with create, create) the database at `file`; a reader (readonly) never upgrades. */
export function openConnection(file: string, opts: { create?: boolean; readonly?: boolean }): Connection {
  let db: Database.Database;
  try {
    db = new Database(file, { fileMustExist: !opts.create, readonly: opts.readonly ?? false });
  } catch (err) {
    throw new DfsError('ENOTPOOL', `cannot open metadata store ${file}: ${(err as Error).message}`, file);
  }
  if (!opts.readonly) {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
  }
  db.pragma('foreign_keys = OFF');
  // Reads through a read-only mapping, not a pread per page: a record longer than a page
  // (an inline extent's bytes) spills to overflow pages, which SQLite otherwise reads with
  // a system call each, uncached; a snapshot walk spent most of its time there (measured:
  // extentsOf 56 → 25 µs a file). SQLite writes with write() still; the cost is a SIGBUS
  // instead of SQLITE_IOERR when the disk fails under a mapped page.
  db.pragma(`mmap_size = ${MMAP_BYTES}`);
  const conn = { db, sql: statementCache(db) };
  if (opts.create) initSchema(conn);
  if (!opts.readonly) upgrade(conn);
  // Read unverified first: a store older than 5 has no meta checksums to verify against.
  const version = schemaVersion(conn.sql);
  if (version !== SCHEMA_VERSION) {
    db.close();
    throw new DfsError('EFORMAT', `metadata store ${file} has schema version ${String(version)}; this DynamicFS reads version ${SCHEMA_VERSION}`, file);
  }
  try {
    metaValue(conn.sql, 'schema_version');
  } catch (err) {
    db.close();
    throw err;
  }
  return conn;
}

function schemaVersion(sql: Sql): unknown {
  return (sql("SELECT value FROM meta WHERE key = 'schema_version'").get() as { value: unknown } | undefined)?.value;
}

function initSchema({ db, sql }: Connection): void {
  db.exec(SCHEMA);
  if (!hasColumn(sql, 'inodes', 'born')) addVersions({ db, sql });
  const now = Date.now();
  db.transaction(() => {
    const initial: [string, number][] = [['schema_version', SCHEMA_VERSION], ['generation', 0], ['next_ino', ROOT_INO + 1]];
    for (const [key, value] of initial) if (!sql('SELECT 1 FROM meta WHERE key = ?').get(key)) putMeta(sql, key, value);
    if (!sql('SELECT 1 FROM inodes WHERE ino = ?').get(ROOT_INO)) writeInode(sql, newInode(ROOT_INO, 'dir', 0o755, now));
  })();
}

/**
 * Bring an older store up to SCHEMA_VERSION in one transaction. 1 → 2: the new tables;
 * every extent counts as verified now (its hashes were checked when written).
 * 2 → 3: inodes.rdev, 0 for every existing inode. 3 → 4: extents.pack_id and pack_offset
 * (NULL: no existing extent is packed) and the index by pack. 4 → 5: a checksum column on
 * every table that had none, computed here for every existing row (checksums.ts).
 * 5 → 6: disk_events.req_id, NULL for every existing event (its checksum stays valid).
 * 6 → 7: the versions for snapshots (schema.ts VERSIONS): born 0 on every row, no
 * snapshot, no kept version (no checksum changes). 7 → 8: each snapshot's guid, derived
 * from its row (records.ts derivedSnapshotGuid), and root '/', its checksum rewritten
 * (snapshot/2) once the old one verifies; from 1 to 6 the table is made with them.
 */
function upgrade({ db, sql }: Connection): void {
  const from = schemaVersion(sql);
  if (from !== 1 && from !== 2 && from !== 3 && from !== 4 && from !== 5 && from !== 6 && from !== 7) return;
  if (from === 6 && hasColumn(sql, 'inodes', 'born')) throw corrupt(sql, 'meta', 'key schema_version');
  if (from === 7 && hasColumn(sql, 'snapshots', 'guid')) throw corrupt(sql, 'meta', 'key schema_version');
  // A store that already has a later version's columns is that version whatever its version row says: that row is damaged.
  if (from < 5 && hasColumn(sql, 'meta', 'checksum')) throw corrupt(sql, 'meta', 'key schema_version');
  if (from === 5 && hasColumn(sql, 'disk_events', 'req_id')) throw corrupt(sql, 'meta', 'key schema_version');
  db.transaction(() => {
    if (from < 5) upgradeTo5({ db, sql }, from as 1 | 2 | 3 | 4);
    // Format 1 had no disk_events: upgradeTo5's SCHEMA made it with the column already.
    if (!hasColumn(sql, 'disk_events', 'req_id')) sql('ALTER TABLE disk_events ADD COLUMN req_id TEXT').run();
    if (from < 7) addVersions({ db, sql });
    else addSnapshotIdentity({ db, sql });
    if (from >= 5) {
      // Its rows are summed already: the version row is verified, then rewritten with the checksum of its new value.
      metaValue(sql, 'schema_version');
      putMeta(sql, 'schema_version', SCHEMA_VERSION);
    } else {
      sql("UPDATE meta SET value = ? WHERE key = 'schema_version'").run(SCHEMA_VERSION);
      sumEveryRow(sql);
    }
  })();
}

/** Format 7's columns, indexes and tables (schema.ts VERSIONS). */
function addVersions({ db, sql }: Connection): void {
  for (const statement of VERSION_COLUMNS) sql(statement).run();
  db.exec(VERSIONS);
}

/** Format 7 up to 8: every snapshot verified as it was, then given its derived guid and root '/' under a snapshot/2 checksum. */
function addSnapshotIdentity({ db, sql }: Connection): void {
  for (const statement of SNAPSHOT_IDENTITY_COLUMNS) sql(statement).run();
  type Row = { id: number; name: string; gen: number; created_ms: number; held: number; checksum: Buffer };
  for (const r of sql('SELECT id, name, gen, created_ms, held, checksum FROM snapshots').all() as Row[]) {
    const old = { id: r.id, name: r.name, gen: r.gen, createdMs: r.created_ms, held: r.held !== 0 };
    if (!snapshotChecksumV1(old).equals(r.checksum)) throw corrupt(sql, 'snapshots', `id ${r.id}`);
    const s = { ...old, guid: derivedSnapshotGuid(r.id, r.name, r.gen, r.created_ms), root: '/' };
    sql('UPDATE snapshots SET guid = ?, root = ?, checksum = ? WHERE id = ?').run(s.guid, s.root, snapshotChecksum(s), r.id);
  }
  db.exec(VERSIONS);
}

function hasColumn(sql: Sql, table: string, column: string): boolean {
  return (sql(`PRAGMA table_info(${table})`).all() as { name: string }[]).some((c) => c.name === column);
}

/** Formats 1 to 4 up to 5, inside upgrade's transaction (its checksums computed after, by sumEveryRow). */
function upgradeTo5({ db, sql }: Connection, from: 1 | 2 | 3 | 4): void {
  if (from < 3) sql('ALTER TABLE inodes ADD COLUMN rdev INTEGER NOT NULL DEFAULT 0').run();
  if (from < 4) {
    sql('ALTER TABLE extents ADD COLUMN pack_id BLOB').run();
    sql('ALTER TABLE extents ADD COLUMN pack_offset INTEGER').run();
  }
  // Format 1 lacks the format-2 tables: SCHEMA creates them below, checksum column included.
  const unsummed = from === 1 ? ['meta', 'disks', 'dirents', 'repairs'] : CHECKSUMMED_IN_5;
  for (const table of unsummed) sql(`ALTER TABLE ${table} ADD COLUMN checksum BLOB NOT NULL DEFAULT x''`).run();
  // SCHEMA's IF NOT EXISTS adds what is new (format 1: the tables of format 2; 1 to 3: the pack index).
  db.exec(SCHEMA);
  if (from === 1) {
    const mark = sql("INSERT OR IGNORE INTO verified (extent_id, at_ms, checksum) VALUES (?, ?, x'')");
    const now = Date.now();
    for (const { id } of sql('SELECT id FROM extents').all() as { id: Buffer }[]) mark.run(id, now);
  }
}
