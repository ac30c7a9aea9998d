/**
 * The redo log: a generation's recorded writes, replayed onto the store as it was before
 * them, make the same rows; and the framed records that carry them on the disks reject
 * any flipped byte.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { replayGeneration } from '../../../src/meta/redo-log';
import { ROOT_INO, type MetaStore } from '../../../src/meta/store';
import { openSqliteStore } from '../../../src/meta/sqlite/sqlite-store';
import { metaChecksum, newInode, type Extent } from '../../../src/meta/records';
import { decodeRecords, encodeRecord, RECORD_HEADER } from '../../../src/pool/meta-format';
import { dropVersions } from '../../helpers/old-schema';
import { withTmpDir } from '../../helpers/tmp';

const POOL = '0e6fd577-940d-48fa-abf5-4f0b3e08b201';
const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 3));

const extent = (ino: number, id: number, inline: boolean): Extent => ({ id: Buffer.alloc(16, id), ino, offset: 0, length: 10,
  scheme: inline ? 'inline' : 'rs', k: inline ? 0 : 4, m: inline ? 0 : 2, fragLen: inline ? 0 : 3, logicalHash: Buffer.alloc(32, id),
  inlineData: inline ? Buffer.from('0123456789') : null,
  fragments: inline ? [] : [{ index: 0, diskId: 1, hash: Buffer.alloc(32, 2) }, { index: 1, diskId: 2, hash: Buffer.alloc(32, 3) }] });

/** Every row of every table, in a fixed order. */
function dump(file: string): Record<string, unknown[]> {
  const db = new Database(file, { readonly: true });
  try {
    const tables = (db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name").all() as { name: string }[]).map((t) => t.name);
    return Object.fromEntries(tables.map((t) => [t, db.prepare(`SELECT * FROM "${t}" ORDER BY 1, 2`).all()]));
  } finally {
    db.close();
  }
}

test('replaying each generation\'s recorded writes onto the checkpoint (of schema 5: upgraded as it opens) gives the same rows as the original store, the versions kept for a snapshot included', async () => {
  await withTmpDir(async (dir) => {
    const file = path.join(dir, 'meta.db');
    const s: MetaStore = openSqliteStore(file, { create: true });
    const generations: { g: number; payload: Buffer }[] = [];
    try {
      s.onGeneration = (g, payload) => generations.push({ g, payload });
      const ckpt = path.join(dir, 'ckpt.db');
      assert.deepEqual(s.copyTo(ckpt), { generation: 0, damaged: { count: 0, first: [] } });
      const ino = s.transact((tx) => {
        const disk = tx.addDisk({ uuid: 'u1', path: '/d1', tier: 'warm', state: 'healthy', addedMs: 5 });
        tx.addDisk({ uuid: 'u2', path: '/d2', tier: 'hot', state: 'healthy', addedMs: 6 }, 'req-add');
        const n = tx.allocIno();
        tx.putInode(newInode(n, 'file', 0o644, 1, { size: 10 }));
        tx.link(ROOT_INO, 'a', n);
        tx.setXattr(n, 'user.x', Buffer.from([0, 1, 2]));
        tx.putExtent(extent(n, 7, false));
        tx.setDiskState(disk, 'degraded', 'operator', 'test', 'req-set');
        return n;
      });
      await tick();
      const aborted = s.begin();
      aborted.link(ROOT_INO, 'never', ino);
      aborted.abort();
      s.transact((tx) => {
        tx.queueRepair(Buffer.alloc(16, 7), 'damaged');
        tx.markVerified(Buffer.alloc(16, 7));
        const job = tx.createJob('scrub', { a: 1 }, undefined);
        tx.updateJob(job, { state: 'done', progress: { n: 2 }, error: undefined });
        tx.setConfig('commit', { intervalMs: 250 });
        tx.countDiskErrors(1, 'read', 3);
        // A snapshot of generation 1: every later change to what it sees keeps a version, and the replay must keep the same.
        tx.createSnapshot('s1', 1, 9);
        // A received snapshot: the sender's guid, the tree where it was received (schema 8).
        tx.createSnapshot('received', 1, 10, Buffer.alloc(16, 0x5a), '/copy');
      });
      await tick();
      // A group: two savepoints kept, one aborted; one generation.
      s.setGrouping(true);
      s.transact((tx) => { tx.putInode(newInode(tx.allocIno(), 'dir', 0o755, 2)); });
      assert.throws(() => s.transact((tx) => { tx.link(ROOT_INO, 'gone', ino); throw new Error('abort this one'); }), /abort this one/);
      await tick();
      s.transact((tx) => {
        tx.putExtent(extent(ino, 9, true));
        tx.removeXattr(ino, 'user.x');
        tx.clearRepair(Buffer.alloc(16, 7));
      });
      assert.equal(s.commitGroup(), 3);
      s.setGrouping(false);
      s.transact((tx) => {
        tx.unlink(ROOT_INO, 'a');
        tx.dropExtents(ino);
        tx.deleteInode(ino);
      });
      assert.deepEqual(generations.map((x) => x.g), [1, 2, 3, 4]);

      // The checkpoint as schema-5 code made it (a disk's copy from before disk events kept their request): it is upgraded when opened.
      const old = new Database(ckpt);
      dropVersions(old);
      old.exec('ALTER TABLE disk_events DROP COLUMN req_id');
      old.prepare("UPDATE meta SET value = 5, checksum = ? WHERE key = 'schema_version'").run(metaChecksum('schema_version', 5));
      old.close();
      const replica = openSqliteStore(ckpt);
      try {
        for (const { g, payload } of generations) assert.equal(replayGeneration(replica, payload), g);
      } finally {
        replica.close();
      }
    } finally {
      s.close();
    }
    assert.deepEqual(dump(path.join(dir, 'ckpt.db')), dump(file));
    // What the snapshot saw and later changes ended: the file's inode, its entry and xattr, and extent 7 (ended by extent 9 in generation 3).
    const d = dump(file) as Record<string, { born: number; died: number | null; id?: Buffer }[]>;
    assert.deepEqual([d.snap_inodes, d.snap_dirents, d.snap_xattrs].map((rows) => rows.map((r) => [r.born, r.died])), [[[1, 4]], [[1, 4]], [[1, 3]]]);
    assert.deepEqual(d.extents.filter((r) => r.died !== null).map((r) => [r.id![0], r.born, r.died]), [[7, 1, 3]]);
    assert.deepEqual((dump(file).disk_events as { req_id: string | null }[]).map((e) => e.req_id), [null, 'req-add', 'req-set']);
    // A snapshot recorded without a guid (s1, as older code's records do) gets the same derived one on both sides.
    assert.deepEqual((dump(file).snapshots as { name: string; guid: Buffer; root: string }[]).map((r) => [r.name, r.guid.length, r.root]),
      [['s1', 16, '/'], ['received', 16, '/copy']]);
  });
});

/** Records chained from `anchor`: each carries the seal (last 32 bytes) of the one before. */
function chained(anchor: Buffer, first: number, payloads: Buffer[]): Buffer[] {
  const out: Buffer[] = [];
  for (const [i, p] of payloads.entries()) out.push(encodeRecord(POOL, first + i, out.at(-1)?.subarray(-32) ?? anchor, p));
  return out;
}

test('a log record round-trips, and a flipped byte anywhere in it (or another pool) is rejected with what follows', () => {
  const anchor = Buffer.alloc(32, 9);
  const payloads = [Buffer.from('first'), Buffer.alloc(0), Buffer.from('third generation')];
  const recs = chained(anchor, 11, payloads);
  const log = Buffer.concat(recs);
  const whole = decodeRecords(log, POOL, 11, anchor);
  assert.deepEqual(whole.records.map((r) => [r.generation, r.payload.toString()]), [[11, 'first'], [12, ''], [13, 'third generation']]);
  assert.deepEqual(whole.records.map((r) => r.seal), recs.map((r) => r.subarray(-32)));
  assert.equal(whole.end, log.length);
  const first = recs[0]!.length;
  for (let at = first; at < log.length; at++) {
    const bad = Buffer.from(log);
    bad[at] = bad[at]! ^ 0x01;
    const got = decodeRecords(bad, POOL, 11, anchor);
    // The second record is the damaged one (or, from its end on, the third).
    const second = first + RECORD_HEADER + 32;
    assert.equal(got.records.length, at < second ? 1 : 2, `byte ${at} flipped`);
  }
  assert.equal(decodeRecords(log, '1e6fd577-940d-48fa-abf5-4f0b3e08b201', 11, anchor).records.length, 0, 'another pool\'s records are not ours');
  assert.equal(decodeRecords(log, POOL, 12, anchor).records.length, 0, 'a record out of sequence is not taken');
  assert.equal(decodeRecords(log.subarray(0, log.length - 1), POOL, 11, anchor).records.length, 2, 'a torn tail is dropped');
});

test('the hash chain: a record sealed whole but carrying another history (another anchor or predecessor) ends the log there', () => {
  const anchor = Buffer.alloc(32, 9);
  const ours = chained(anchor, 11, [Buffer.from('a'), Buffer.from('b'), Buffer.from('c')]);
  assert.equal(decodeRecords(Buffer.concat(ours), POOL, 11, Buffer.alloc(32, 8)).records.length, 0, 'another anchor: none of it');
  // Generation 12 as a disk that went on elsewhere wrote it: same generation, same anchor, another payload.
  const theirs = chained(anchor, 11, [Buffer.from('a'), Buffer.from('B'), Buffer.from('c')]);
  assert.equal(decodeRecords(Buffer.concat([ours[0]!, ours[1]!, theirs[2]!]), POOL, 11, anchor).records.length, 2, 'its 13 follows another 12');
  assert.equal(decodeRecords(Buffer.concat([ours[0]!, theirs[1]!, ours[2]!]), POOL, 11, anchor).records.length, 2, 'our 13 does not follow its 12');
});

test('copyToInWorker makes, on a worker thread, the same copy as copyTo while a group is open (the last COMMIT, never the group)', async () => {
  await withTmpDir(async (dir) => {
    const s: MetaStore = openSqliteStore(path.join(dir, 'meta.db'), { create: true });
    try {
      s.transact((tx) => tx.addDisk({ uuid: 'u1', path: '/d1', tier: 'warm', state: 'healthy', addedMs: 5 }));
      s.setGrouping(true);
      s.transact((tx) => tx.addDisk({ uuid: 'u2', path: '/d2', tier: 'hot', state: 'healthy', addedMs: 6 }));
      const inThread = path.join(dir, 'a.db');
      const inWorker = path.join(dir, 'b.db');
      assert.deepEqual(s.copyTo(inThread), { generation: 1, damaged: { count: 0, first: [] } });
      assert.deepEqual(await s.copyToInWorker(inWorker), { generation: 1, damaged: { count: 0, first: [] } });
      assert.deepEqual(dump(inWorker), dump(inThread));
      assert.deepEqual((dump(inWorker).disks as { uuid: string }[]).map((d) => d.uuid), ['u1']);
      await assert.rejects(s.copyToInWorker(inWorker), (err: Error & { code?: string }) => err.code === 'EIO' && /output file already exists/.test(err.message));
      s.setGrouping(false);
    } finally {
      s.close();
    }
  });
});

test('copyTo and copyToInWorker verify every row of the copy and report those failing their checksum', async () => {
  await withTmpDir(async (dir) => {
    const file = path.join(dir, 'meta.db');
    const s: MetaStore = openSqliteStore(file, { create: true });
    try {
      s.transact((tx) => {
        tx.addDisk({ uuid: 'u1', path: '/d1', tier: 'warm', state: 'healthy', addedMs: 5 });
        tx.setXattr(1, 'user.a', Buffer.from('v'));
      });
      const raw = new Database(file);
      raw.prepare("UPDATE xattrs SET value = X'00' WHERE ino = 1").run();
      raw.prepare("UPDATE disks SET tier = 'hot' WHERE id = 1").run();
      raw.close();
      const report = { generation: 1, damaged: { count: 2, first: ['disks (id 1)', 'xattrs (ino 1, name "user.a")'] } };
      assert.deepEqual(s.copyTo(path.join(dir, 'a.db')), report);
      assert.deepEqual(await s.copyToInWorker(path.join(dir, 'b.db')), report);
    } finally {
      s.close();
    }
  });
});
