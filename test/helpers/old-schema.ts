/** Make a current store look as schema 6 left it (before the versions for snapshots): tests of the upgrades from older schemas start there. */
import type Database from 'better-sqlite3';

export function dropVersions(db: Database.Database): void {
  db.exec(`DROP INDEX extents_by_file; DROP INDEX extents_dead; DROP INDEX extents_dead_by_file; DROP INDEX extents_born; DROP INDEX extents_live; DROP INDEX inodes_born; DROP INDEX inodes_files; DROP INDEX dirents_born;
    DROP INDEX xattrs_born; DROP TABLE snapshots; DROP TABLE snap_inodes; DROP TABLE snap_dirents; DROP TABLE snap_xattrs;
    ALTER TABLE inodes DROP COLUMN born; ALTER TABLE dirents DROP COLUMN born; ALTER TABLE xattrs DROP COLUMN born;
    ALTER TABLE extents DROP COLUMN born; ALTER TABLE extents DROP COLUMN died;
    CREATE UNIQUE INDEX extents_by_file ON extents (ino, offset);`);
}
