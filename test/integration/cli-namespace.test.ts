/**
 * The namespace verbs through the real CLI: init, add-disk, disks, mkdir, ls, mv, rm,
 * stat and status, checked through their --json replies, the human output, and the
 * fragment files on the disks.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { fails, makePool, ok, run, type Json } from '../helpers/cli';
import { Rng } from '../helpers/random';
import { withTmpDir } from '../helpers/tmp';

const rng = new Rng();

/** Fragment files on a disk (everything under DISK/frags). */
function fragFiles(disk: string): string[] {
  const top = path.join(disk, 'frags');
  if (!fs.existsSync(top)) return [];
  return (fs.readdirSync(top, { recursive: true }) as string[]).filter((p) => fs.statSync(path.join(top, p)).isFile());
}

/** Store `bytes` random bytes at poolPath through `put`. */
function putRandom(root: string, pool: string, poolPath: string, bytes: number): Buffer {
  const data = rng.bytes(bytes);
  const src = path.join(root, `src-${bytes}-${Math.random().toString(36).slice(2)}`);
  fs.writeFileSync(src, data);
  ok('put', pool, src, poolPath);
  fs.rmSync(src);
  return data;
}

const names = (r: Json): string[] => (r.entries as Json[]).map((e) => e.name as string);

test('init, add-disk x6 and disks report the pool and its disks', async () => {
  await withTmpDir((root) => {
    const pool = path.join(root, 'pool');
    const init = ok('init', pool);
    assert.equal(init.policy, 'rs:4+2');
    assert.equal(init.extentSize, 4 * 1024 * 1024);
    assert.equal(init.inlineMax, 16 * 1024);
    assert.equal(init.width, 6);
    assert.match(init.uuid, /^[0-9a-f-]{36}$/);
    assert.equal(init.pool, pool);

    for (let i = 1; i <= 6; i++) {
      const d = path.join(root, `disk${i}`);
      fs.mkdirSync(d);
      const r = ok('add-disk', pool, d, ...(i === 1 ? ['--tier', 'hot'] : []));
      assert.equal(r.disk.id, i);
      assert.equal(r.disk.path, d);
      assert.equal(r.disks, i);
      assert.equal(r.needed, 6);
      assert.ok(fs.existsSync(path.join(d, 'dynamicfs.label')), 'the disk is labelled');
    }

    const disks = ok('disks', pool).disks as Json[];
    assert.equal(disks.length, 6);
    for (const [i, d] of disks.entries()) {
      assert.equal(d.id, i + 1);
      assert.equal(d.path, path.join(root, `disk${i + 1}`));
      assert.equal(d.tier, i === 0 ? 'hot' : 'warm');
      assert.equal(d.state, 'healthy');
      assert.equal(d.present, true);
      assert.ok(d.capacityBytes > 0 && d.freeBytes > 0 && d.usedBytes === d.capacityBytes - d.freeBytes);
      assert.equal(d.fragments, 0);
      assert.deepEqual([d.readErrors, d.checksumErrors, d.writeErrors], [0, 0, 0]);
    }

    const human = run(['disks', pool]);
    assert.equal(human.code, 0);
    const lines = human.stdout.trimEnd().split('\n');
    assert.match(lines[0]!, /^ID\s+PATH\s+TIER\s+STATE\s+PRESENT\s+CAPACITY\s+USED\s+FREE\s+FRAGMENTS/);
    assert.equal(lines.length, 7);
    assert.match(lines[1]!, /hot\s+healthy\s+yes\s+[\d.]+ [KMGT]iB/, 'sizes are humanised');

    const other = ok('init', path.join(root, 'mirror'), '--redundancy', 'mirror:3', '--extent-size', '1M');
    assert.equal(other.policy, 'mirror:3');
    assert.equal(other.extentSize, 1024 * 1024);
    assert.equal(other.width, 3);
  });
});

test('mkdir -p, mkdir and ls (short, long, JSON)', async () => {
  await withTmpDir((root) => {
    const { pool } = makePool(root);
    assert.deepEqual(ok('mkdir', pool, '/a/b/c', '-p').created, ['/a', '/a/b', '/a/b/c']);
    assert.deepEqual(ok('mkdir', pool, '/a/b/c', '-p').created, [], '-p on an existing directory is fine');
    assert.deepEqual(ok('mkdir', pool, 'a/x').created, ['/a/x'], 'relative paths start at the root');

    assert.deepEqual(names(ok('ls', pool)), ['a']);
    const a = ok('ls', pool, '/a');
    assert.equal(a.path, '/a');
    assert.equal(a.kind, 'dir');
    assert.deepEqual(names(a), ['b', 'x']);
    assert.ok((a.entries as Json[]).every((e) => e.kind === 'dir' && e.mode === 0o755));
    assert.deepEqual((a.entries as Json[]).map((e) => e.nlink), [3, 2], 'b holds c, x is empty');
    const top = (ok('ls', pool, '/').entries as Json[])[0]!;
    assert.equal(top.nlink, 4, 'a directory links itself, its entry and each subdirectory');

    const short = run(['ls', pool, '/a']);
    assert.equal(short.stdout, 'b/\nx/\n');
    const long = run(['ls', pool, '/a', '-l']);
    assert.match(long.stdout, /^MODE\s+LINKS\s+SIZE\s+MODIFIED\s+NAME\n/);
    assert.match(long.stdout, /drwxr-xr-x\s+3\s+0 B\s+\d{4}-\d\d-\d\d \d\d:\d\d\s+b\/\n/);

    putRandom(root, pool, '/a/file', 1000);
    const one = ok('ls', pool, '/a/file');
    assert.equal(one.kind, 'file');
    assert.deepEqual(names(one), ['file']);
    assert.equal((one.entries as Json[])[0]!.size, 1000);
  });
});

test('mv renames, moves into directories and replaces files with POSIX semantics', async () => {
  await withTmpDir((root) => {
    const { pool, disks } = makePool(root);
    ok('mkdir', pool, '/a/b', '-p');
    ok('mkdir', pool, '/a/x');
    putRandom(root, pool, '/a/f1', 300_000); // one erasure-coded extent: a fragment on every disk
    putRandom(root, pool, '/a/f2', 100); // inline
    assert.equal(disks.reduce((n, d) => n + fragFiles(d).length, 0), 6);

    let r = ok('mv', pool, '/a/x', '/a/y');
    assert.deepEqual([r.from, r.to, r.replaced], ['/a/x', '/a/y', null]);
    assert.deepEqual(names(ok('ls', pool, '/a')), ['b', 'f1', 'f2', 'y']);

    r = ok('mv', pool, '/a/y', '/a/b');
    assert.equal(r.to, '/a/b/y', 'onto an existing directory: moved inside it');
    assert.deepEqual(names(ok('ls', pool, '/a/b')), ['y']);
    const links = Object.fromEntries((ok('ls', pool, '/a').entries as Json[]).map((e) => [e.name, e.nlink]));
    assert.equal(links.b, 3, 'b gained a subdirectory');
    assert.equal((ok('ls', pool, '/').entries as Json[])[0]!.nlink, 3, 'a lost one (y) and kept one (b)');

    assert.equal(ok('mv', pool, 'a/f1', 'a/b').to, '/a/b/f1');
    const before = ok('stat', pool, '/a/f2');
    const victim = ok('stat', pool, '/a/b/f1').ino;
    r = ok('mv', pool, '/a/f2', '/a/b/f1');
    assert.deepEqual(r.replaced, { ino: victim, kind: 'file' });
    const moved = ok('stat', pool, '/a/b/f1');
    assert.equal(moved.ino, before.ino, 'the moved file keeps its inode');
    assert.equal(moved.size, 100);
    assert.equal(disks.reduce((n, d) => n + fragFiles(d).length, 0), 0, 'the replaced file\'s fragments are deleted');
    assert.ok((ok('disks', pool).disks as Json[]).every((d) => d.fragments === 0));
    assert.equal(ok('status', pool).namespace.files, 1);

    // A directory replaces an empty directory of the same name...
    ok('mkdir', pool, '/e/y', '-p');
    r = ok('mv', pool, '/a/b/y', '/e');
    assert.deepEqual([r.to, r.replaced?.kind], ['/e/y', 'dir']);
    assert.deepEqual(names(ok('ls', pool, '/a/b')), ['f1']);
    // ...and moving a file to its own directory changes nothing.
    const gen = ok('status', pool).generation;
    assert.equal(ok('mv', pool, '/a/b/f1', '/a/b').to, '/a/b/f1');
    assert.equal(ok('status', pool).generation, gen);

    const human = run(['mv', pool, '/e', '/renamed']);
    assert.equal(human.code, 0);
    assert.equal(human.stdout, 'moved /e -> /renamed\n');
    assert.deepEqual(names(ok('ls', pool)), ['a', 'renamed']);
  });
});

test('mv refuses what POSIX rename refuses, and changes nothing', async () => {
  await withTmpDir((root) => {
    const { pool } = makePool(root);
    ok('mkdir', pool, '/a/b/c', '-p');
    ok('mkdir', pool, '/full/b/inner', '-p');
    ok('mkdir', pool, '/g/f', '-p');
    ok('mkdir', pool, '/d');
    putRandom(root, pool, '/a/f', 500);
    ok('mkdir', pool, '/h');
    putRandom(root, pool, '/h/d', 500);
    const gen = ok('status', pool).generation;

    assert.equal(fails('EINVAL', ['mv', pool, '/a', '/a/b/c']).path, '/a', 'into its own descendant');
    fails('EINVAL', ['mv', pool, '/a', '/a']); // /a is a directory: it would move inside itself
    fails('EINVAL', ['mv', pool, '/', '/x']);
    fails('ENOTEMPTY', ['mv', pool, '/a/b', '/full']); // /full/b holds inner
    fails('EISDIR', ['mv', pool, '/a/f', '/g']); // /g/f is a directory
    fails('ENOTDIR', ['mv', pool, '/d', '/h/d']); // a directory onto a file
    fails('ENOENT', ['mv', pool, '/nope', '/x']);
    assert.equal(fails('ENOENT', ['mv', pool, '/a/f', '/missing/dir/f']).path, '/missing/dir/f');
    fails('ENOTDIR', ['mv', pool, '/a/b', '/a/f/x']);
    fails('EINVAL', ['mv', pool, '/a/../f', '/x']);

    assert.equal(ok('status', pool).generation, gen, 'no failed mv committed anything');
    assert.deepEqual(names(ok('ls', pool)), ['a', 'd', 'full', 'g', 'h']);
    assert.deepEqual(names(ok('ls', pool, '/a')), ['b', 'f']);
    assert.deepEqual(names(ok('ls', pool, '/full/b')), ['inner']);
  });
});

test('rm removes files and, with -r, trees; fragments go too', async () => {
  await withTmpDir((root) => {
    const { pool, disks } = makePool(root);
    ok('mkdir', pool, '/t/u/v', '-p');
    ok('mkdir', pool, '/empty');
    putRandom(root, pool, '/t/big', 300_000);
    putRandom(root, pool, '/t/u/v/big', 200_000);
    putRandom(root, pool, '/t/u/small', 10);
    putRandom(root, pool, '/lone', 300_000);
    assert.equal(disks.reduce((n, d) => n + fragFiles(d).length, 0), 18);
    const gen = ok('status', pool).generation;

    fails('EISDIR', ['rm', pool, '/empty']);
    fails('ENOTEMPTY', ['rm', pool, '/t']);
    fails('EINVAL', ['rm', pool, '/']);
    fails('EINVAL', ['rm', pool, '/', '-r']);
    fails('ENOENT', ['rm', pool, '/t/nothing']);
    fails('ENOTDIR', ['rm', pool, '/lone/x']);
    assert.equal(ok('status', pool).generation, gen, 'refused removals change nothing');

    const lone = ok('rm', pool, '/lone');
    assert.deepEqual([lone.files, lone.dirs, lone.bytes, lone.extents], [1, 0, 300_000, 1]);
    assert.equal(disks.reduce((n, d) => n + fragFiles(d).length, 0), 12);

    const tree = ok('rm', pool, '/t', '-r');
    assert.deepEqual([tree.files, tree.dirs, tree.bytes, tree.extents], [3, 3, 500_010, 3]);
    assert.equal(disks.reduce((n, d) => n + fragFiles(d).length, 0), 0);
    assert.equal(ok('status', pool).generation, gen + 2, 'each rm is one transaction');

    const human = run(['rm', pool, '/empty', '-r']);
    assert.equal(human.stdout, 'removed /empty (0 files, 1 directory, 0 B)\n');
    assert.deepEqual(names(ok('ls', pool)), []);
    assert.equal((ok('ls', pool, '/').entries as Json[]).length, 0);
    const st = ok('stat', pool, '/');
    assert.deepEqual([st.nlink, st.entries], [2, 0], 'the root is back to an empty directory');
    const s = ok('status', pool);
    assert.deepEqual(s.namespace, { files: 0, dirs: 1, bytes: 0 });
    assert.equal(s.extents.total, 0);
  });
});

test('stat shows a directory, and a file with every fragment\'s place', async () => {
  await withTmpDir((root) => {
    const { pool, disks } = makePool(root);
    ok('mkdir', pool, '/docs/sub', '-p');
    putRandom(root, pool, '/docs/report', 300_000);

    const dir = ok('stat', pool, 'docs/');
    assert.deepEqual([dir.path, dir.kind, dir.entries, dir.nlink, dir.extents.length], ['/docs', 'dir', 2, 3, 0]);
    assert.equal(dir.policy, null);
    assert.equal(dir.effectivePolicy, 'rs:4+2');

    const file = ok('stat', pool, '/docs/report');
    assert.deepEqual([file.kind, file.size, file.extents.length, file.fragments], ['file', 300_000, 1, 6]);
    const e = file.extents[0] as Json;
    assert.deepEqual([e.scheme, e.k, e.m, e.offset, e.length], ['rs', 4, 2, 0, 300_000]);
    assert.deepEqual((e.fragments as Json[]).map((f) => f.index), [0, 1, 2, 3, 4, 5]);
    assert.equal(new Set((e.fragments as Json[]).map((f) => f.diskId)).size, 6, 'fragments on distinct disks');
    for (const f of e.fragments as Json[]) {
      assert.equal(f.diskPath, disks[f.diskId - 1]);
      assert.match(f.hash, /^[0-9a-f]{64}$/);
      assert.ok(fragFiles(f.diskPath).some((p) => p.endsWith(`${e.id}.${f.index}`)), 'the fragment file is where stat says');
    }

    const human = run(['stat', pool, '/docs/report']);
    assert.match(human.stdout, /^\/docs\/report\n\s+kind\s+file\n/);
    assert.match(human.stdout, /extent 0: offset 0, 293 KiB, rs:4\+2/);
    assert.match(human.stdout, /INDEX\s+DISK\s+PATH\s+BLAKE3/);
    fails('ENOENT', ['stat', pool, '/docs/nothing']);
  });
});

test('status counts files, disks and healthy / degraded / unrecoverable extents', async () => {
  await withTmpDir((root) => {
    const { pool, disks } = makePool(root);
    ok('mkdir', pool, '/d');
    putRandom(root, pool, '/d/coded', 300_000);
    putRandom(root, pool, '/d/inline', 1000);

    let s = ok('status', pool);
    assert.equal(s.health, 'healthy');
    assert.deepEqual(s.namespace, { files: 2, dirs: 2, bytes: 301_000 });
    assert.deepEqual(s.extents, { total: 2, healthy: 2, degraded: 0, unrecoverable: 0, inline: 1, lostFiles: [] });
    assert.equal(s.disks.total, 6);
    assert.equal(s.disks.byState.healthy, 6);
    assert.equal(s.disks.missing, 0);
    assert.ok(s.disks.capacityBytes > 0);
    assert.deepEqual(s.errors, { read: 0, checksum: 0, write: 0 });
    assert.equal(s.repairQueue, 0);
    assert.equal(s.perDisk.length, 6);
    assert.equal(s.policy, 'rs:4+2');

    // A disk whose label is gone is missing: its fragment no longer counts.
    const hide = (d: string) => fs.renameSync(path.join(d, 'dynamicfs.label'), path.join(d, 'label.hidden'));
    const unhide = (d: string) => fs.renameSync(path.join(d, 'label.hidden'), path.join(d, 'dynamicfs.label'));
    hide(disks[0]!);
    s = ok('status', pool);
    assert.equal(s.health, 'degraded');
    assert.equal(s.disks.missing, 1);
    assert.equal((s.perDisk as Json[])[0]!.present, false);
    assert.deepEqual(s.extents, { total: 2, healthy: 1, degraded: 1, unrecoverable: 0, inline: 1, lostFiles: [] });
    assert.equal((ok('disks', pool).disks as Json[])[0]!.present, false);
    assert.match(run(['disks', pool]).stdout, /MISSING/);

    hide(disks[1]!);
    hide(disks[2]!);
    s = ok('status', pool);
    assert.equal(s.health, 'critical');
    assert.equal(s.disks.missing, 3);
    assert.deepEqual(s.extents, { total: 2, healthy: 1, degraded: 0, unrecoverable: 1, inline: 1, lostFiles: [{ path: '/d/coded', inode: s.extents.lostFiles[0]?.inode, extents: 1 }] });
    assert.match(run(['status', pool]).stdout, /LOST: \/d\/coded/);
    const human = run(['status', pool]);
    assert.match(human.stdout, /: CRITICAL\n/);
    assert.match(human.stdout, /3 MISSING/);

    for (const d of disks.slice(0, 3)) unhide(d);
    assert.equal(ok('status', pool).health, 'healthy');
  });
});

test('status sums the disks\' error counters and shows the repair queue', async () => {
  await withTmpDir((root) => {
    const { pool } = makePool(root);
    const data = putRandom(root, pool, '/f', 300_000);
    // Corrupt one fragment's payload: the read still succeeds (reconstructed from the
    // others), and the checksum error is counted against that disk.
    const frag = ok('stat', pool, '/f').extents[0].fragments[0] as Json;
    const file = path.join(frag.diskPath, 'frags', ...fragFiles(frag.diskPath)[0]!.split('/'));
    const fd = fs.openSync(file, 'r+');
    fs.writeSync(fd, Buffer.from([0xff ^ fs.readFileSync(file)[5000]!]), 0, 1, 5000);
    fs.closeSync(fd);
    const out = path.join(root, 'out');
    ok('get', pool, '/f', out);
    assert.deepEqual(fs.readFileSync(out), data);

    const s = ok('status', pool);
    assert.equal(s.errors.checksum, 1);
    assert.equal(s.errors.read + s.errors.write, 0);
    const bad = (s.perDisk as Json[]).find((d) => d.id === frag.diskId)!;
    assert.equal(bad.checksumErrors, 1);
    assert.equal(s.repairQueue, 1);
    assert.match(run(['status', pool]).stdout, /errors\s+0 read, 1 checksum, 0 write\n\s+repair queue\s+1/);
  });
});

test('a tampered directory entry in meta.db: ls fails with EMETACORRUPT naming the table and the key, and lists nothing', async () => {
  await withTmpDir((root) => {
    const { pool } = makePool(root);
    ok('mkdir', pool, '/docs');
    putRandom(root, pool, '/docs/a.txt', 100);
    putRandom(root, pool, '/docs/b.txt', 200);
    assert.deepEqual(names(ok('ls', pool, '/docs')), ['a.txt', 'b.txt']);
    const docs = ok('stat', pool, '/docs').ino as number;
    const db = new Database(path.join(pool, 'meta.db'));
    try {
      // Point b.txt at a.txt's inode: a valid-looking row whose checksum no longer matches.
      assert.equal(db.prepare("UPDATE dirents SET ino = (SELECT ino FROM dirents WHERE name = 'a.txt') WHERE name = 'b.txt'").run().changes, 1);
    } finally {
      db.close();
    }
    const err = fails('EMETACORRUPT', ['ls', pool, '/docs']);
    assert.match(err.message as string, new RegExp(`^metadata record in dirents \\(parent ${docs}, name "b\\.txt"\\) fails its checksum`));
    const human = run(['ls', pool, '/docs']);
    assert.equal(human.code, 1);
    assert.equal(human.stdout, '', 'no partial listing');
    assert.equal(human.stderr, `dynamicfs: ${err.message as string}\n`);
  });
});
