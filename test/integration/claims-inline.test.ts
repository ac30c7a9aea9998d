/**
 * Inline extents through the CLI (issue 12): the 16 KiB boundary (16384 bytes inline,
 * 16385 not), the inline tail of a large file, and an inline record whose bytes were
 * tampered with in meta.db (EMETACORRUPT on read, never the tampered bytes).
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { fails, makePool, ok, type Json } from '../helpers/cli';
import { Rng } from '../helpers/random';
import { fragmentFiles } from '../helpers/files';
import { withTmpDir } from '../helpers/tmp';

const EXTENT = 65536;

function putBytes(root: string, pool: string, name: string, data: Buffer): void {
  const src = path.join(root, `src-${name.replace(/\//g, '_')}`);
  fs.writeFileSync(src, data);
  ok('put', pool, src, name);
}

function getBytes(root: string, pool: string, name: string): Buffer {
  const out = path.join(root, 'out');
  ok('get', pool, name, out);
  return fs.readFileSync(out);
}

describe('inline extents', () => {
  it('16384 bytes are stored inline (no fragment file); 16385 bytes are k+m fragments', async () => {
    await withTmpDir((root) => {
      const rng = new Rng();
      const { pool, disks } = makePool(root, 6);
      const at = rng.bytes(16384);
      putBytes(root, pool, '/at', at);
      const s1 = ok('stat', pool, '/at');
      assert.equal(s1.extents.length, 1);
      assert.deepEqual([s1.extents[0].scheme, s1.extents[0].length, s1.extents[0].fragments.length], ['inline', 16384, 0]);
      assert.equal(s1.fragments, 0);
      assert.equal(fragmentFiles(disks), 0, 'an inline file writes no fragment file');
      assert.ok(getBytes(root, pool, '/at').equals(at), `seed ${rng.seed}`);

      const over = rng.bytes(16385);
      putBytes(root, pool, '/over', over);
      const s2 = ok('stat', pool, '/over');
      assert.equal(s2.extents.length, 1);
      const e = s2.extents[0] as Json;
      assert.deepEqual([e.scheme, e.k, e.m, e.length, e.fragments.length], ['rs', 4, 2, 16385, 6]);
      assert.equal(new Set((e.fragments as Json[]).map((f) => f.diskId)).size, 6);
      assert.equal(fragmentFiles(disks), 6, 'one fragment file per disk for the 16385-byte file');
      assert.ok(getBytes(root, pool, '/over').equals(over), `seed ${rng.seed}`);
    });
  });

  it('the tail of a large file is inline; the extents before it are fragments', async () => {
    await withTmpDir((root) => {
      const rng = new Rng();
      const { pool, disks } = makePool(root, 6, '--extent-size', String(EXTENT));
      const data = rng.bytes(2 * EXTENT + 1000);
      putBytes(root, pool, '/big', data);
      const ext = ok('stat', pool, '/big').extents as Json[];
      assert.deepEqual(ext.map((e) => [e.offset, e.length, e.scheme, e.fragments.length]), [
        [0, EXTENT, 'rs', 6],
        [EXTENT, EXTENT, 'rs', 6],
        [2 * EXTENT, 1000, 'inline', 0],
      ]);
      assert.equal(fragmentFiles(disks), 12);
      assert.ok(getBytes(root, pool, '/big').equals(data), `seed ${rng.seed}`);
      // A tail over the inline limit is fragments like the rest.
      const data2 = rng.bytes(2 * EXTENT + 16385);
      putBytes(root, pool, '/big2', data2);
      const ext2 = ok('stat', pool, '/big2').extents as Json[];
      assert.deepEqual(ext2.map((e) => [e.length, e.scheme]), [[EXTENT, 'rs'], [EXTENT, 'rs'], [16385, 'rs']]);
      assert.ok(getBytes(root, pool, '/big2').equals(data2), `seed ${rng.seed}`);
    });
  });

  it('an inline record tampered with in meta.db: get fails with EMETACORRUPT and writes nothing', async () => {
    await withTmpDir((root) => {
      const { pool } = makePool(root, 6);
      const data = Buffer.alloc(3000, 0x41);
      putBytes(root, pool, '/small', data);
      putBytes(root, pool, '/other', Buffer.alloc(2000, 0x42));
      const id = (ok('stat', pool, '/small').extents as Json[])[0]!.id as string;
      // Flip one byte of the stored inline bytes, as bit rot in meta.db would.
      const db = new Database(path.join(pool, 'meta.db'));
      try {
        const row = db.prepare('SELECT inline_data FROM extents WHERE id = ?').get(Buffer.from(id, 'hex')) as { inline_data: Buffer };
        assert.ok(row.inline_data.equals(data), 'the inline bytes are in the record');
        const bad = Buffer.from(row.inline_data);
        bad[1234] ^= 0x01;
        assert.equal(db.prepare('UPDATE extents SET inline_data = ? WHERE id = ?').run(bad, Buffer.from(id, 'hex')).changes, 1);
      } finally {
        db.close();
      }
      const out = path.join(root, 'tampered-out');
      const e = fails('EMETACORRUPT', ['get', pool, '/small', out]);
      assert.match(e.message, new RegExp(id));
      assert.equal(fs.existsSync(out), false, 'no file was written from a tampered record');
      // The other file's record is intact and reads.
      assert.ok(getBytes(root, pool, '/other').equals(Buffer.alloc(2000, 0x42)));
    });
  });
});
