/**
 * `check`, the pool's fsck, through the real CLI: a clean pool checks clean; each
 * inconsistency planted straight into POOL/meta.db or onto a disk (a dangling entry, a
 * wrong link count, an orphan inode, an unreferenced fragment, a referenced fragment
 * deleted, a pack no file uses) is listed exactly, `check --repair` fixes it, a second
 * check is clean and every file reads back identical. A record failing its checksum is
 * listed and restored from the disks' copies of the metadata, or left, saying why, when
 * they cannot supply it. Through a running coordinator, `check` runs there.
 */
import { test } from 'node:test';
import { assertReadsBack } from '../helpers/files';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { direntChecksum, inodeChecksum, extentChecksum, type Extent, type Inode } from '../../src/meta/records';
import { fragRelativePath } from '../../src/native';
import { dfs, fails, makePool, ok, run, type Json } from '../helpers/cli';
import { startCoordinator, stopCoordinator } from '../helpers/mount';
import { Rng } from '../helpers/random';
import { withTmpDir } from '../helpers/tmp';

interface InodeRow { ino: number; kind: string; mode: number; uid: number; gid: number; size: number; nlink: number; atime_ms: number;
  mtime_ms: number; ctime_ms: number; policy: string | null; target: string | null; rdev: number }

function toInode(r: InodeRow): Inode {
  return { ino: r.ino, kind: r.kind as Inode['kind'], mode: r.mode, uid: r.uid, gid: r.gid, size: r.size, nlink: r.nlink, atimeMs: r.atime_ms,
    mtimeMs: r.mtime_ms, ctimeMs: r.ctime_ms, policy: r.policy, target: r.target, rdev: r.rdev };
}

/** Set an inode's nlink in meta.db with a checksum that matches (a wrong count, not a damaged record). */
function setNlink(db: Database.Database, ino: number, nlink: number): void {
  const row = db.prepare('SELECT * FROM inodes WHERE ino = ?').get(ino) as InodeRow;
  const i = { ...toInode(row), nlink };
  db.prepare('UPDATE inodes SET nlink = ?, checksum = ? WHERE ino = ?').run(nlink, inodeChecksum(i), ino);
}

function inoOf(pool: string, p: string): number {
  return ok('stat', pool, p).ino as number;
}

/** The problems as comparable objects, in the report's order. */
function shapes(problems: Json[]): Json[] {
  return problems.map((p) => ({ kind: p.kind, path: p.path, inode: p.inode, extent: p.extent, disk: p.disk, index: p.index,
    parent: p.parent, name: p.name, nlink: p.nlink, counted: p.counted, repaired: p.repaired }));
}

function none(extra: Json): Json {
  return { path: null, inode: null, extent: null, disk: null, index: null, parent: null, name: null, nlink: null, counted: null, repaired: false, ...extra };
}

function diskPaths(pool: string): Map<number, string> {
  return new Map((ok('disks', pool).disks as Json[]).map((d) => [d.id as number, d.path as string]));
}

test('check: a clean pool checks clean; planted problems are listed exactly, repaired, and every file reads back', async () => {
  await withTmpDir(async (root) => {
    const { pool } = makePool(root);
    const rng = new Rng(14);
    const files = new Map<string, Buffer>([
      ['/a/big', rng.bytes(300_000)], ['/a/big2', rng.bytes(200_000)], ['/a/small', rng.bytes(3000)], ['/b/orphaned', rng.bytes(150_000)],
    ]);
    for (const d of ['/a', '/b', '/a/sub']) ok('mkdir', pool, d);
    for (const [p, bytes] of files) {
      const local = path.join(root, `in-${path.basename(p)}`);
      fs.writeFileSync(local, bytes);
      ok('put', pool, local, p);
    }

    const clean = ok('check', pool);
    assert.deepEqual(clean.problems, []);
    assert.equal(clean.clean, true);
    assert.deepEqual(clean.counts, { inodes: 8, dirents: 7, extents: 4, fragmentsOnDisks: 18 });
    assert.equal(run(['check', pool]).stdout.includes('no problems found'), true);

    const big = inoOf(pool, '/a/big');
    const orphan = inoOf(pool, '/b/orphaned');
    const a = inoOf(pool, '/a');
    const b = inoOf(pool, '/b');
    const big2 = ok('stat', pool, '/a/big2');
    const bigStat = ok('stat', pool, '/a/big');
    const disks = diskPaths(pool);
    // A referenced fragment deleted: fragment 1 of /a/big2's extent.
    const lost = (big2.extents[0].fragments as Json[]).find((f) => f.index === 1)!;
    const lostFile = path.join(disks.get(lost.diskId)!, fragRelativePath(Buffer.from(big2.extents[0].id, 'hex'), 1));
    fs.rmSync(lostFile);
    // Unreferenced fragments: /a/big's fragment 0 copied under other extent ids on its own disk, one old, one just made.
    const src = (bigStat.extents[0].fragments as Json[]).find((f) => f.index === 0)!;
    const srcFile = path.join(disks.get(src.diskId)!, fragRelativePath(Buffer.from(bigStat.extents[0].id, 'hex'), 0));
    const oldId = 'ab'.repeat(16);
    const youngId = 'cd'.repeat(16);
    for (const id of [oldId, youngId]) {
      const dest = path.join(disks.get(src.diskId)!, fragRelativePath(Buffer.from(id, 'hex'), 0));
      fs.mkdirSync(path.dirname(dest), { recursive: true });
      fs.copyFileSync(srcFile, dest);
      if (id === oldId) fs.utimesSync(dest, new Date(Date.now() - 3600_000), new Date(Date.now() - 3600_000));
    }
    const db = new Database(path.join(pool, 'meta.db'));
    try {
      db.prepare('INSERT INTO dirents (parent, name, ino, checksum) VALUES (?, ?, ?, ?)').run(1, 'ghost', 9999, direntChecksum(1, 'ghost', 9999)); // dangling
      setNlink(db, big, 3); // wrong link counts: a file's, and a directory's (2 + its one subdirectory)
      setNlink(db, a, 7);
      db.prepare('DELETE FROM dirents WHERE parent = ? AND name = ?').run(b, 'orphaned'); // orphan: nlink 1, no name
    } finally {
      db.close();
    }

    const expected = [
      none({ kind: 'dangling-dirent', path: '/ghost', inode: 9999, parent: 1, name: 'ghost' }),
      none({ kind: 'wrong-nlink', path: '/a', inode: a, nlink: 7, counted: 3 }),
      none({ kind: 'wrong-nlink', path: '/a/big', inode: big, nlink: 3, counted: 1 }),
      none({ kind: 'orphan-inode', inode: orphan, nlink: 1, counted: 0 }),
      none({ kind: 'missing-fragment', path: '/a/big2', inode: big2.ino, extent: big2.extents[0].id, disk: lost.diskId, index: 1 }),
      none({ kind: 'unreferenced-fragment', extent: oldId, disk: src.diskId, index: 0 }),
      none({ kind: 'unreferenced-fragment', extent: youngId, disk: src.diskId, index: 0 }),
    ];
    const found = fails('ECHECK', ['check', pool]);
    assert.deepEqual(shapes(found.problems), expected);
    assert.equal(found.remaining, 7);
    assert.equal((found.problems as Json[]).every((p) => p.repair === null), true);
    const human = run(['check', pool]);
    assert.equal(human.code, 1);
    assert.match(human.stdout, /dangling-dirent: \/ghost names inode 9999, which does not exist/);
    assert.match(human.stderr, /check found 7 problems; 7 remain: run `dynamicfs check .* --repair`/);

    // --repair fixes all but the young unreferenced fragment (the gc age rule).
    const repaired = fails('ECHECK', ['check', pool, '--repair']);
    assert.deepEqual(shapes(repaired.problems), expected.map((p, i) => ({ ...p, repaired: i < 6 })));
    assert.deepEqual((repaired.problems as Json[]).map((p) => p.repair.replace(/\d+s old/, 'Ns old')), [
      'entry removed',
      'nlink set to 3',
      'nlink set to 1',
      `linked as /lost+found/#${orphan}`,
      `rebuilt onto disk ${lost.diskId}`,
      'removed',
      'left: Ns old, younger than the minimum age 900s (an in-flight write may own it); a later check --repair or gc removes it',
    ]);
    assert.equal(repaired.remaining, 1);
    assert.equal(fs.existsSync(lostFile), true, 'the missing fragment is rebuilt in place');
    assert.equal(fs.existsSync(path.join(disks.get(src.diskId)!, fragRelativePath(Buffer.from(oldId, 'hex'), 0))), false);

    const young = ok('check', pool, '--repair', '--min-age', '0');
    assert.deepEqual(shapes(young.problems), [expected[6]].map((p) => ({ ...p, repaired: true })));
    assert.equal(young.clean, true);

    const after = ok('check', pool);
    assert.deepEqual(after.problems, []);
    assert.deepEqual(after.counts, { inodes: 9, dirents: 8, extents: 4, fragmentsOnDisks: 18 });
    assert.equal(ok('stat', pool, '/a/big').nlink, 1);
    assert.equal(ok('stat', pool, '/a').nlink, 3);
    assert.equal(ok('stat', pool, '/').nlink, 5, 'root: 2 + /a, /b, /lost+found');
    assert.deepEqual((ok('ls', pool, '/lost+found').entries as Json[]).map((e) => e.name), [`#${orphan}`]);
    const orphanBytes = files.get('/b/orphaned')!;
    files.delete('/b/orphaned');
    files.set(`/lost+found/#${orphan}`, orphanBytes);
    assertReadsBack(root, pool, files);
  });
});

/** Plant records failing their checksum: /f's inode and extent, /d/g's entry (its checksum), /d/h's entry (its name). */
function damageRecords(pool: string, f: Json, d: number): void {
  const db = new Database(path.join(pool, 'meta.db'));
  try {
    db.prepare('UPDATE inodes SET mode = 511 WHERE ino = ?').run(f.ino); // checksum left stale
    db.prepare('UPDATE extents SET length = length - 1 WHERE id = ?').run(Buffer.from(f.extents[0].id, 'hex'));
    const g = db.prepare('SELECT checksum FROM dirents WHERE parent = ? AND name = ?').get(d, 'g') as { checksum: Buffer };
    const flipped = Buffer.from(g.checksum);
    flipped[5]! ^= 0x40;
    db.prepare('UPDATE dirents SET checksum = ? WHERE parent = ? AND name = ?').run(flipped, d, 'g');
    db.prepare('UPDATE dirents SET name = ? WHERE parent = ? AND name = ?').run('x', d, 'h');
  } finally {
    db.close();
  }
}

/** A pool with /f (fragments), /d/g and /d/h (inline): the files, /f's stat and /d's inode. */
function damagedPoolFiles(root: string, pool: string): { files: Map<string, Buffer>; f: Json; d: number } {
  const rng = new Rng(3);
  const files = new Map<string, Buffer>([['/f', rng.bytes(100_000)], ['/d/g', rng.bytes(2000)], ['/d/h', rng.bytes(3000)]]);
  ok('mkdir', pool, '/d');
  for (const [p, bytes] of files) {
    const local = path.join(root, `in-${path.basename(p)}`);
    fs.writeFileSync(local, bytes);
    ok('put', pool, local, p);
  }
  return { files, f: ok('stat', pool, '/f'), d: inoOf(pool, '/d') };
}

function damagedExpected(f: Json, d: number): Json[] {
  return [
    none({ kind: 'inode-corrupt', path: '/f', inode: f.ino }),
    none({ kind: 'dirent-corrupt', path: '/d/g', parent: d, name: 'g' }),
    none({ kind: 'dirent-corrupt', path: '/d/x', parent: d, name: 'x' }),
    none({ kind: 'extent-corrupt', extent: f.extents[0].id }),
  ];
}

test('check: records failing their checksum are listed exactly; --repair restores them from the disks\' copies; every file reads back', async () => {
  await withTmpDir(async (root) => {
    const { pool, disks } = makePool(root, 6);
    const { files, f, d } = damagedPoolFiles(root, pool);
    damageRecords(pool, f, d);
    const expected = damagedExpected(f, d);
    const found = fails('ECHECK', ['check', pool]);
    assert.deepEqual(shapes(found.problems), expected);
    assert.equal((found.problems as Json[])[1].message,
      `directory entry /d/g (in directory inode ${d}) fails its checksum; link counts are not checked while it does`);
    // A read meeting a damaged record names the fix.
    const bad = fails('EMETACORRUPT', ['stat', pool, '/f']);
    assert.match(bad.message, new RegExp(`run \`dynamicfs check ${pool} --repair\` to restore it from the disks' copies`));

    const healed = ok('check', pool, '--repair');
    assert.deepEqual(shapes(healed.problems), expected.map((p) => ({ ...p, repaired: true })));
    const from = `from the disks' copy of generation \\d+ \\(checkpoint of (${disks.join('|')}) at generation \\d+, \\d+ log records replayed\\)`;
    const what = [`inode ${f.ino}`, `the entries of directory inode ${d}`, `the entries of directory inode ${d}`, `extent ${f.extents[0].id}`];
    (healed.problems as Json[]).forEach((p, i) => assert.match(p.repair, new RegExp(`^restored ${what[i]} ${from}$`)));
    assert.equal(healed.remaining, 0);

    const after = ok('check', pool);
    assert.deepEqual(after.problems, []);
    assert.deepEqual((ok('ls', pool, '/d').entries as Json[]).map((e) => e.name), ['g', 'h']);
    assert.equal(ok('stat', pool, '/f').mode & 0o7777, f.mode & 0o7777);
    assertReadsBack(root, pool, files);
  });
});

test('check --repair through a running coordinator restores damaged records there; the mount reads every file back', async () => {
  await withTmpDir(async (root) => {
    const { pool, disks } = makePool(root, 6);
    const { files, f, d } = damagedPoolFiles(root, pool);
    damageRecords(pool, f, d);
    const mnt = path.join(root, 'mnt');
    let child: Awaited<ReturnType<typeof startCoordinator>>['child'] | undefined;
    try {
      child = (await startCoordinator(pool, mnt)).child;
      const expected = damagedExpected(f, d);
      assert.deepEqual(shapes(fails('ECHECK', ['check', pool]).problems), expected);
      const healed = ok('check', pool, '--repair');
      assert.deepEqual(shapes(healed.problems), expected.map((p) => ({ ...p, repaired: true })));
      const from = new RegExp(`^restored .* from the disks' copy of generation \\d+ \\(checkpoint of (${disks.join('|')}) at generation \\d+, \\d+ log records replayed\\)$`);
      for (const p of healed.problems as Json[]) assert.match(p.repair, from);
      assert.deepEqual(ok('check', pool).problems, []);
      assert.deepEqual(fs.readdirSync(path.join(mnt, 'd')).sort(), ['g', 'h']);
      for (const [p, bytes] of files) assert.equal(Buffer.compare(fs.readFileSync(path.join(mnt, p)), bytes), 0, `${p} reads back identical`);
      await stopCoordinator(mnt, child);
      child = undefined;
      assert.deepEqual(ok('check', pool).problems, []);
    } finally {
      if (child) await stopCoordinator(mnt, child);
    }
  });
});

/*
 * The disks' areas deleted: no disk holds a copy, and opening the pool does not seal
 * meta.db's damaged rows into a fresh checkpoint (no copy would ever hold the good rows
 * again), so every disk stays stale, saying why.
 */
test('check: with no disk holding a copy, damaged records are left and sealed into no checkpoint; each disk stays stale, saying why', async () => {
  await withTmpDir(async (root) => {
    const { pool, disks } = makePool(root, 6);
    const { f, d } = damagedPoolFiles(root, pool);
    damageRecords(pool, f, d);
    for (const disk of disks) fs.rmSync(path.join(disk, 'meta'), { recursive: true, force: true });
    const missing = disks.map((_, i) => none({ kind: 'meta-copy-missing', disk: i + 1 }));
    const expected = [...damagedExpected(f, d), ...missing];
    const again = fails('ECHECK', ['check', pool, '--repair']);
    assert.deepEqual(shapes(again.problems), expected);
    const rows = [`inodes (ino ${f.ino})`, `dirents (parent ${d}, name "g")`, `dirents (parent ${d}, name "x")`, `extents (id ${f.extents[0].id})`];
    const refused = `metadata checkpoint refused: meta.db has 4 record(s) failing their checksum (${rows.join('; ')}); `
      + `run \`dynamicfs check ${pool} --repair\` to restore them from the disks' copies`;
    const problems = again.problems as Json[];
    for (const p of problems.slice(0, 4)) {
      assert.equal(p.repair, `not repaired: the disks' copies cannot supply it: no disk of the pool holds a metadata copy (looked at ${disks.join(', ')})`);
    }
    const stale = `${refused}; the disk has no copy of the metadata and stays stale until then`;
    for (const p of problems.slice(4)) assert.equal(p.repair, `a fresh checkpoint could not be written: ${stale}`);
    assert.equal(again.remaining, 10);
    for (const disk of disks) assert.equal(fs.existsSync(path.join(disk, 'meta', 'head')), false, `${disk} holds no checkpoint`);
    assert.deepEqual(shapes(fails('ECHECK', ['check', pool]).problems), expected);
    fails('EMETACORRUPT', ['stat', pool, '/f']);
    fails('EINVAL', ['check', pool, '--min-age', 'soon']);
  });
});

test('check through a running coordinator finds a planted unreferenced fragment and an unused pack, and repairs both', async () => {
  await withTmpDir(async (root) => {
    const { pool } = makePool(root, 6);
    const mnt = path.join(root, 'mnt');
    const rng = new Rng(7);
    const small = new Map(Array.from({ length: 6 }, (_, i) => [`/s${i}`, rng.bytes(20_000 + i * 1000)] as [string, Buffer]));
    let child: Awaited<ReturnType<typeof startCoordinator>>['child'] | undefined;
    try {
      child = (await startCoordinator(pool, mnt)).child;
      for (const [p, bytes] of small) fs.writeFileSync(path.join(mnt, p), bytes);
      // An admin command commits the open group: the small files are packed and recorded now.
      assert.deepEqual(ok('check', pool).problems, []);
      await stopCoordinator(mnt, child);
      child = undefined;

      // A copy of the pack's row under a new id (with its fragment files copied too): a pack no file uses.
      const db = new Database(path.join(pool, 'meta.db'));
      const disks = diskPaths(pool);
      const copyId = Buffer.from('ef'.repeat(16), 'hex');
      const copies: string[] = [];
      try {
        const pack = db.prepare('SELECT * FROM extents WHERE ino = 0').get() as Json;
        const frags = db.prepare('SELECT * FROM fragments WHERE extent_id = ?').all(pack.id) as Json[];
        const e: Extent = { id: copyId, ino: 0, offset: 999_999, length: pack.length, scheme: pack.scheme, k: pack.k, m: pack.m, fragLen: pack.frag_len,
          logicalHash: pack.logical_hash, inlineData: null, fragments: frags.map((f) => ({ index: f.idx, diskId: f.disk_id, hash: f.hash })) };
        db.prepare(`INSERT INTO extents (id, ino, offset, length, scheme, k, m, frag_len, logical_hash, inline_data, checksum)
                    VALUES (?, 0, ?, ?, ?, ?, ?, ?, ?, NULL, ?)`).run(copyId, e.offset, e.length, e.scheme, e.k, e.m, e.fragLen, e.logicalHash, extentChecksum(e));
        for (const f of frags) {
          db.prepare('INSERT INTO fragments (extent_id, idx, disk_id, hash) VALUES (?, ?, ?, ?)').run(copyId, f.idx, f.disk_id, f.hash);
          const from = path.join(disks.get(f.disk_id)!, fragRelativePath(pack.id, f.idx));
          const to = path.join(disks.get(f.disk_id)!, fragRelativePath(copyId, f.idx));
          fs.mkdirSync(path.dirname(to), { recursive: true });
          fs.copyFileSync(from, to);
          copies.push(to);
        }
      } finally {
        db.close();
      }
      child = (await startCoordinator(pool, mnt)).child;
      // Planted while it serves: an old fragment file no extent references.
      const [diskId, disk] = [...disks][2]!;
      const strayId = '12'.repeat(16);
      const stray = path.join(disk, fragRelativePath(Buffer.from(strayId, 'hex'), 3));
      fs.mkdirSync(path.dirname(stray), { recursive: true });
      fs.writeFileSync(stray, Buffer.alloc(8192, 7));
      fs.utimesSync(stray, new Date(Date.now() - 3600_000), new Date(Date.now() - 3600_000));

      const expected = [
        none({ kind: 'unused-pack', extent: copyId.toString('hex') }),
        none({ kind: 'unreferenced-fragment', extent: strayId, disk: diskId, index: 3 }),
      ];
      const found = fails('ECHECK', ['check', pool]);
      assert.deepEqual(shapes(found.problems), expected);
      const fixed = ok('check', pool, '--repair');
      assert.deepEqual(shapes(fixed.problems), expected.map((p) => ({ ...p, repaired: true })));
      assert.equal(fs.existsSync(stray), false);
      assert.deepEqual(ok('check', pool).problems, []);
      for (const [p, bytes] of small) assert.equal(Buffer.compare(fs.readFileSync(path.join(mnt, p)), bytes), 0, `${p} reads back identical`);
      // The dropped pack's copied fragment files went after the group committed.
      assert.equal(copies.length, 6);
      assert.deepEqual(copies.filter((f) => fs.existsSync(f)), []);
      assert.equal(dfs('check', pool).code, 0);
    } finally {
      if (child) await stopCoordinator(mnt, child);
    }
  });
});

/** An extent record of meta.db as the store reads it (fragments included), to rewrite with a matching checksum. */
function extentRow(db: Database.Database, id: Buffer): Extent {
  const r = db.prepare('SELECT * FROM extents WHERE id = ?').get(id) as Json;
  const frags = db.prepare('SELECT * FROM fragments WHERE extent_id = ? ORDER BY idx').all(id) as Json[];
  return { id: r.id, ino: r.ino, offset: r.offset, length: r.length, scheme: r.scheme, k: r.k, m: r.m, fragLen: r.frag_len, logicalHash: r.logical_hash,
    inlineData: r.inline_data, fragments: frags.map((f) => ({ index: f.idx, diskId: f.disk_id, hash: f.hash })) };
}

test('check: the problems --repair leaves are listed exactly, each with why; an inode unlinked while open is none', async () => {
  await withTmpDir(async (root) => {
    const { pool } = makePool(root, 6);
    const rng = new Rng(5);
    for (const [name, size] of [['f', 100_000], ['g', 2000], ['h', 50_000], ['empty', 0]] as const) {
      const local = path.join(root, name);
      fs.writeFileSync(local, rng.bytes(size));
      ok('put', pool, local, `/${name}`);
    }
    ok('mkdir', pool, '/d');
    ok('mkdir', pool, '/d/sub');
    const [f, g, empty, d, sub] = ['/f', '/g', '/empty', '/d', '/d/sub'].map((p) => inoOf(pool, p)) as [number, number, number, number, number];
    const fExtent = Buffer.from(ok('stat', pool, '/f').extents[0].id, 'hex');
    const hExtent = Buffer.from(ok('stat', pool, '/h').extents[0].id, 'hex');
    const packed = Buffer.from('0f'.repeat(16), 'hex');
    const ghostPack = Buffer.from('a0'.repeat(16), 'hex');
    const db = new Database(path.join(pool, 'meta.db'));
    try {
      db.prepare('INSERT INTO dirents (parent, name, ino, checksum) VALUES (?, ?, ?, ?)').run(1, 'again', sub, direntChecksum(1, 'again', sub)); // a directory in two parents
      db.prepare('INSERT INTO dirents (parent, name, ino, checksum) VALUES (?, ?, ?, ?)').run(f, 'inner', g, direntChecksum(f, 'inner', g)); // an entry inside a file
      const fe = { ...extentRow(db, fExtent), ino: 4242 }; // an extent of no inode
      db.prepare('UPDATE extents SET ino = ?, checksum = ? WHERE id = ?').run(fe.ino, extentChecksum(fe), fExtent);
      const he = { ...extentRow(db, hExtent), ino: d }; // an extent of a directory
      db.prepare('UPDATE extents SET ino = ?, checksum = ? WHERE id = ?').run(he.ino, extentChecksum(he), hExtent);
      // /empty's bytes packed in a pack that does not exist (and past its size).
      const pe: Extent = { id: packed, ino: empty, offset: 0, length: 100, scheme: 'packed', k: 0, m: 0, fragLen: 0, logicalHash: Buffer.alloc(32),
        inlineData: null, fragments: [], pack: { id: ghostPack, offset: 0 } };
      db.prepare(`INSERT INTO extents (id, ino, offset, length, scheme, k, m, frag_len, logical_hash, inline_data, pack_id, pack_offset, checksum)
                  VALUES (?, ?, 0, 100, 'packed', 0, 0, 0, ?, NULL, ?, 0, ?)`).run(packed, empty, pe.logicalHash, ghostPack, extentChecksum(pe));
      // A file unlinked while open when its coordinator died: nlink 0, no name. Not a problem.
      const unlinked: Inode = { ...toInode(db.prepare('SELECT * FROM inodes WHERE ino = ?').get(g) as InodeRow), ino: 5000, nlink: 0 };
      db.prepare(`INSERT INTO inodes (ino, kind, mode, uid, gid, size, nlink, atime_ms, mtime_ms, ctime_ms, policy, target, rdev, checksum)
                  SELECT 5000, kind, mode, uid, gid, size, 0, atime_ms, mtime_ms, ctime_ms, policy, target, rdev, ? FROM inodes WHERE ino = ?`).run(inodeChecksum(unlinked), g);
    } finally {
      db.close();
    }
    const expected = [
      none({ kind: 'parent-not-dir', inode: g, parent: f, name: 'inner' }),
      none({ kind: 'wrong-nlink', path: '/', inode: 1, nlink: 3, counted: 4 }),
      none({ kind: 'wrong-nlink', path: '/g', inode: g, nlink: 1, counted: 2 }),
      none({ kind: 'dir-two-parents', path: '/again', inode: sub, counted: 2 }),
      none({ kind: 'extent-without-inode', inode: 4242, extent: fExtent.toString('hex') }),
      none({ kind: 'extent-owner-not-file', path: '/d', inode: d, extent: hExtent.toString('hex') }),
      none({ kind: 'pack-missing', path: '/empty', inode: empty, extent: packed.toString('hex') }),
      none({ kind: 'size-short', path: '/empty', inode: empty }),
    ];
    const sortKey = (p: Json): string => `${p.kind}/${p.extent}`;
    const byKind = (list: Json[]): Json[] => [...list].sort((x, y) => sortKey(x).localeCompare(sortKey(y)));
    assert.deepEqual(byKind(shapes(fails('ECHECK', ['check', pool]).problems)), byKind(expected));
    const after = fails('ECHECK', ['check', pool, '--repair']);
    const fixed = new Set(['wrong-nlink']);
    assert.deepEqual(byKind(shapes(after.problems)), byKind(expected.map((p) => ({ ...p, repaired: fixed.has(p.kind) }))));
    assert.deepEqual(Object.fromEntries((after.problems as Json[]).filter((p) => !p.repaired).map((p) => [p.kind, p.repair])), {
      'parent-not-dir': 'not repaired: the entry cannot be reached; check --repair does not guess where it belongs',
      'dir-two-parents': 'not repaired: which entry is right is not known; remove the wrong one (rm, mv)',
      'extent-without-inode': 'not repaired: no file names these bytes; nothing is deleted by check',
      'extent-owner-not-file': 'not repaired: nothing is deleted by check',
      'pack-missing': 'not repaired: the bytes are lost; restore the file from a backup',
      'size-short': 'not repaired: the bytes past the size are not the file\'s; rewrite the file to settle it',
    });
    assert.equal(after.remaining, 6);
    assert.deepEqual(byKind(shapes(fails('ECHECK', ['check', pool]).problems)), byKind(expected.filter((p) => !fixed.has(p.kind))));
  });
});
