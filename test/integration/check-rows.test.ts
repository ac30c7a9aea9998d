/**
 * Damaged metadata rows of every table, through the real CLI and mount (issue 14): a
 * checkpoint is never sealed over a row failing its checksum (the disks keep the older
 * copies that hold the good rows, and say why), and `check` lists a damaged row of any
 * checksummed table, which `check --repair` restores from the disks' copies.
 */
import { test } from 'node:test';
import { assertReadsBack } from '../helpers/files';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { fails, makePool, ok, type Json } from '../helpers/cli';
import { startCoordinator, stopCoordinator } from '../helpers/mount';
import { Rng } from '../helpers/random';
import { withTmpDir } from '../helpers/tmp';

/** The fields that say what a problem is about, in the report's order. */
function shapes(problems: Json[]): Json[] {
  return problems.map((p) => ({ kind: p.kind, path: p.path, inode: p.inode, extent: p.extent, disk: p.disk, parent: p.parent, name: p.name,
    table: p.table, key: p.key, repaired: p.repaired }));
}

function none(extra: Json): Json {
  return { path: null, inode: null, extent: null, disk: null, parent: null, name: null, table: null, key: null, repaired: false, ...extra };
}

/** Run `python3 -c code` in `cwd`; its stdout. */
function py(cwd: string, code: string): string {
  const r = spawnSync('python3', ['-c', code], { cwd, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

function withDb(pool: string, fn: (db: Database.Database) => void): void {
  const db = new Database(path.join(pool, 'meta.db'));
  try {
    fn(db);
  } finally {
    db.close();
  }
}

/** The checkpoint files in a disk's metadata area. */
function checkpoints(disk: string): string[] {
  return fs.readdirSync(path.join(disk, 'meta')).filter((n) => n.startsWith('ckpt-')).sort();
}

function put(root: string, pool: string, files: Map<string, Buffer>): void {
  for (const [p, bytes] of files) {
    const local = path.join(root, 'in');
    fs.writeFileSync(local, bytes);
    ok('put', pool, local, p);
  }
}

test('a checkpoint over damaged rows is refused (the disks keep theirs, the event says why); check --repair restores the rows from them', async () => {
  await withTmpDir(async (root) => {
    const { pool, disks } = makePool(root, 6);
    const rng = new Rng(14);
    const files = new Map([['/f', rng.bytes(100_000)], ['/d/g', rng.bytes(2000)]]);
    ok('mkdir', pool, '/d');
    put(root, pool, files);
    const mnt = path.join(root, 'mnt');
    let child = (await startCoordinator(pool, mnt)).child;
    try {
      py(mnt, 'import os; os.setxattr("f", "user.color", b"blue")');
    } finally {
      await stopCoordinator(mnt, child);
    }
    const f = ok('stat', pool, '/f').ino as number;
    const d = ok('stat', pool, '/d').ino as number;
    withDb(pool, (db) => {
      const g = db.prepare('SELECT checksum FROM dirents WHERE parent = ? AND name = ?').get(d, 'g') as { checksum: Buffer };
      g.checksum[3]! ^= 0x10;
      db.prepare('UPDATE dirents SET checksum = ? WHERE parent = ? AND name = ?').run(g.checksum, d, 'g');
      db.prepare('UPDATE xattrs SET value = ? WHERE ino = ? AND name = ?').run(Buffer.from('red!'), f, 'user.color'); // checksum left stale
    });
    const before = disks.slice(1).map(checkpoints);
    // Disk 1 loses its copy: the next open gives it a checkpoint of meta.db, which is refused.
    fs.rmSync(path.join(disks[0]!, 'meta'), { recursive: true });

    const refused = `metadata checkpoint refused: meta.db has 2 record(s) failing their checksum (xattrs (ino ${f}, name "user.color"); `
      + `dirents (parent ${d}, name "g")); run \`dynamicfs check ${pool} --repair\` to restore them from the disks' copies`;
    const stale = `${refused}; the disk has no copy of the metadata and stays stale until then`;
    const copies = ok('status', pool).metaCopies.disks as Json[];
    assert.deepEqual(copies.map((c) => [c.diskId, c.state, c.error]), disks.map((_, i) => i === 0 ? [1, 'stale', stale] : [i + 1, 'current', null]));
    assert.deepEqual(disks.slice(1).map(checkpoints), before, 'the other disks keep their checkpoints');
    assert.equal(fs.existsSync(path.join(disks[0]!, 'meta', 'head')), false, 'disk 1 got no checkpoint');
    const events = () => (ok('disk-events', pool, '1').events as Json[]);
    assert.deepEqual(events().slice(-1).map((e) => [e.source, e.reason]), [['pool', refused]]);
    ok('status', pool);
    assert.equal(events().filter((e) => e.reason === refused).length, 1, 'the same refusal is recorded once');

    const expected = [
      none({ kind: 'dirent-corrupt', path: '/d/g', parent: d, name: 'g' }),
      none({ kind: 'record-corrupt', inode: f, table: 'xattrs', key: `ino ${f}, name "user.color"` }),
      none({ kind: 'meta-copy-missing', disk: 1 }),
    ];
    const found = fails('ECHECK', ['check', pool]);
    assert.deepEqual(shapes(found.problems), expected);
    assert.equal((found.problems as Json[])[1].message, `metadata row xattrs (ino ${f}, name "user.color") fails its checksum`);

    const healed = ok('check', pool, '--repair');
    assert.deepEqual(shapes(healed.problems), expected.map((p) => ({ ...p, repaired: true })));
    const from = `from the disks' copy of generation \\d+ \\(checkpoint of (${disks.slice(1).join('|')}) at generation \\d+, \\d+ log records replayed\\)`;
    const repairs = (healed.problems as Json[]).map((p) => p.repair as string);
    assert.match(repairs[0]!, new RegExp(`^restored the entries of directory inode ${d} ${from}$`));
    assert.match(repairs[1]!, new RegExp(`^restored the row xattrs \\(ino ${f}, name "user.color"\\) ${from}$`));
    assert.match(repairs[2]!, /^a fresh checkpoint \(generation \d+\) written to the disk$/);

    assert.deepEqual(ok('check', pool).problems, []);
    assert.deepEqual((ok('status', pool).metaCopies.disks as Json[]).map((c) => [c.state, c.error]), disks.map(() => ['current', null]));
    assertReadsBack(root, pool, files);
    child = (await startCoordinator(pool, mnt)).child;
    try {
      assert.equal(py(mnt, 'import os; print(os.getxattr("f", "user.color").decode())'), 'blue\n');
      assert.deepEqual(fs.readdirSync(path.join(mnt, 'd')), ['g']);
    } finally {
      await stopCoordinator(mnt, child);
    }
  });
});

test('check lists a damaged row of the meta, disk event, job and verified tables; --repair restores each from the disks', async () => {
  await withTmpDir(async (root) => {
    const { pool } = makePool(root, 6);
    const files = new Map([['/f', new Rng(15).bytes(300_000)]]);
    put(root, pool, files);
    assert.equal(ok('scrub', pool).state, 'done');
    const job = (ok('jobs', pool).jobs as Json[]).at(-1)!;
    const extent = (ok('stat', pool, '/f').extents as Json[])[0].id as string;
    const firstEvent = (ok('disk-events', pool, '2').events as Json[])[0]!;
    withDb(pool, (db) => {
      const m = db.prepare("SELECT checksum FROM meta WHERE key = 'next_ino'").get() as { checksum: Buffer };
      m.checksum[0]! ^= 1;
      db.prepare("UPDATE meta SET checksum = ? WHERE key = 'next_ino'").run(m.checksum);
      // Checksums left stale:
      db.prepare('UPDATE disk_events SET reason = ? WHERE id = ?').run('forged', firstEvent.id);
      db.prepare("UPDATE jobs SET state = 'failed' WHERE id = ?").run(job.id);
      db.prepare('UPDATE verified SET at_ms = at_ms + 1 WHERE extent_id = ?').run(Buffer.from(extent, 'hex'));
    });
    const expected = [
      none({ kind: 'record-corrupt', table: 'meta', key: 'key "next_ino"' }),
      none({ kind: 'record-corrupt', table: 'disk_events', key: `id ${firstEvent.id}` }),
      none({ kind: 'record-corrupt', table: 'jobs', key: `id ${job.id}` }),
      none({ kind: 'record-corrupt', table: 'verified', extent, key: `extent_id ${extent}` }),
    ];
    assert.deepEqual(shapes(fails('ECHECK', ['check', pool]).problems), expected);
    fails('EMETACORRUPT', ['mkdir', pool, '/new']);

    const healed = ok('check', pool, '--repair');
    assert.deepEqual(shapes(healed.problems), expected.map((p) => ({ ...p, repaired: true })));
    for (const p of healed.problems as Json[]) assert.match(p.repair, new RegExp(`^restored the row ${p.table} \\(${p.key}\\) from the disks' copy of generation \\d+ `));
    assert.deepEqual(ok('check', pool).problems, []);
    assert.deepEqual((ok('jobs', pool).jobs as Json[]).at(-1), job);
    assert.deepEqual((ok('disk-events', pool, '2').events as Json[])[0], firstEvent);
    ok('mkdir', pool, '/new');
    assertReadsBack(root, pool, files);
  });
});

test('a disk registry row failing its checksum: the next open rebuilds meta.db from the disks, records why, and every file reads back', async () => {
  await withTmpDir(async (root) => {
    const { pool } = makePool(root, 6);
    const files = new Map([['/a', new Rng(16).bytes(200_000)], ['/b', new Rng(17).bytes(900)]]);
    put(root, pool, files);
    const registry = () => (ok('disks', pool).disks as Json[]).map((d) => [d.id, d.uuid, d.path, d.state, d.readErrors, d.checksumErrors, d.writeErrors]);
    const disksBefore = registry();
    withDb(pool, (db) => db.prepare('UPDATE disks SET read_errors = read_errors + 7 WHERE id = 3').run()); // checksum left stale
    // Any command opens the pool: this one finds the registry damaged and heals it before it runs.
    const status = ok('status', pool);
    assert.equal(status.namespace.files, 2);
    const heals = (ok('disk-events', pool).events as Json[]).map((e) => e.reason as string).filter((r) => r.startsWith('metadata rebuilt from the disks'));
    assert.equal(heals.length, 1);
    assert.ok(heals[0]!.startsWith(`metadata rebuilt from the disks: meta.db's disk registry: metadata record in disks (id 3) fails its checksum (in ${path.join(pool, 'meta.db')}); `), heals[0]);
    assert.match(heals[0]!, /; now generation \d+ \(checkpoint of .*disk\d, \d+ generations replayed\)$/);
    assert.deepEqual(registry(), disksBefore); // disk 3's row as committed: no read errors
    assert.deepEqual(ok('check', pool).problems, []);
    assertReadsBack(root, pool, files);
  });
});
