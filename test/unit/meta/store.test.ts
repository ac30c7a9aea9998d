import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { DfsError } from '../../../src/errors';
import { ROOT_INO } from '../../../src/meta/store';
import { openSqliteStore } from '../../../src/meta/sqlite/sqlite-store';
import { derivedSnapshotGuid, metaChecksum, newInode, PACK_INO, snapshotChecksumV1, type Extent } from '../../../src/meta/records';
import { dropVersions } from '../../helpers/old-schema';
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

/** Every record kind that gained a checksum in schema 5, one of each, in a closed store at `dbFile`. */
function storeWithEveryRecord(dbFile: string): { ino: number; diskId: number; jobId: number } {
  const s = openSqliteStore(dbFile, { create: true });
  try {
    return s.transact((tx) => {
      const ino = tx.allocIno();
      tx.putInode({ ...file(ino), mtimeMs: 1234.567 });
      tx.link(ROOT_INO, 'a', ino);
      tx.setXattr(ino, 'user.k', Buffer.from('yes'));
      tx.putExtent(extent(ino));
      tx.queueRepair(Buffer.alloc(16, 7), 'bad fragment 1');
      const diskId = tx.addDisk({ uuid: 'u-1', path: '/disks/d0', tier: 'hot', state: 'healthy', addedMs: 1000 });
      tx.setDiskState(diskId, 'degraded', 'operator', 'by hand');
      tx.countDiskErrors(diskId, 'checksum', 2);
      const jobId = tx.createJob('scrub', { repair: true }, { done: 1 });
      tx.setConfig('scrub', { frequency: 'daily' });
      return { ino, diskId, jobId };
    });
  } finally {
    s.close();
  }
}

const SEVEN = '07'.repeat(16);

test('a tampered dirent, disk, disk event, job, repair, verified mark or meta value is EMETACORRUPT naming its table and key', async () => {
  await withTmpDir((dir) => {
    const pristine = path.join(dir, 'pristine.db');
    const { ino, diskId, jobId } = storeWithEveryRecord(pristine);
    const cases: { tamper: string; key: RegExp; reads: Record<string, (t: ReturnType<typeof openSqliteStore>) => unknown> }[] = [
      { tamper: `UPDATE dirents SET ino = ${ROOT_INO} WHERE name = 'a'`, key: /in dirents \(parent 1, name "a"\)/, reads: {
        lookup: (t) => t.lookup(ROOT_INO, 'a'), readdir: (t) => t.readdir(ROOT_INO), readdirKinds: (t) => t.readdirKinds(ROOT_INO) } },
      { tamper: `UPDATE dirents SET ino = ${ino} WHERE name = 'a'; UPDATE dirents SET checksum = x'00'`, key: /in dirents \(parent 1, name "a"\)/,
        reads: { parentOf: (t) => t.parentOf(ino), pathOf: (t) => t.pathOf(ino) } },
      { tamper: "UPDATE xattrs SET value = x'6e6f'", key: new RegExp(`in xattrs \\(ino ${ino}, name "user\\.k"\\)`), reads: {
        listXattrs: (t) => t.listXattrs(ino), getXattr: (t) => t.getXattr(ino, 'user.k') } },
      { tamper: "UPDATE disks SET state = 'healthy'", key: /in disks \(id 1\)/, reads: {
        listDisks: (t) => t.listDisks(), getDisk: (t) => t.getDisk(diskId),
        'setDiskState (reads before it writes)': (t) => t.transact((tx) => tx.setDiskState(diskId, 'failed', 'operator', 'x')),
        countDiskErrors: (t) => t.transact((tx) => tx.countDiskErrors(diskId, 'read')) } },
      { tamper: "UPDATE disk_events SET reason = 'forged' WHERE id = 2", key: /in disk_events \(id 2\)/, reads: {
        diskEvents: (t) => t.diskEvents(), 'diskEvents of the disk': (t) => t.diskEvents(diskId) } },
      { tamper: `UPDATE jobs SET progress = '{"done":9}'`, key: /in jobs \(id 1\)/, reads: {
        jobs: (t) => t.jobs(), getJob: (t) => t.getJob(jobId), updateJob: (t) => t.transact((tx) => tx.updateJob(jobId, { state: 'done' })) } },
      { tamper: "UPDATE repairs SET reason = 'forged'", key: new RegExp(`in repairs \\(extent_id ${SEVEN}\\)`), reads: {
        repairQueue: (t) => t.repairQueue() } },
      { tamper: 'UPDATE verified SET at_ms = at_ms - 1', key: new RegExp(`in verified \\(extent_id ${SEVEN}\\)`), reads: {
        verifiedAt: (t) => t.verifiedAt(Buffer.alloc(16, 7)) } },
      { tamper: "UPDATE meta SET value = value + 5 WHERE key = 'generation'", key: /in meta \(key generation\)/, reads: {
        generation: (t) => t.generation(), commit: (t) => t.transact(() => undefined) } },
      { tamper: "UPDATE meta SET value = 1 WHERE key = 'next_ino'", key: /in meta \(key next_ino\)/, reads: {
        allocIno: (t) => t.transact((tx) => tx.allocIno()) } },
      { tamper: `UPDATE meta SET value = '{"frequency":"hourly"}' WHERE key = 'config.scrub'`, key: /in meta \(key config\.scrub\)/, reads: {
        getConfig: (t) => t.getConfig('scrub') } },
    ];
    for (const [n, c] of cases.entries()) {
      const dbFile = path.join(dir, `case-${n}.db`);
      fs.copyFileSync(pristine, dbFile);
      const raw = new Database(dbFile);
      raw.exec(c.tamper);
      raw.close();
      for (const [name, read] of Object.entries(c.reads)) {
        // A fresh open each time: the namespace cache must not answer for SQL.
        const t = openSqliteStore(dbFile);
        try {
          assert.throws(() => read(t), (e: unknown) => e instanceof DfsError && e.code === 'EMETACORRUPT' && c.key.test(e.message),
            `${name} after ${c.tamper}`);
        } finally {
          t.close();
        }
      }
    }
    // The schema version is verified when the store opens.
    const dbFile = path.join(dir, 'version.db');
    fs.copyFileSync(pristine, dbFile);
    const raw = new Database(dbFile);
    raw.exec("UPDATE meta SET checksum = x'00' WHERE key = 'schema_version'");
    raw.close();
    assert.throws(() => openSqliteStore(dbFile), (e: unknown) => e instanceof DfsError && e.code === 'EMETACORRUPT' && /in meta \(key schema_version\)/.test(e.message));
    // A version row set back to 4 would have the upgrade run again over summed tables: it is the damaged row instead.
    const raw4 = new Database(dbFile);
    raw4.exec("UPDATE meta SET value = 4 WHERE key = 'schema_version'");
    raw4.close();
    assert.throws(() => openSqliteStore(dbFile), (e: unknown) => e instanceof DfsError && e.code === 'EMETACORRUPT' && /in meta \(key schema_version\)/.test(e.message));
    // Set back to 5, the 5 → 6 upgrade would add a column the table has: damaged too.
    fs.copyFileSync(pristine, dbFile);
    const raw5 = new Database(dbFile);
    raw5.exec("UPDATE meta SET value = 5 WHERE key = 'schema_version'");
    raw5.close();
    assert.throws(() => openSqliteStore(dbFile), (e: unknown) => e instanceof DfsError && e.code === 'EMETACORRUPT' && /in meta \(key schema_version\)/.test(e.message));
    // Set back to 7, the 7 → 8 upgrade would add the snapshots' guid again: damaged too.
    fs.copyFileSync(pristine, dbFile);
    const raw7 = new Database(dbFile);
    raw7.exec("UPDATE meta SET value = 7 WHERE key = 'schema_version'");
    raw7.close();
    assert.throws(() => openSqliteStore(dbFile), (e: unknown) => e instanceof DfsError && e.code === 'EMETACORRUPT' && /in meta \(key schema_version\)/.test(e.message));
    // The untampered store reads every record back.
    const t = openSqliteStore(pristine);
    try {
      assert.deepEqual(t.readdir(ROOT_INO), [{ name: 'a', ino }]);
      assert.deepEqual(t.listDisks().map((d) => [d.state, d.checksumErrors]), [['degraded', 2]]);
      assert.deepEqual(t.diskEvents(diskId).map((e) => [e.from, e.to, e.source]), [[null, 'healthy', 'pool'], ['healthy', 'degraded', 'operator']]);
      assert.deepEqual(t.getJob(jobId)!.progress, { done: 1 });
      assert.deepEqual(t.repairQueue().map((r) => r.reason), ['bad fragment 1']);
      assert.deepEqual(t.getConfig('scrub'), { frequency: 'daily' });
      assert.equal(t.generation(), 1);
    } finally {
      t.close();
    }
  });
});

/** Make a current store look as format `from` wrote it (7: one snapshot, with no guid; before 7: no snapshots, ...). */
function downgrade(f: string, from: number): void {
  const db = new Database(f);
  if (from === 7) {
    db.exec("DROP INDEX snapshots_by_guid; ALTER TABLE snapshots DROP COLUMN guid; ALTER TABLE snapshots DROP COLUMN root");
    const old = { id: 1, name: 'old', gen: 1, createdMs: 77, held: true };
    db.prepare('INSERT INTO snapshots (id, name, gen, created_ms, held, checksum) VALUES (?, ?, ?, ?, ?, ?)').run(1, 'old', 1, 77, 1, snapshotChecksumV1(old));
    db.prepare("UPDATE meta SET value = ?, checksum = ? WHERE key = 'schema_version'").run(from, metaChecksum('schema_version', from));
    db.close();
    return;
  }
  dropVersions(db);
  if (from === 6) {
    db.prepare("UPDATE meta SET value = ?, checksum = ? WHERE key = 'schema_version'").run(from, metaChecksum('schema_version', from));
    db.close();
    return;
  }
  if (from > 1) db.exec('ALTER TABLE disk_events DROP COLUMN req_id');
  if (from < 4) db.exec('DROP INDEX extents_by_pack; ALTER TABLE extents DROP COLUMN pack_id; ALTER TABLE extents DROP COLUMN pack_offset');
  if (from < 3) db.exec('ALTER TABLE inodes DROP COLUMN rdev');
  if (from === 1) db.exec('DROP TABLE disk_events; DROP TABLE jobs; DROP TABLE verified');
  const unsummed = from === 1 ? ['meta', 'disks', 'dirents', 'repairs'] : ['meta', 'disks', 'dirents', 'repairs', 'disk_events', 'jobs', 'verified'];
  if (from < 5) for (const table of unsummed) db.exec(`ALTER TABLE ${table} DROP COLUMN checksum`);
  if (from === 5) db.prepare("UPDATE meta SET value = ?, checksum = ? WHERE key = 'schema_version'").run(from, metaChecksum('schema_version', from));
  else db.prepare("UPDATE meta SET value = ? WHERE key = 'schema_version'").run(from);
  db.close();
}

test('older stores upgrade in place when opened for writing: rdev (from 1, 2), pack columns (1 to 3), a checksum on every row (1 to 4), disk events\' request id (1 to 5), versions for snapshots (1 to 6), snapshot guids (7); old rows verify', async () => {
  await withTmpDir((dir) => {
    for (const from of [1, 2, 3, 4, 5, 6, 7]) {
      const f = path.join(dir, `meta-${from}.db`);
      const { ino, diskId, jobId } = storeWithEveryRecord(f);
      downgrade(f, from);

      assert.throws(() => openSqliteStore(f, { readonly: true }), (e: unknown) => (e as DfsError).code === 'EFORMAT', 'a reader does not upgrade');
      const before = Date.now();
      const up = openSqliteStore(f);
      try {
        assert.equal(schemaVersion(f), 8);
        const i = up.getInode(ino)!;
        assert.equal(i.rdev, 0);
        assert.equal(i.mtimeMs, 1234.567, 'a fractional time reads back exactly');
        // Every old row now verifies: the upgrade summed it.
        assert.deepEqual(up.readdirKinds(ROOT_INO), [{ name: 'a', ino, kind: 'file' }]);
        assert.equal(up.pathOf(ino), '/a');
        assert.deepEqual(up.listDisks().map((d) => [d.id, d.state, d.checksumErrors]), [[diskId, 'degraded', 2]]);
        assert.deepEqual(up.repairQueue().map((r) => r.reason), ['bad fragment 1']);
        assert.deepEqual(up.getConfig('scrub'), { frequency: 'daily' });
        assert.equal(up.generation(), 1);
        if (from === 1) {
          // Format 1 had none of these tables: they start empty, and every extent is stamped verified by the upgrade.
          assert.deepEqual(up.diskEvents(), []);
          assert.deepEqual(up.jobs(), []);
          assert.ok(up.verifiedAt(Buffer.alloc(16, 7))! >= before, 'the format-1 backfill stamps now');
        } else {
          assert.deepEqual(up.diskEvents(diskId).map((e) => [e.to, e.reqId]), [['healthy', null], ['degraded', null]]);
          assert.deepEqual(up.getJob(jobId)!.params, { repair: true });
          assert.ok(up.verifiedAt(Buffer.alloc(16, 7))! < before, 'the mark the write made is kept');
        }
        // A device node's rdev is kept and covered by its checksum; new writes carry checksums.
        const dev = up.transact((tx) => {
          const d = tx.allocIno();
          tx.putInode(newInode(d, 'chardev', 0o600, 1, { rdev: 0x0103 }));
          tx.link(ROOT_INO, 'null', d);
          return d;
        });
        assert.equal(up.getInode(dev)!.rdev, 0x0103);
        assert.equal(up.generation(), 2);
        assert.deepEqual(up.sparsePacks(1, 10), [], 'the pack columns and index exist');
        up.transact((tx) => tx.setDiskState(diskId, 'healthy', 'operator', 'back', 'req-up'));
        assert.deepEqual(up.diskEvents(diskId).at(-1)!.reqId, 'req-up', 'the request id column exists');
        if (from === 7) {
          // The old snapshot verified as it was, then got the guid derived from its row, root '/', and a snapshot/2 checksum.
          assert.deepEqual(up.snapshots().map((x) => [x.name, x.held, x.guid.toString('hex'), x.root]),
            [['old', true, derivedSnapshotGuid(1, 'old', 1, 77).toString('hex'), '/']]);
        } else {
          assert.deepEqual(up.snapshots(), []);
        }
        // Every old row was born before any snapshot: one taken now sees them, and keeps them when they change.
        up.transact((tx) => tx.createSnapshot('after-upgrade', up.generation(), 1, Buffer.alloc(16, 0xab)));
        assert.deepEqual(up.snapshotsByGuid(Buffer.alloc(16, 0xab)).map((x) => [x.name, x.root]), [['after-upgrade', '/']]);
        up.transact((tx) => tx.putInode({ ...up.getInode(ino)!, mode: 0o600 }));
        assert.equal(up.viewAt(up.getSnapshot('after-upgrade')!.gen).getInode(ino)!.mode, i.mode);
      } finally {
        up.close();
      }
      if (from === 7) {
        // A schema-7 snapshot row failing its old checksum is not given a fresh one: the upgrade refuses, nothing changes.
        const g = path.join(dir, 'meta-7-damaged.db');
        storeWithEveryRecord(g);
        downgrade(g, 7);
        const raw = new Database(g);
        raw.exec('UPDATE snapshots SET gen = 2');
        raw.close();
        assert.throws(() => openSqliteStore(g), (e: unknown) => e instanceof DfsError && e.code === 'EMETACORRUPT' && /in snapshots \(id 1\)/.test(e.message));
        assert.equal(schemaVersion(g), 7);
      }
      const db2 = new Database(f);
      db2.prepare('UPDATE inodes SET rdev = 5 WHERE kind = ?').run('chardev');
      db2.close();
      const again = openSqliteStore(f);
      try {
        assert.equal(again.lookup(ROOT_INO, 'null'), ino + 1);
        assert.throws(() => again.readdirKinds(ROOT_INO), (e: unknown) => (e as DfsError).code === 'EMETACORRUPT');
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
      assert.deepEqual(s.sparsePackTotals(0.5), { packs: 1, bytes: 1000 });
      assert.deepEqual(s.sparsePackTotals(0.3), { packs: 0, bytes: 0 });
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

test('a disk event keeps the request that caused it, covered by its checksum; one without keeps its format-5 checksum', async () => {
  await withTmpDir((dir) => {
    const dbFile = path.join(dir, 'meta.db');
    const s = openSqliteStore(dbFile, { create: true });
    let id: number;
    try {
      id = s.transact((tx) => tx.addDisk({ uuid: 'u-1', path: '/disks/d0', tier: 'hot', state: 'healthy', addedMs: 1000 }, 'add-1'));
      s.transact((tx) => tx.setDiskState(id, 'degraded', 'operator', 'by hand', 'set-1'));
      s.transact((tx) => tx.setDiskState(id, 'failed', 'errors', 'three errors'));
      assert.deepEqual(s.diskEvents(id).map((e) => [e.id, e.to, e.reqId]), [[1, 'healthy', 'add-1'], [2, 'degraded', 'set-1'], [3, 'failed', null]]);
    } finally {
      s.close();
    }
    const cases: [string, RegExp][] = [
      ["UPDATE disk_events SET req_id = 'other' WHERE id = 2", /in disk_events \(id 2\)/],
      ['UPDATE disk_events SET req_id = NULL WHERE id = 1', /in disk_events \(id 1\)/],
      ["UPDATE disk_events SET req_id = 'forged' WHERE id = 3", /in disk_events \(id 3\)/],
    ];
    for (const [n, [tamper, key]] of cases.entries()) {
      const f = path.join(dir, `case-${n}.db`);
      fs.copyFileSync(dbFile, f);
      const raw = new Database(f);
      raw.exec(tamper);
      raw.close();
      const t = openSqliteStore(f);
      try {
        assert.throws(() => t.diskEvents(), (e: unknown) => e instanceof DfsError && e.code === 'EMETACORRUPT' && key.test(e.message), tamper);
        assert.deepEqual(t.damagedRows(['disk_events']).map((r) => r.keyText), [key.source.match(/id (\d)/)![0]], 'check finds the same row');
      } finally {
        t.close();
      }
    }
  });
});
