/**
 * The backup paths that resume after a SIGKILL, beyond create and a restore into a
 * directory (backup.test.ts): a restore into a pool killed after a batch shows nothing in
 * the pool, and run again equals an uninterrupted restore and the snapshot; a
 * `verify --read-data` killed after some packs resumes after them and ends as an
 * uninterrupted run does, the damage it found before the kill still named; a backup
 * killed offline is finished by the coordinator started next, by itself.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { blake3 } from '../../src/native';
import { flipByte, objectAt } from '../helpers/backup-repo';
import { dfsWith, fails, makePool as makeCliPool, ok, type Json } from '../helpers/cli';
import { cleanupPool, sleep } from '../helpers/daemon';
import { makePool, startCoordinator, stopCoordinator } from '../helpers/mount';
import { rmrf, tmpDir } from '../helpers/tmp';
import { assertSameTree, buildTree } from '../helpers/tree-capture';

const backup = (...args: string[]): Json => ok('backup', ...args);

/** A pool of six directory disks, its tree built through a mount (every kind of entry, and `many/` of 30 files: about 1.5 MiB), unmounted. */
async function pooledTree(root: string): Promise<{ pool: string; mnt: string }> {
  const { pool } = makePool(root);
  const mnt = path.join(root, 'mnt');
  const c = await startCoordinator(pool, mnt);
  try {
    buildTree(mnt, 256 * 1024);
    fs.mkdirSync(path.join(mnt, 'many'));
    for (let i = 0; i < 30; i++) fs.writeFileSync(path.join(mnt, 'many', `f${String(i).padStart(2, '0')}`), randomBytes(30 * 1024 + i));
  } finally {
    await stopCoordinator(mnt, c.child);
  }
  return { pool, mnt };
}

/** The pool's jobs as [kind, state]. */
const jobStates = (pool: string): string[][] => (ok('jobs', pool).jobs as Json[]).map((j) => [j.kind, j.state]);

test('a restore into a pool killed after a batch leaves the pool as it was, and run again equals an uninterrupted restore and the snapshot', async () => {
  const root = tmpDir('dfs-resume-pool-');
  const repo = path.join(root, 'repo');
  let coord: { mnt: string; child: ChildProcess } | undefined;
  const { pool, mnt } = await pooledTree(root).catch((e) => { rmrf(root); throw e; });
  try {
    const full = backup('create', pool, '--repo', repo, '--type', 'full');
    assert.equal(full.backup.state, 'completed');
    const id = full.backup.id as string;
    ok('mkdir', pool, '/into');
    const before = ok('ls', pool, '/');
    assert.deepEqual(ok('ls', pool, '/into').entries, []);

    // Offline, a batch of 4 entries per transaction, killed once the third is committed.
    const env = { DYNAMICFS_CRASH_AT: 'restore-batch-committed:3', DYNAMICFS_RESTORE_CHECKPOINT_ENTRIES: '4' };
    const cut = dfsWith(['backup', 'restore', id, '/into', '--repo', repo, '--pool', pool], { env });
    assert.equal(cut.signal, 'SIGKILL', cut.out);
    const left = (ok('jobs', pool).jobs as Json[]).filter((j) => j.kind === 'backup-restore');
    assert.deepEqual(left.map((j) => [j.state, j.progress.cursor]), [['running', 12]], 'the job left running, its cursor after three batches');
    // What restore-pool.ts promises: the tree grows under a staging root nothing names; the empty destination stays as it was.
    assert.deepEqual(ok('ls', pool, '/'), before, 'the pool root as before the restore');
    assert.deepEqual(ok('ls', pool, '/into').entries, [], 'nothing published at the destination');

    const again = backup('restore', id, '/into', '--repo', repo, '--pool', pool);
    assert.deepEqual([again.resumed, again.job.id, again.job.state, again.dest], [true, left[0]!.id, 'done', '/into']);
    assert.equal(again.job.progress.cursor, full.backup.entries, 'every entry applied');
    const whole = backup('restore', id, '/whole', '--repo', repo, '--pool', pool);
    assert.deepEqual([whole.resumed, whole.job.state], [false, 'done']);

    coord = { mnt, child: (await startCoordinator(pool, mnt)).child };
    const snap = path.join(mnt, '.snapshots', full.backup.snapshot);
    assertSameTree(path.join(mnt, 'into'), path.join(mnt, 'whole'), 'a resumed restore into the pool against an uninterrupted one');
    assertSameTree(path.join(mnt, 'into'), snap, 'a resumed restore into the pool against the snapshot');
  } finally {
    if (coord) await stopCoordinator(coord.mnt, coord.child);
    await cleanupPool(pool, [mnt]);
    rmrf(root);
  }
});

test('verify --read-data killed after some packs resumes after them and ends as an uninterrupted run does, the damage found before the kill named', () => {
  const work = tmpDir('dfs-resume-verify-');
  try {
    const { pool } = makeCliPool(work, 3, '--redundancy', 'rs:2+1');
    const src = path.join(work, 'src');
    fs.mkdirSync(src);
    const files = Array.from({ length: 24 }, (_, i) => randomBytes(60 * 1024 + i));
    files.forEach((b, i) => fs.writeFileSync(path.join(src, `f${String(i).padStart(2, '0')}`), b));
    ok('put', pool, src, '/t');
    const repo = path.join(work, 'repo');
    backup('init', '--repo', repo, '--pack-size', '64K');
    const fullId = backup('create', pool, '--repo', repo, '--type', 'full').backup.id as string;
    // The file whose object sits in the pack verify reads first, changed: its old object only the full backup has.
    const packOf = (i: number): string => path.basename(objectAt(repo, blake3(files[i]!)).file);
    const first = files.map((_, i) => i).sort((a, b) => (packOf(a) < packOf(b) ? -1 : 1))[0]!;
    const name = `f${String(first).padStart(2, '0')}`;
    const at = objectAt(repo, blake3(files[first]!));
    fs.writeFileSync(path.join(src, name), randomBytes(5000));
    ok('put', pool, path.join(src, name), `/t/${name}`);
    const incId = backup('create', pool, '--repo', repo).backup.id as string;
    const packs = backup('list', '--repo', repo).stored.packs as number;
    assert.ok(packs > 10, `${packs} packs`);
    flipByte(at.file, at.offset + 7);

    const killed = dfsWith(['backup', 'verify', '--repo', repo, '--read-data'], { env: { DYNAMICFS_CRASH_AT: 'verify-pack-done:5' } });
    assert.equal(killed.signal, 'SIGKILL', killed.out);
    const mid = backup('list', '--repo', repo);
    assert.deepEqual(mid.backups.map((b: Json) => [b.id, b.state, b.damagedObjects]), [[fullId, 'completed', 0], [incId, 'completed', 0]], 'nothing recorded yet');
    assert.deepEqual(mid.jobs.map((j: Json) => [j.kind, j.state, j.cursor]), [['verify', 'in-progress', 5]]);

    const resumed = fails('EFINDINGS', ['backup', 'verify', '--repo', repo, '--read-data']);
    assert.equal(resumed.resumed, true);
    assert.equal(resumed.packs, packs - 5, 'only the packs the killed run had not finished re-hashed');
    const damage = [{ code: 'object-damaged', pack: at.file, offset: at.offset, object: blake3(files[first]!).toString('hex'), affected: [{ backup: fullId, path: `/t/${name}` }] }];
    const named = (r: Json): unknown[] => (r.findings as Json[]).map((f) => ({ code: f.code, pack: f.pack, offset: f.offset, object: f.object, affected: f.affected }));
    assert.deepEqual(named(resumed), damage, 'the damage found before the kill, carried and named');
    assert.deepEqual(resumed.verified, [incId]);
    const states = (): unknown[] => backup('list', '--repo', repo).backups.map((b: Json) => [b.id, b.state, b.damagedObjects, b.verifiedData]);
    assert.deepEqual(states(), [[fullId, 'completed', 1, false], [incId, 'verified', 0, true]]);
    assert.deepEqual(backup('list', '--repo', repo).jobs, [], 'no verify left unfinished');

    // An uninterrupted run over the same repository: the same report, every pack read.
    const whole = fails('EFINDINGS', ['backup', 'verify', '--repo', repo, '--read-data']);
    assert.deepEqual([whole.resumed, whole.packs], [false, packs]);
    assert.deepEqual(whole.findings, resumed.findings);
    assert.deepEqual([whole.backups, whole.verified], [resumed.backups, resumed.verified]);
    assert.deepEqual(states(), [[fullId, 'completed', 1, false], [incId, 'verified', 0, true]]);
  } finally {
    rmrf(work);
  }
});

test('a backup killed offline is finished by the coordinator started next, by itself', async () => {
  const root = tmpDir('dfs-resume-coord-');
  const repo = path.join(root, 'repo');
  const out = path.join(root, 'out');
  let coord: ChildProcess | undefined;
  const { pool, mnt } = await pooledTree(root).catch((e) => { rmrf(root); throw e; });
  try {
    backup('init', '--repo', repo, '--pack-size', '64K');
    const died = dfsWith(['backup', 'create', pool, '--repo', repo, '--type', 'full'], { env: { DYNAMICFS_CRASH_AT: 'backup-pack-written:6' } });
    assert.equal(died.signal, 'SIGKILL', died.out);
    const [rec] = backup('list', '--repo', repo).backups as Json[];
    assert.equal(rec!.state, 'in-progress');
    assert.deepEqual(jobStates(pool), [['backup', 'running']], 'the job the killed run left');

    coord = (await startCoordinator(pool, mnt)).child;
    let jobs = ok('jobs', pool).jobs as Json[];
    for (let tries = 0; jobs[0]?.state !== 'done'; tries++) {
      assert.ok(tries < 150 && ['queued', 'running'].includes(jobs[0]?.state), `the coordinator finishes the backup: ${JSON.stringify(jobs)}`);
      await sleep(200);
      jobs = ok('jobs', pool).jobs as Json[];
    }
    assert.deepEqual(jobs.map((j) => [j.kind, j.state, j.progress.backupId]), [['backup', 'done', rec!.id]]);
    const { backups: list, stored } = backup('list', '--repo', repo);
    assert.deepEqual(list.map((b: Json) => [b.id, b.state, b.snapshot]), [[rec!.id, 'completed', rec!.snapshot]]);
    // Resumed, not begun again: the six packs the killed run sealed were kept, the coordinator stored only the rest.
    assert.ok(list[0].newObjects > 0 && list[0].newObjects < stored.objects, `${list[0].newObjects} stored by the coordinator of ${stored.objects}`);
    backup('restore', rec!.id, out, '--repo', repo);
    assertSameTree(out, path.join(mnt, '.snapshots', rec!.snapshot), 'the backup the coordinator finished, restored');
  } finally {
    if (coord) await stopCoordinator(mnt, coord);
    await cleanupPool(pool, [mnt]);
    rmrf(root);
  }
});
