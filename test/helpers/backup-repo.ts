/** A backup repository's index read directly, and damage planted in its packs, for the backup tests. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import Database from 'better-sqlite3';

/** The index's count of objects. */
export function repoObjects(repo: string): number {
  const db = new Database(path.join(repo, 'index.db'), { readonly: true });
  try {
    return (db.prepare('SELECT COUNT(*) AS n FROM objects').get() as { n: number }).n;
  } finally {
    db.close();
  }
}

/** The pack file and offset holding object `hash`. */
export function objectAt(repo: string, hash: Buffer): { file: string; offset: number } {
  const db = new Database(path.join(repo, 'index.db'), { readonly: true });
  try {
    const r = db.prepare('SELECT p.id, o.offset FROM objects o JOIN packs p ON p.no = o.pack WHERE o.hash = ?').get(hash) as { id: string; offset: number };
    return { file: path.join(repo, 'packs', r.id.slice(0, 2), `${r.id}.pack`), offset: r.offset };
  } finally {
    db.close();
  }
}

/** Flip one bit of the byte at `offset` of `file` (an object's bytes: its BLAKE3 then fails). */
export function flipByte(file: string, offset: number): void {
  const fd = fs.openSync(file, 'r+');
  try {
    const one = Buffer.alloc(1);
    fs.readSync(fd, one, 0, 1, offset);
    one[0] ^= 0x40;
    fs.writeSync(fd, one, 0, 1, offset);
  } finally {
    fs.closeSync(fd);
  }
}
