/**
 * Metadata schema (format SCHEMA_VERSION below). The store is SQLite in WAL mode with synchronous=FULL
 * (NORMAL in a coordinator, whose generations the disks' copies make durable: store.ts setDurableCommits).
 *
 * Every table carries a BLAKE3 `checksum` of its rows' canonical encoding (records.ts)
 * but fragments, whose rows are covered by their extent's checksum, so a corrupt row is
 * detected whichever table it sits in.
 *
 * Format 2 added disk_events, jobs and verified; a format-1 store is upgraded in place
 * when opened for writing (the new tables only: nothing existing changes).
 * Format 3 added inodes.rdev (device nodes; the upgrade adds the column, 0 everywhere).
 * Format 4 added packed extents: extents.pack_id and pack_offset (NULL for every other
 * kind, so the upgrade adds the columns and changes no row) and the index by pack.
 * Format 5 added the checksum of meta, disks, dirents, repairs, disk_events, jobs and
 * verified rows (the upgrade computes it for every existing row).
 * Format 6 added disk_events.req_id, the admin request behind an event (NULL for every
 * existing row, whose checksum does not cover it: records.ts diskEventChecksum).
 * Format 7 added snapshots (VERSIONS below): the generation each namespace and extent row
 * was written in (`born`, 0 for every existing row), the generation an extent left its
 * file while a snapshot still saw it (`died`), the row versions kept for snapshots, and
 * the snapshots themselves.
 * Format 8 added a snapshot's identity: `snapshots.guid` (16 bytes, the sender's for a
 * received snapshot) and `root` (where its tree is: '/', or a receive's destination).
 */
export const SCHEMA_VERSION = 8;

export const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (
  key      TEXT PRIMARY KEY,
  value    ANY NOT NULL,
  checksum BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS disks (
  id              INTEGER PRIMARY KEY,
  uuid            TEXT NOT NULL UNIQUE,
  path            TEXT NOT NULL UNIQUE,
  tier            TEXT NOT NULL,
  state           TEXT NOT NULL,
  added_ms        INTEGER NOT NULL,
  read_errors     INTEGER NOT NULL DEFAULT 0,
  checksum_errors INTEGER NOT NULL DEFAULT 0,
  write_errors    INTEGER NOT NULL DEFAULT 0,
  checksum        BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS inodes (
  ino      INTEGER PRIMARY KEY,
  kind     TEXT NOT NULL,
  mode     INTEGER NOT NULL,
  uid      INTEGER NOT NULL,
  gid      INTEGER NOT NULL,
  size     INTEGER NOT NULL,
  nlink    INTEGER NOT NULL,
  atime_ms INTEGER NOT NULL,
  mtime_ms INTEGER NOT NULL,
  ctime_ms INTEGER NOT NULL,
  policy   TEXT,
  target   TEXT,
  rdev     INTEGER NOT NULL DEFAULT 0,
  checksum BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS inodes_unlinked ON inodes (nlink) WHERE nlink = 0;
CREATE TABLE IF NOT EXISTS xattrs (
  ino      INTEGER NOT NULL,
  name     TEXT NOT NULL,
  value    BLOB NOT NULL,
  checksum BLOB NOT NULL,
  PRIMARY KEY (ino, name)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS dirents (
  parent   INTEGER NOT NULL,
  name     TEXT NOT NULL,
  ino      INTEGER NOT NULL,
  checksum BLOB NOT NULL,
  PRIMARY KEY (parent, name)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS dirents_by_ino ON dirents (ino);
CREATE TABLE IF NOT EXISTS extents (
  id           BLOB PRIMARY KEY,
  ino          INTEGER NOT NULL,
  offset       INTEGER NOT NULL,
  length       INTEGER NOT NULL,
  scheme       TEXT NOT NULL,
  k            INTEGER NOT NULL,
  m            INTEGER NOT NULL,
  frag_len     INTEGER NOT NULL,
  logical_hash BLOB NOT NULL,
  inline_data  BLOB,
  checksum     BLOB NOT NULL,
  pack_id      BLOB,
  pack_offset  INTEGER
) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS extents_by_file ON extents (ino, offset);
CREATE INDEX IF NOT EXISTS extents_by_pack ON extents (pack_id) WHERE pack_id IS NOT NULL;
CREATE TABLE IF NOT EXISTS fragments (
  extent_id BLOB NOT NULL,
  idx       INTEGER NOT NULL,
  disk_id   INTEGER NOT NULL,
  hash      BLOB NOT NULL,
  PRIMARY KEY (extent_id, idx)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS fragments_by_disk ON fragments (disk_id);
CREATE TABLE IF NOT EXISTS repairs (
  extent_id BLOB PRIMARY KEY,
  reason    TEXT NOT NULL,
  queued_ms INTEGER NOT NULL,
  checksum  BLOB NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS disk_events (
  id         INTEGER PRIMARY KEY,
  disk_id    INTEGER NOT NULL,
  at_ms      INTEGER NOT NULL,
  from_state TEXT,
  to_state   TEXT NOT NULL,
  source     TEXT NOT NULL,
  reason     TEXT NOT NULL,
  checksum   BLOB NOT NULL,
  req_id     TEXT
);
CREATE INDEX IF NOT EXISTS disk_events_by_disk ON disk_events (disk_id, id);
CREATE TABLE IF NOT EXISTS jobs (
  id          INTEGER PRIMARY KEY,
  kind        TEXT NOT NULL,
  state       TEXT NOT NULL,
  params      TEXT NOT NULL,
  progress    TEXT NOT NULL,
  error       TEXT,
  created_ms  INTEGER NOT NULL,
  updated_ms  INTEGER NOT NULL,
  finished_ms INTEGER,
  checksum    BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS verified (
  extent_id BLOB PRIMARY KEY,
  at_ms     INTEGER NOT NULL,
  checksum  BLOB NOT NULL
) WITHOUT ROWID;
`;

/**
 * Format 7: versions for snapshots, applied on top of SCHEMA (by create and by the
 * upgrade from 6, which is why the columns are added here and not in SCHEMA above).
 *
 * A live row carries `born`, the generation that wrote it. A snapshot at generation S sees
 * a live row with born ≤ S, and a kept version with born ≤ S < died. A change to a live
 * row that some snapshot sees (born ≤ the newest snapshot's generation) first copies it
 * to snap_* with died = the generation changing it; other rows change in place, so a pool
 * without snapshots keeps no versions. Extents stay in `extents` when they leave their
 * file while a snapshot sees them (died set): their id is their fragments' identity, and
 * scrub, rebuild, drain and gc find them where they find every other extent.
 */
export const VERSION_COLUMNS = [
  'ALTER TABLE inodes ADD COLUMN born INTEGER NOT NULL DEFAULT 0',
  'ALTER TABLE dirents ADD COLUMN born INTEGER NOT NULL DEFAULT 0',
  'ALTER TABLE xattrs ADD COLUMN born INTEGER NOT NULL DEFAULT 0',
  'ALTER TABLE extents ADD COLUMN born INTEGER NOT NULL DEFAULT 0',
  'ALTER TABLE extents ADD COLUMN died INTEGER',
  // A file's extents are its live ones: one per offset; extents kept for snapshots step aside.
  'DROP INDEX IF EXISTS extents_by_file',
];

/** Format 8 on a format-7 store: the snapshot identity's columns (VERSIONS then adds their index). */
export const SNAPSHOT_IDENTITY_COLUMNS = [
  "ALTER TABLE snapshots ADD COLUMN guid BLOB NOT NULL DEFAULT x''",
  "ALTER TABLE snapshots ADD COLUMN root TEXT NOT NULL DEFAULT '/'",
];

export const VERSIONS = `
CREATE UNIQUE INDEX IF NOT EXISTS extents_by_file ON extents (ino, offset) WHERE died IS NULL;
CREATE INDEX IF NOT EXISTS extents_dead ON extents (died) WHERE died IS NOT NULL;
CREATE INDEX IF NOT EXISTS extents_dead_by_file ON extents (ino, offset) WHERE died IS NOT NULL;
CREATE INDEX IF NOT EXISTS extents_born ON extents (born);
CREATE INDEX IF NOT EXISTS extents_live ON extents (born, length, ino, died) WHERE died IS NULL AND ino <> 0;
CREATE INDEX IF NOT EXISTS inodes_born ON inodes (born);
CREATE INDEX IF NOT EXISTS inodes_files ON inodes (born, kind) WHERE kind = 'file';
CREATE INDEX IF NOT EXISTS dirents_born ON dirents (born);
CREATE INDEX IF NOT EXISTS xattrs_born ON xattrs (born);
CREATE TABLE IF NOT EXISTS snapshots (
  id         INTEGER PRIMARY KEY,
  name       TEXT NOT NULL UNIQUE,
  gen        INTEGER NOT NULL,
  created_ms INTEGER NOT NULL,
  held       INTEGER NOT NULL,
  checksum   BLOB NOT NULL,
  guid       BLOB NOT NULL,
  root       TEXT NOT NULL DEFAULT '/'
);
CREATE INDEX IF NOT EXISTS snapshots_by_gen ON snapshots (gen);
CREATE UNIQUE INDEX IF NOT EXISTS snapshots_by_guid ON snapshots (guid, root);
CREATE TABLE IF NOT EXISTS snap_inodes (
  ino      INTEGER NOT NULL,
  born     INTEGER NOT NULL,
  died     INTEGER NOT NULL,
  kind     TEXT NOT NULL,
  mode     INTEGER NOT NULL,
  uid      INTEGER NOT NULL,
  gid      INTEGER NOT NULL,
  size     INTEGER NOT NULL,
  nlink    INTEGER NOT NULL,
  atime_ms INTEGER NOT NULL,
  mtime_ms INTEGER NOT NULL,
  ctime_ms INTEGER NOT NULL,
  policy   TEXT,
  target   TEXT,
  rdev     INTEGER NOT NULL,
  checksum BLOB NOT NULL,
  PRIMARY KEY (ino, born)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS snap_inodes_died ON snap_inodes (died);
CREATE INDEX IF NOT EXISTS snap_inodes_born ON snap_inodes (born);
CREATE TABLE IF NOT EXISTS snap_dirents (
  parent   INTEGER NOT NULL,
  name     TEXT NOT NULL,
  born     INTEGER NOT NULL,
  died     INTEGER NOT NULL,
  ino      INTEGER NOT NULL,
  checksum BLOB NOT NULL,
  PRIMARY KEY (parent, name, born)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS snap_dirents_died ON snap_dirents (died);
CREATE INDEX IF NOT EXISTS snap_dirents_born ON snap_dirents (born);
CREATE INDEX IF NOT EXISTS snap_dirents_by_ino ON snap_dirents (ino);
CREATE TABLE IF NOT EXISTS snap_xattrs (
  ino      INTEGER NOT NULL,
  name     TEXT NOT NULL,
  born     INTEGER NOT NULL,
  died     INTEGER NOT NULL,
  value    BLOB NOT NULL,
  checksum BLOB NOT NULL,
  PRIMARY KEY (ino, name, born)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS snap_xattrs_died ON snap_xattrs (died);
CREATE INDEX IF NOT EXISTS snap_xattrs_born ON snap_xattrs (born);
`;
