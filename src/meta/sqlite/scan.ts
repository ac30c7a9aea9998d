/** The whole-store walks `check` makes (ScanReads): keys in order, in batches, uncached. */
import type { Dirent } from '../records';
import type { ScanReads } from '../store';
import type { Sql } from './sql';

export function scanReads(sql: Sql): ScanReads {
  return {
    inodeNumbersAfter(after, limit) {
      return (sql('SELECT ino FROM inodes WHERE ino > ? ORDER BY ino LIMIT ?').all(after, limit) as { ino: number }[]).map((r) => r.ino);
    },
    direntsAfter(after, limit) {
      if (!after) return sql('SELECT parent, name, ino FROM dirents ORDER BY parent, name LIMIT ?').all(limit) as (Dirent & { parent: number })[];
      return sql('SELECT parent, name, ino FROM dirents WHERE (parent, name) > (?, ?) ORDER BY parent, name LIMIT ?')
        .all(after.parent, after.name, limit) as (Dirent & { parent: number })[];
    },
  };
}
