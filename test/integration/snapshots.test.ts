/**
 * Snapshots through the CLI (issue 15): diff names exactly the changes, rollback makes
 * the live tree identical to the snapshot (the whole pool, or one path), clones share
 * extents and diverge on write, deleting a snapshot frees exactly what only it kept,
 * gc never takes a snapshot's extents, reads survive two lost disks, and a SIGKILL in a
 * purge or a rollback leaves the old state or the new one.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { BIN, fails, ok, type Json } from '../helpers/cli';
import { startServe, stopChild, sleep } from '../helpers/daemon';
import { Rng } from '../helpers/random';
import { fragmentFiles } from '../helpers/files';
import { withTmpDir } from '../helpers/tmp';

/** A pool of six directory disks at rs:2+2 (two may be lost), 256 KiB extents. */
function makePool(dir: string): { pool: string; disks: string[] } {
  const pool = path.join(dir, 'pool');
  ok('init', pool, '--redundancy', 'rs:2+2', '--extent-size', '256k');
  const disks: string[] = [];
  for (let i = 0; i < 6; i++) {
    const d = path.join(dir, `d${i}`);
    fs.mkdirSync(d);
    ok('add-disk', pool, d);
    disks.push(d);
  }
  return { pool, disks };
}

function put(dir: string, pool: string, poolPath: string, bytes: Buffer): void {
  const src = path.join(dir, 'src.bin');
  fs.writeFileSync(src, bytes);
  ok('put', pool, src, poolPath);
}

function get(dir: string, pool: string, poolPath: string): Buffer {
  const out = path.join(dir, 'out.bin');
  fs.rmSync(out, { force: true });
  ok('get', pool, poolPath, out);
  return fs.readFileSync(out);
}

/** Every path under `dir` of the pool with its stat (ino, mode, size, times, extents' ids). */
function tree(pool: string, dir = '/'): Map<string, Json> {
  const out = new Map<string, Json>();
  const walk = (p: string): void => {
    const st = ok('stat', pool, p);
    delete st.ok;
    // Bytes a snapshot kept may come back as a reference to their extent (no fragments of its own): same bytes, same hash.
    delete st.fragments;
    out.set(p, { ...st, extents: (st.extents as Json[] | undefined)?.map((e) => `${e.offset}:${e.length}:${e.logicalHash}`) });
    if (st.kind !== 'dir') return;
    for (const e of ok('ls', pool, p).entries as Json[]) walk(p === '/' ? `/${e.name}` : `${p}/${e.name}`);
  };
  walk(dir);
  return out;
}

const changeOf = (d: Json): string[] => (d.changes as Json[]).map((c) => `${c.change} ${c.from ? `${c.from} -> ` : ''}${c.path}`);

test('snapshot: diff names exactly the changes; rollback makes the live tree the snapshot again, inode numbers and all', async () => {
  await withTmpDir(async (dir) => {
    const { pool } = makePool(dir);
    const rng = new Rng(15);
    ok('mkdir', pool, '/docs');
    ok('mkdir', pool, '/keep');
    const big = rng.bytes(700_000); // three extents
    put(dir, pool, '/docs/big', big);
    put(dir, pool, '/docs/small', Buffer.from('small file\n'));
    put(dir, pool, '/docs/gone', rng.bytes(300_000));
    put(dir, pool, '/keep/same', rng.bytes(1000));
    const before = tree(pool);
    const snap = ok('snapshot', 'create', pool, 's1');
    assert.equal(snap.name, 's1');
    assert.equal(snap.files, 4);
    assert.equal(snap.referencedBytes, 700_000 + 11 + 300_000 + 1000);

    assert.deepEqual(changeOf(ok('snapshot', 'diff', pool, 's1')), []);
    put(dir, pool, '/docs/big', Buffer.concat([big, rng.bytes(100)])); // appended: a new file's extents
    ok('rm', pool, '/docs/gone');
    ok('mv', pool, '/docs/small', '/docs/renamed');
    put(dir, pool, '/new', Buffer.from('new\n'));
    assert.deepEqual(changeOf(ok('snapshot', 'diff', pool, 's1')), [
      'modified /',
      'modified /docs',
      'modified /docs/big',
      'removed /docs/gone',
      'renamed /docs/small -> /docs/renamed',
      'added /new',
    ]);

    ok('snapshot', 'create', pool, 's2');
    const s2 = tree(pool);
    const rolled = ok('snapshot', 'rollback', pool, 's1');
    assert.equal(rolled.changes, 6);
    assert.deepEqual(tree(pool), before);
    assert.deepEqual(get(dir, pool, '/docs/big'), big);
    assert.deepEqual(changeOf(ok('snapshot', 'diff', pool, 's1')), []);
    // The later snapshot still sees its own state: diff s1 → s2 is the changes made between them.
    assert.deepEqual(changeOf(ok('snapshot', 'diff', pool, 's1', 's2')).length, 6);
    ok('snapshot', 'rollback', pool, 's2');
    assert.deepEqual(tree(pool), s2);
    assert.deepEqual(ok('check', pool).problems, []);
  });
});

test('snapshot: rollback --path changes only that subtree', async () => {
  await withTmpDir(async (dir) => {
    const { pool } = makePool(dir);
    ok('mkdir', pool, '/x');
    ok('mkdir', pool, '/y');
    put(dir, pool, '/x/f', Buffer.from('x old'));
    put(dir, pool, '/y/g', Buffer.from('y old'));
    ok('snapshot', 'create', pool, 'base');
    put(dir, pool, '/x/f', Buffer.from('x new'));
    put(dir, pool, '/x/extra', Buffer.from('extra'));
    put(dir, pool, '/y/g', Buffer.from('y new'));
    const r = ok('snapshot', 'rollback', pool, 'base', '--path', '/x');
    assert.equal(r.path, '/x');
    assert.deepEqual(ok('ls', pool, '/x').entries.map((e: Json) => e.name), ['f']);
    assert.equal(get(dir, pool, '/x/f').toString(), 'x old');
    assert.equal(get(dir, pool, '/y/g').toString(), 'y new');
    fails('ENOENT', ['snapshot', 'rollback', pool, 'base', '--path', '/nowhere']);
    assert.deepEqual(ok('check', pool).problems, []);
  });
});

test('snapshot: deleting it frees exactly what only it kept; gc keeps what a snapshot sees; clones diverge on write', async () => {
  await withTmpDir(async (dir) => {
    const { pool, disks } = makePool(dir);
    const rng = new Rng(16);
    const v1 = rng.bytes(512 * 1024);
    put(dir, pool, '/f', v1);
    const one = fragmentFiles(disks);
    assert.equal(one, 2 * 4); // two extents of four fragments
    ok('snapshot', 'create', pool, 'old');
    const v2 = rng.bytes(512 * 1024);
    put(dir, pool, '/f', v2);
    ok('gc', pool, '--min-age', '0');
    assert.equal(fragmentFiles(disks), 2 * one, 'the snapshot keeps the overwritten extents through gc');
    const listed = ok('snapshot', 'list', pool);
    assert.deepEqual(listed.snapshots.map((s: Json) => [s.name, s.referencedBytes, s.uniqueBytes, s.files]), [['old', v1.length, v1.length, 1]]);
    assert.deepEqual(listed.space, { liveBytes: v2.length, sharedBytes: 0, snapshotOnlyBytes: v1.length });
    assert.deepEqual(ok('status', pool).snapshots, { count: 1, liveBytes: v2.length, sharedBytes: 0, snapshotOnlyBytes: v1.length });

    // A clone shares the snapshot's extents (no new fragment files), and diverges when written.
    const c = ok('snapshot', 'clone', pool, 'old/f', '/clone');
    assert.equal(c.inodes, 1);
    assert.equal(fragmentFiles(disks), 2 * one);
    assert.deepEqual(get(dir, pool, '/clone'), v1);
    put(dir, pool, '/clone', Buffer.from('diverged'));
    assert.deepEqual(get(dir, pool, '/f'), v2);
    assert.deepEqual(ok('snapshot', 'clone', pool, 'old/f', '/clone2') && get(dir, pool, '/clone2'), v1);
    ok('rm', pool, '/clone2');

    // Held, it cannot go; released, it goes and takes the old extents with it.
    ok('snapshot', 'hold', pool, 'old');
    fails('EBUSY', ['snapshot', 'delete', pool, 'old']);
    ok('snapshot', 'release', pool, 'old');
    const del = ok('snapshot', 'delete', pool, 'old');
    assert.equal(del.job.state, 'done');
    assert.equal(fragmentFiles(disks), one, 'the overwritten extents are freed');
    assert.deepEqual(get(dir, pool, '/f'), v2);
    assert.deepEqual(ok('snapshot', 'list', pool).snapshots, []);

    // The other way round: the live file deleted, the snapshot's extents survive gc and read back.
    ok('snapshot', 'create', pool, 'keep');
    ok('rm', pool, '/f');
    ok('gc', pool, '--min-age', '0');
    assert.equal(fragmentFiles(disks), one);
    ok('snapshot', 'clone', pool, 'keep/f', '/back');
    assert.deepEqual(get(dir, pool, '/back'), v2);
    assert.deepEqual(ok('check', pool).problems, []);
  });
});

test('snapshot: names and states are checked with clear errors', async () => {
  await withTmpDir(async (dir) => {
    const { pool } = makePool(dir);
    ok('snapshot', 'create', pool, 'a');
    assert.match(fails('EEXIST', ['snapshot', 'create', pool, 'a']).message, /exists already/);
    assert.match(fails('EINVAL', ['snapshot', 'create', pool, '../x']).message, /letters, digits/);
    assert.match(fails('EINVAL', ['snapshot', 'create', pool, '.hidden']).message, /not starting with/);
    assert.match(fails('ENOENT', ['snapshot', 'delete', pool, 'nope']).message, /no snapshot named "nope"/);
    assert.match(fails('ENOENT', ['snapshot', 'diff', pool, 'nope']).message, /snapshot list/);
    ok('snapshot', 'create', pool, 'b');
    assert.match(fails('EINVAL', ['snapshot', 'diff', pool, 'b', 'a']).message, /older than/);
    ok('mkdir', pool, '/d');
    assert.match(fails('EEXIST', ['snapshot', 'clone', pool, 'a', '/d']).message, /exists already/);
    assert.match(fails('ENOENT', ['snapshot', 'clone', pool, 'a/missing', '/z']).message, /does not exist in snapshot "a"/);
  });
});

test('snapshot: with two disks lost every snapshot still reads back; scrub and rebuild cover the extents only snapshots keep', async () => {
  await withTmpDir(async (dir) => {
    const { pool, disks } = makePool(dir);
    const rng = new Rng(17);
    const v1 = rng.bytes(300_000);
    put(dir, pool, '/f', v1);
    ok('snapshot', 'create', pool, 's');
    put(dir, pool, '/f', rng.bytes(300_000));
    const scrub = ok('scrub', pool);
    assert.equal(scrub.extents.total, 4, 'two live extents and two the snapshot alone keeps');
    assert.equal(scrub.clean, true);
    for (const d of disks.slice(0, 2)) fs.renameSync(d, `${d}.away`);
    ok('snapshot', 'clone', pool, 's/f', '/back');
    assert.deepEqual(get(dir, pool, '/back'), v1);
    // Rebuild puts every extent back at full redundancy on the four disks left, the snapshot's too.
    ok('rebuild', pool);
    const x = ok('status', pool).extents;
    assert.deepEqual([x.total, x.healthy, x.degraded], [6, 6, 0], 'two live extents, the two the snapshot keeps, and the clone\'s two references');
    ok('rm', pool, '/back');
    ok('snapshot', 'delete', pool, 's');
    assert.deepEqual([ok('status', pool).extents.total], [2]);
  });
});

/** Run the CLI with a crash point armed; it must die by SIGKILL there. */
function crashAt(point: string, args: string[], env: Record<string, string> = {}): void {
  const r = spawnSync(process.execPath, [BIN, ...args, '--json'], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, DYNAMICFS_CRASH_AT: point, ...env } });
  assert.equal(r.signal, 'SIGKILL', `expected a crash at ${point}: ${r.stdout}${r.stderr}`);
}

test('snapshot: SIGKILL during a purge resumes in the coordinator; during a rollback leaves the old state', async () => {
  await withTmpDir(async (dir) => {
    const { pool, disks } = makePool(dir);
    const rng = new Rng(18);
    for (let i = 0; i < 3; i++) put(dir, pool, `/f${i}`, rng.bytes(100_000));
    const before = tree(pool);
    ok('snapshot', 'create', pool, 's');
    for (let i = 0; i < 3; i++) put(dir, pool, `/f${i}`, rng.bytes(100_000));
    const after = tree(pool);

    crashAt('rollback-before-commit', ['snapshot', 'rollback', pool, 's']);
    assert.deepEqual(tree(pool), after, 'a rollback killed before its commit changed nothing');

    // Two versions per batch: the first batch commits, then the process dies before deleting its fragments.
    crashAt('snapshot-purge-batch', ['snapshot', 'delete', pool, 's'], { DYNAMICFS_PURGE_BATCH: '2' });
    assert.deepEqual(ok('snapshot', 'list', pool).snapshots, []);
    const job = (ok('jobs', pool).jobs as Json[]).find((j) => j.kind === 'snapshot-purge')!;
    assert.equal(job.state, 'running');
    const served = await startServe(pool);
    try {
      for (let i = 0; ; i++) {
        const j = (ok('jobs', pool).jobs as Json[]).find((x) => x.id === job.id)!;
        if (j.state === 'done') break;
        assert.ok(i < 300, `the purge did not finish after a restart: ${JSON.stringify(j)}`);
        await sleep(100);
      }
    } finally {
      await stopChild(served.child);
    }
    ok('gc', pool, '--min-age', '0'); // the first batch's fragments, orphaned by the crash
    assert.equal(fragmentFiles(disks), 3 * 4, 'only the live extents remain');
    assert.deepEqual(tree(pool), after);
    assert.notDeepEqual(before, after);
    assert.deepEqual(ok('check', pool).problems, []);
  });
});
