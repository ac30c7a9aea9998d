/** The whole-store walks `check` makes (ScanReads): keys in order, in batches, uncached; every dirent verified (a failing one flagged), and any table's damaged rows. */
import { direntChecksum, type Dirent } from '../records';
import type { ScanReads, ScannedDirent } from '../store';
import { damagedRows } from './row-checks';
import type { Sql } from './sql';

type Row = Dirent & { parent: number; checksum: Buffer };

function verified(rows: Row[]): ScannedDirent[] {
  return rows.map((r) => {
    if (!direntChecksum(r.parent, r.name, r.ino).equals(r.checksum)) return { parent: r.parent, name: r.name, corrupt: true };
    return { parent: r.parent, name: r.name, ino: r.ino };
  });
}

export function scanReads(sql: Sql): ScanReads {
  return {
    inodeNumbersAfter(after, limit) {
      return (sql('SELECT ino FROM inodes WHERE ino > ? ORDER BY ino LIMIT ?').all(after, limit) as { ino: number }[]).map((r) => r.ino);
    },
    direntsAfter(after, limit) {
      if (!after) return verified(sql('SELECT parent, name, ino, checksum FROM dirents ORDER BY parent, name LIMIT ?').all(limit) as Row[]);
      return verified(sql('SELECT parent, name, ino, checksum FROM dirents WHERE (parent, name) > (?, ?) ORDER BY parent, name LIMIT ?')
        .all(after.parent, after.name, limit) as Row[]);
    },
    damagedRows: (tables) => damagedRows(sql, tables),
  };
}
