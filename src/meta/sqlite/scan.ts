/** The whole-store walks `check` makes (ScanReads): keys in order, in batches, uncached; every dirent verified. */
import { direntChecksum, type Dirent } from '../records';
import type { ScanReads } from '../store';
import { corrupt, type Sql } from './sql';

type Row = Dirent & { parent: number; checksum: Buffer };

function verified(rows: Row[]): (Dirent & { parent: number })[] {
  return rows.map((r) => {
    if (!direntChecksum(r.parent, r.name, r.ino).equals(r.checksum)) throw corrupt('dirents', `parent ${r.parent}, name ${JSON.stringify(r.name)}`);
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
  };
}
