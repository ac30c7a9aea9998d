import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { DfsError } from '../../../src/errors';
import { MetaStore, ROOT_INO } from '../../../src/meta/store';
import { newInode, type Extent } from '../../../src/meta/records';
import { withTmpDir } from '../../helpers/tmp';

const file = (ino: number) => newInode(ino, 'file', 0o644, 1, { size: 10 });
const extent = (ino: number): Extent => ({ id: Buffer.alloc(16, 7), ino, offset: 0, length: 10, scheme: 'rs', k: 4, m: 2, fragLen: 3,
  logicalHash: Buffer.alloc(32, 1), inlineData: null, fragments: [{ index: 0, diskId: 1, hash: Buffer.alloc(32, 2) }, { index: 1, diskId: 2, hash: Buffer.alloc(32, 3) }] });

test('commit bumps the generation; abort changes nothing', async () => {
  await withTmpDir((dir) => {
    const s = MetaStore.open(path.join(dir, 'meta.db'), { create: true });
    try {
      const g0 = s.generation();
      const ino = s.transact((tx) => {
        const ino = tx.allocIno();
        tx.putInode(file(ino));
        tx.link(ROOT_INO, 'a', ino);
        tx.putExtent(extent(ino));
        return ino;
      });
      assert.equal(s.generation(), g0 + 1);
      assert.deepEqual(s.extentsOf(ino)[0]!.fragments.map((f) => f.diskId), [1, 2]);

      const tx = s.begin();
      tx.unlink(ROOT_INO, 'a');
      tx.dropExtents(ino);
      tx.abort();
      assert.equal(s.lookup(ROOT_INO, 'a'), ino);
      assert.equal(s.extentsOf(ino).length, 1);
      assert.equal(s.generation(), g0 + 1);

      assert.throws(() => s.transact(() => { throw new DfsError('EIO', 'boom'); }), /boom/);
      assert.equal(s.generation(), g0 + 1, 'a throwing transaction is aborted');
      assert.deepEqual(s.extentsOnDisk(2), [Buffer.alloc(16, 7)]);
    } finally {
      s.close();
    }
  });
});

test('a tampered inode, extent or fragment row is EMETACORRUPT, never used', async () => {
  await withTmpDir((dir) => {
    const dbFile = path.join(dir, 'meta.db');
    const s = MetaStore.open(dbFile, { create: true });
    const ino = s.transact((tx) => {
      const ino = tx.allocIno();
      tx.putInode(file(ino));
      tx.putExtent(extent(ino));
      return ino;
    });
    s.close();
    const raw = new Database(dbFile);
    const tamper = (sql: string) => {
      raw.prepare(sql).run();
      const t = MetaStore.open(dbFile);
      try {
        assert.throws(() => { t.getInode(ino); t.extentsOf(ino); }, (e: unknown) => e instanceof DfsError && e.code === 'EMETACORRUPT');
      } finally {
        t.close();
      }
    };
    try {
      tamper(`UPDATE inodes SET size = 11 WHERE ino = ${ino}`);
      raw.prepare(`UPDATE inodes SET size = 10 WHERE ino = ${ino}`).run();
      tamper('UPDATE extents SET length = 9');
      raw.prepare('UPDATE extents SET length = 10').run();
      tamper('UPDATE fragments SET disk_id = 3 WHERE idx = 1');
    } finally {
      raw.close();
    }
  });
});
