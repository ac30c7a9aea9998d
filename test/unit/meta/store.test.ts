import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { DfsError } from '../../../src/errors';
import { ROOT_INO } from '../../../src/meta/store';
import { openSqliteStore } from '../../../src/meta/sqlite/sqlite-store';
import { newInode, PACK_INO, type Extent } from '../../../src/meta/records';
import { withTmpDir } from '../../helpers/tmp';

const file = (ino: number) => newInode(ino, 'file', 0o644, 1, { size: 10 });
const extent = (ino: number): Extent => ({ id: Buffer.alloc(16, 7), ino, offset: 0, length: 10, scheme: 'rs', k: 4, m: 2, fragLen: 3,
  logicalHash: Buffer.alloc(32, 1), inlineData: null, fragments: [{ index: 0, diskId: 1, hash: Buffer.alloc(32, 2) }, { index: 1, diskId: 2, hash: Buffer.alloc(32, 3) }] });

test('commit bumps the generation; abort changes nothing', async () => {
  await withTmpDir((dir) => {
    const s = openSqliteStore(path.join(dir, 'meta.db'), { create: true });
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
    const s = openSqliteStore(dbFile, { create: true });
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
      const t = openSqliteStore(dbFile);
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

function schemaVersion(f: string): unknown {
  const db = new Database(f, { readonly: true });
  try {
    return db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").pluck().get();
  } finally {
    db.close();
  }
}

test('older stores upgrade in place when opened for writing: format 1 and 2 gain inodes.rdev, 1 to 3 the pack columns; old rows still verify', async () => {
  await withTmpDir((dir) => {
    for (const from of [1, 2, 3]) {
      const f = path.join(dir, `meta-${from}.db`);
      const s = openSqliteStore(f, { create: true });
      const ino = s.transact((tx) => {
        const ino = tx.allocIno();
        tx.putInode({ ...file(ino), mtimeMs: 1234.567 });
        tx.link(ROOT_INO, 'a', ino);
        return ino;
      });
      s.close();
      // Make it look as format `from` wrote it: no pack columns, no rdev column before 3 (and, for 1, none of the format-2 tables).
      const db = new Database(f);
      db.exec('DROP INDEX extents_by_pack; ALTER TABLE extents DROP COLUMN pack_id; ALTER TABLE extents DROP COLUMN pack_offset');
      if (from < 3) db.exec('ALTER TABLE inodes DROP COLUMN rdev');
      if (from === 1) db.exec('DROP TABLE disk_events; DROP TABLE jobs; DROP TABLE verified');
      db.prepare("UPDATE meta SET value = ? WHERE key = 'schema_version'").run(from);
      db.close();

      assert.throws(() => openSqliteStore(f, { readonly: true }), (e: unknown) => (e as DfsError).code === 'EFORMAT', 'a reader does not upgrade');
      const up = openSqliteStore(f);
      try {
        assert.equal(schemaVersion(f), 4);
        const i = up.getInode(ino)!;
        assert.equal(i.rdev, 0);
        assert.equal(i.mtimeMs, 1234.567, 'a fractional time reads back exactly');
        // A device node's rdev is kept and covered by its checksum.
        const dev = up.transact((tx) => {
          const d = tx.allocIno();
          tx.putInode(newInode(d, 'chardev', 0o600, 1, { rdev: 0x0103 }));
          tx.link(ROOT_INO, 'null', d);
          return d;
        });
        assert.equal(up.getInode(dev)!.rdev, 0x0103);
        assert.equal(up.jobs().length, 0, 'the format-2 tables exist');
        assert.deepEqual(up.sparsePacks(1, 10), [], 'the pack columns and index exist');
      } finally {
        up.close();
      }
      const db2 = new Database(f);
      db2.prepare('UPDATE inodes SET rdev = 5 WHERE kind = ?').run('chardev');
      db2.close();
      const again = openSqliteStore(f);
      try {
        assert.throws(() => again.readdirKinds(ROOT_INO).map((e) => again.getInode(e.ino)), (e: unknown) => (e as DfsError).code === 'EMETACORRUPT');
      } finally {
        again.close();
      }
    }
  });
});

test('one transaction at a time, and an ended one takes no more writes', async () => {
  await withTmpDir((dir) => {
    const s = openSqliteStore(path.join(dir, 'meta.db'), { create: true });
    try {
      const internal = (e: unknown) => e instanceof DfsError && e.code === 'EINTERNAL';
      const tx = s.begin();
      assert.throws(() => s.begin(), internal, 'a second begin while one is open');
      const ino = tx.allocIno();
      tx.putInode(file(ino));
      const g = tx.commit();
      assert.equal(g, s.generation());
      assert.throws(() => tx.link(ROOT_INO, 'late', ino), internal, 'a write after commit');
      assert.throws(() => tx.commit(), internal, 'a second commit');
      assert.equal(s.lookup(ROOT_INO, 'late'), undefined);
      const heard: number[] = [];
      s.onCommit = (c) => heard.push(c.generation);
      s.transact((t) => t.link(ROOT_INO, 'a', ino));
      assert.deepEqual(heard, [g + 1], 'onCommit hears each commit with its generation');
    } finally {
      s.close();
    }
  });
});

test('packs: a packed extent verifies its pack place, the last one dropped takes the pack with it, sparse packs are listed', async () => {
  await withTmpDir((dir) => {
    const dbFile = path.join(dir, 'meta.db');
    const s = openSqliteStore(dbFile, { create: true });
    try {
      const packId = Buffer.alloc(16, 9);
      const packed = (n: number, offset: number, length: number): Extent => ({ id: Buffer.alloc(16, n), ino: 10 + n, offset: 0, length,
        scheme: 'packed', k: 0, m: 0, fragLen: 0, logicalHash: Buffer.alloc(32, n), inlineData: null, fragments: [], pack: { id: packId, offset } });
      s.transact((tx) => {
        tx.putExtent({ ...extent(PACK_INO), id: packId, offset: tx.allocPackSeq(), length: 1000 });
        tx.putExtent(packed(1, 0, 600));
        tx.putExtent(packed(2, 600, 400));
      });
      assert.deepEqual(s.getExtent(Buffer.alloc(16, 2))!.pack, { id: packId, offset: 600 });
      assert.deepEqual(s.packRefs(packId).map((e) => e.length), [600, 400]);
      assert.deepEqual(s.sparsePacks(0.5, 10), [], 'a full pack is not sparse');

      // The first drop leaves the pack (one packed extent still names it).
      assert.deepEqual(s.transact((tx) => tx.dropExtent(Buffer.alloc(16, 1))), [{ extentId: Buffer.alloc(16, 1), fragments: [] }]);
      assert.deepEqual(s.sparsePacks(0.5, 10), [{ id: packId, length: 1000, live: 400 }]);
      assert.deepEqual(s.sparsePacks(0.3, 10), []);
      // The last one takes the pack and hands back the pack's fragments for deletion.
      const dropped = s.transact((tx) => tx.dropExtents(12));
      assert.deepEqual(dropped.map((d) => [d.extentId.toString('hex'), d.fragments.length]),
        [[Buffer.alloc(16, 2).toString('hex'), 0], [packId.toString('hex'), 2]]);
      assert.equal(s.getExtent(packId), undefined);
      assert.deepEqual(s.extentsOnDisk(1), []);

      // A packed extent whose pack place was altered fails its checksum.
      s.transact((tx) => {
        tx.putExtent({ ...extent(PACK_INO), id: packId, offset: tx.allocPackSeq(), length: 1000 });
        tx.putExtent(packed(3, 0, 500));
      });
      const raw = new Database(dbFile);
      raw.prepare('UPDATE extents SET pack_offset = 1 WHERE id = ?').run(Buffer.alloc(16, 3));
      raw.close();
      // Reopened: the open store answers from its cache of what it wrote (it is the one writer).
      s.close();
      const t = openSqliteStore(dbFile);
      try {
        assert.throws(() => t.getExtent(Buffer.alloc(16, 3)), (e: DfsError) => e.code === 'EMETACORRUPT');
      } finally {
        t.close();
      }
    } finally {
      s.close();
    }
  });
});
