/**
 * Backups through the CLI: full → change → incremental → change → differential, each
 * restored into a plain directory and equal to the tree at its snapshot (contents, modes,
 * owners, times, hard links, symlinks, special files, xattrs, holes); duplicates stored
 * once; a flipped byte in a pack named by `verify --read-data` (pack, offset, object,
 * backup and path) while the other backups still restore; restore after the pool and
 * its disks are gone; prune keeping exactly the kept backups; and create and restore
 * SIGKILLed half-way, resumed, equal to uninterrupted runs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { manifestEntries } from '../../src/backup/manifest';
import { blake3 } from '../../src/native';
import { flipByte, objectAt, repoObjects } from '../helpers/backup-repo';
import { REPO, dfsWith, fails, makePool, ok, type Json } from '../helpers/cli';
import { withMount } from '../helpers/mount';
import { rmrf, tmpDir } from '../helpers/tmp';
import { assertSameTree, buildTree, capture, py, type Captured } from '../helpers/tree-capture';

const backup = (...args: string[]): Json => ok('backup', ...args);

async function distinctObjects(repo: string, ids: string[]): Promise<{ distinct: number; refs: number }> {
  const set = new Set<string>();
  let refs = 0;
  for (const id of ids) {
    for await (const e of manifestEntries(path.join(repo, 'backups', `${id}.manifest`))) {
      for (const x of e.extents) {
        set.add(x.hash.toString('hex'));
        refs++;
      }
    }
  }
  return { distinct: set.size, refs };
}

test('full, incremental and differential backups restore to their snapshots; damage is named; the repository alone restores; prune keeps the kept', async () => {
  const work = tmpDir('dfs-backup-');
  const repo = path.join(work, 'repo');
  try {
    let restoredDiff: Captured | undefined;
    let diffId = '';
    let fullId = '';
    let incId = '';
    await withMount(async (m) => {
      const p = (r: string): string => path.join(m.mnt, r);
      const { dup, small } = buildTree(m.mnt);

      const full = backup('create', m.pool, '--repo', repo, '--type', 'full', '--wait');
      assert.equal(full.finished, true);
      assert.equal(full.createdRepo, true);
      assert.equal(full.backup.type, 'full');
      assert.equal(full.backup.state, 'completed');
      assert.equal(full.job.kind, 'backup');
      assert.equal(full.job.state, 'done');
      fullId = full.backup.id;
      const snap1 = full.snapshotTaken as string;
      assert.match(snap1, /^backup-\d{8}-\d{6}$/);
      // Duplicates once: dup1 and dup2 share their one object; the index holds each distinct extent once.
      const d1 = await distinctObjects(repo, [fullId]);
      assert.equal(repoObjects(repo), d1.distinct);
      assert.ok(d1.refs > d1.distinct, 'the tree references some object twice (dup1, dup2)');
      assert.equal(full.backup.newObjects, d1.distinct);
      const dupHash = blake3(dup).toString('hex');
      const dupRefs: string[] = [];
      for await (const e of manifestEntries(path.join(repo, 'backups', `${fullId}.manifest`))) if (e.extents.some((x) => x.hash.toString('hex') === dupHash)) dupRefs.push(e.path);
      assert.deepEqual(dupRefs, ['a/dup1', 'b/dup2']);

      // Change: overwrite, add, remove, rename a directory, chmod, an xattr.
      fs.writeFileSync(p('a/small.txt'), 'version two\n');
      fs.writeFileSync(p('new.txt'), randomBytes(5000));
      fs.rmSync(p('b/dup2'));
      fs.renameSync(p('c'), p('c2'));
      fs.chmodSync(p('b/sparse'), 0o600);
      py(`import os; os.setxattr(${JSON.stringify(p('a/dup1'))}, 'user.note', b'added')`);
      const inc = backup('create', m.pool, '--repo', repo, '--wait');
      incId = inc.backup.id;
      assert.equal(inc.backup.type, 'incremental');
      assert.equal(inc.backup.parent, fullId);
      assert.equal(inc.backup.note, null, 'only the changes were read');
      // Only the new bytes: version two and new.txt (5000 bytes) are the objects it stored.
      assert.equal(inc.backup.newObjects, 2);
      assert.equal(inc.backup.newBytes, 5000 + 'version two\n'.length);

      fs.appendFileSync(p('new.txt'), 'more');
      fs.symlinkSync('new.txt', p('b/newlink'));
      fs.linkSync(p('new.txt'), p('ro2'));
      const diff = backup('create', m.pool, '--repo', repo, '--type', 'differential', '--wait');
      diffId = diff.backup.id;
      assert.equal(diff.backup.type, 'differential');
      assert.equal(diff.backup.parent, fullId, 'a differential is against the last full');

      const list = backup('list', '--repo', repo);
      assert.deepEqual(list.backups.map((b: Json) => [b.id, b.type, b.parent, b.state]),
        [[fullId, 'full', null, 'completed'], [incId, 'incremental', fullId, 'completed'], [diffId, 'differential', fullId, 'completed']]);
      assert.equal(list.stored.objects, repoObjects(repo));

      // Each restores equal to its snapshot, read through the mount's /.snapshots.
      for (const b of [full, inc, diff]) {
        const out = path.join(work, `out-${b.backup.type}`);
        const r = backup('restore', b.backup.id, out, '--repo', repo);
        assert.equal(r.resumed, false);
        const got = capture(out);
        assertSameTree(got, p(`.snapshots/${b.backup.snapshot}`), `${b.backup.type} backup`);
        if (b === diff) restoredDiff = got;
      }
      // The pool holds b/sparse as [0, 64K) and the extent [8M, 10M+64K) (4 MiB extents): the range between is a hole, restored as one.
      const layout = py(`import os; fd = os.open(${JSON.stringify(path.join(work, 'out-full/b/sparse'))}, os.O_RDONLY); h = os.lseek(fd, 0, os.SEEK_HOLE); print(h, os.lseek(fd, h, os.SEEK_DATA))`);
      assert.equal(layout.trim(), `${64 * 1024} ${8 * 1024 * 1024}`);
      // Into the pool itself (through its coordinator): the incremental's tree at a new path, equal to its snapshot.
      const intoPool = backup('restore', incId, '/from-backup', '--repo', repo, '--pool', m.pool, '--wait');
      assert.equal(intoPool.job.kind, 'backup-restore');
      assert.equal(intoPool.job.state, 'done');
      assert.equal(intoPool.dest, '/from-backup');
      assertSameTree(p('from-backup'), p(`.snapshots/${inc.backup.snapshot}`), 'the incremental restored into the pool');
      // A subtree alone.
      const sub = backup('restore', incId, path.join(work, 'sub', 'c2'), '--repo', repo, '--path', '/c2');
      assert.equal(sub.dest, path.join(work, 'sub', 'c2'));
      // c2/hard's other link (a/small.txt) is outside the subtree: it comes back as a file of its own.
      const want = capture(p(`.snapshots/${inc.backup.snapshot}/c2`));
      const hard = want.tree.get('hard')!;
      assert.deepEqual([hard.nlink, hard.links], [2, ['hard']]);
      want.tree.set('hard', { ...hard, nlink: 1, links: undefined });
      delete want.tree.get('hard')!.links;
      assertSameTree(path.join(work, 'sub', 'c2'), want, 'subtree');

      // A flipped byte in the object only the full backup has (small.txt's first version).
      const at = objectAt(repo, blake3(small));
      flipByte(at.file, at.offset + 3);
      const err = fails('EFINDINGS', ['backup', 'verify', '--repo', repo, '--read-data']);
      const damaged = (err.findings as Json[]).filter((f) => f.code === 'object-damaged');
      assert.equal(damaged.length, 1, JSON.stringify(err.findings));
      assert.equal(damaged[0]!.pack, at.file);
      assert.equal(damaged[0]!.offset, at.offset);
      assert.equal(damaged[0]!.object, blake3(small).toString('hex'));
      assert.deepEqual(damaged[0]!.affected, [{ backup: fullId, path: '/a/small.txt' }], 'c/hard is a link to it: one entry carries its extents');
      assert.equal(err.findings.length, 1);
      assert.deepEqual(err.verified, [incId, diffId], 'the backups the damage does not reach are verified');
      const states = backup('list', '--repo', repo).backups.map((b: Json) => [b.id, b.state, b.damagedObjects]);
      assert.deepEqual(states, [[fullId, 'completed', 1], [incId, 'verified', 0], [diffId, 'verified', 0]]);
      // The damaged backup's restore names the file and restores the rest; the others restore whole.
      const bad = fails('EDIGEST', ['backup', 'restore', fullId, path.join(work, 'out-bad'), '--repo', repo]);
      assert.deepEqual((bad.damaged as Json[]).map((d) => d.path), ['a/small.txt']);
      assertSameTree(backup('restore', incId, path.join(work, 'out-inc2'), '--repo', repo).dest, p(`.snapshots/${inc.backup.snapshot}`), 'incremental after the damage');
    });

    // The pool and every disk gone (withMount removed them): the repository alone restores.
    const after = path.join(work, 'after-pool');
    backup('restore', 'latest', after, '--repo', repo);
    assertSameTree(after, restoredDiff!, 'restored from the repository alone');
    // The index lost too: rebuilt from the packs.
    fs.rmSync(path.join(repo, 'index.db'));
    backup('restore', diffId, path.join(work, 'after-index'), '--repo', repo);
    assertSameTree(path.join(work, 'after-index'), restoredDiff!, 'restored after the index was rebuilt');

    // Prune to the last one: the others go, and every object it does not reference.
    const pr = backup('prune', '--repo', repo, '--keep-last', '1');
    assert.deepEqual(pr.kept, [diffId]);
    assert.deepEqual(pr.removed, [fullId, incId]);
    const kept = await distinctObjects(repo, [diffId]);
    assert.equal(repoObjects(repo), kept.distinct, 'only the kept backup\'s objects remain');
    assert.ok(pr.objectsRemoved >= 2);
    assert.deepEqual(backup('list', '--repo', repo).backups.map((b: Json) => b.id), [diffId]);
    fails('ENOENT', ['backup', 'restore', fullId, path.join(work, 'gone'), '--repo', repo]);
    backup('restore', diffId, path.join(work, 'after-prune'), '--repo', repo);
    assertSameTree(path.join(work, 'after-prune'), restoredDiff!, 'the kept backup after prune');
    assert.deepEqual(backup('verify', '--repo', repo, '--read-data').findings, []);
  } finally {
    rmrf(work);
  }
});

test('backup create and restore killed half-way resume and equal uninterrupted runs', async () => {
  const work = tmpDir('dfs-backup-kill-');
  try {
    const { pool } = makePool(work, 3, '--redundancy', 'rs:2+1');
    const src = path.join(work, 'src');
    fs.mkdirSync(path.join(src, 'd'), { recursive: true });
    for (let i = 0; i < 24; i++) fs.writeFileSync(path.join(src, 'd', `f${String(i).padStart(2, '0')}`), randomBytes(70 * 1024 + i));
    fs.writeFileSync(path.join(src, 'big'), randomBytes(3 * 1024 * 1024));
    ok('put', pool, src, '/t');
    const [killed, whole] = [path.join(work, 'killed'), path.join(work, 'whole')];
    for (const r of [killed, whole]) backup('init', '--repo', r, '--pack-size', '64K');

    const died = dfsWith(['backup', 'create', pool, '--repo', killed, '--type', 'full'], { env: { DYNAMICFS_CRASH_AT: 'backup-pack-written:8' } });
    assert.equal(died.signal, 'SIGKILL');
    assert.deepEqual(backup('list', '--repo', killed).backups.map((b: Json) => b.state), ['in-progress']);
    const resumed = backup('create', pool, '--repo', killed, '--type', 'full');
    assert.equal(resumed.resumed, true);
    assert.equal(resumed.backup.state, 'completed');
    const first = backup('create', pool, '--repo', whole, '--type', 'full', '--snapshot', resumed.backup.snapshot);
    // The resumed run stored only what the killed one had not: 8 packs' objects were there already.
    assert.ok(resumed.backup.newObjects > 0 && resumed.backup.newObjects < first.backup.newObjects,
      `${resumed.backup.newObjects} new after resuming, ${first.backup.newObjects} in one run`);
    assert.equal(repoObjects(killed), repoObjects(whole));
    assert.equal(backup('list', '--repo', killed).stored.objects, first.backup.newObjects);

    const [outKilled, outWhole] = [path.join(work, 'out-killed'), path.join(work, 'out-whole')];
    backup('restore', 'latest', outWhole, '--repo', whole);
    const env = { DYNAMICFS_CRASH_AT: 'restore-entry-written:12', DYNAMICFS_RESTORE_CHECKPOINT_ENTRIES: '4' };
    const cut = dfsWith(['backup', 'restore', 'latest', outKilled, '--repo', killed], { env });
    assert.equal(cut.signal, 'SIGKILL');
    assert.equal(backup('list', '--repo', killed).jobs[0]?.kind, 'restore');
    const again = backup('restore', 'latest', outKilled, '--repo', killed);
    assert.equal(again.resumed, true);
    assert.ok(again.resumedAt > 0, `resumed at entry ${again.resumedAt}, not from the start`);
    assertSameTree(outKilled, outWhole, 'a resumed restore');
    for (const f of ['big', ...fs.readdirSync(path.join(src, 'd')).map((n) => `d/${n}`)]) {
      assert.ok(fs.readFileSync(path.join(outKilled, 't', f)).equals(fs.readFileSync(path.join(src, f))), `${f}: the bytes put`);
    }
    assert.deepEqual(backup('list', '--repo', killed).jobs, [], 'no restore left unfinished');

    // The parent's snapshot gone from the pool: the incremental walks the whole snapshot, and says so.
    ok('snapshot', 'delete', pool, resumed.backup.snapshot);
    fs.writeFileSync(path.join(src, 'big'), randomBytes(1000));
    ok('put', pool, path.join(src, 'big'), '/t/big');
    const walked = backup('create', pool, '--repo', killed);
    assert.equal(walked.backup.type, 'incremental');
    assert.equal(walked.backup.parent, resumed.backup.id);
    assert.match(walked.backup.note, /walked the whole snapshot: the parent backup's snapshot "backup-\d{8}-\d{6}" no longer exists in the pool/);
    assert.equal(walked.backup.newObjects, 1, 'only the new bytes stored');
    assert.equal(walked.backup.files, 25);

    // Bad input: named, with a stable code, nothing written.
    fails('ENOTREPO', ['backup', 'list', '--repo', src]);
    fails('ENOTREPO', ['backup', 'create', pool, '--repo', src]);
    fails('EUSAGE', ['backup', 'create', pool, '--repo', whole, '--type', 'weekly']);
    fails('ENOENT', ['backup', 'create', pool, '--repo', whole, '--snapshot', 'no-such-snapshot']);
    fails('ENOTEMPTY', ['backup', 'restore', 'latest', outWhole, '--repo', whole]);
    fails('EINVAL', ['backup', 'restore', 'yesterday', path.join(work, 'x'), '--repo', whole]);
    fails('ENOENT', ['backup', 'restore', '20000101-000000-abcd', path.join(work, 'x'), '--repo', whole]);
    fails('EUSAGE', ['backup', 'prune', '--repo', whole]);
    fails('EINVAL', ['backup', 'init', '--repo', path.join(work, 'r3'), '--pack-size', '1K']);
    fails('EINVAL', ['backup', 'restore', 'latest', '/x', '--repo', whole, '--pool', pool, '--path', '/t/big']);
    assert.equal(fs.existsSync(path.join(work, 'x')), false);
    assert.deepEqual(backup('list', '--repo', whole).backups.length, 1);
    // Another process holding the repository: list still reads it, a writer is refused naming the holder.
    const holder = spawn(process.execPath, ['-e', `require(${JSON.stringify(path.join(REPO, 'dist/src/native'))}).lockAcquire(${JSON.stringify(path.join(whole, 'lock'))}); `
      + 'process.stdout.write("held\\n"); setInterval(() => {}, 1 << 30);'], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await new Promise<void>((resolve) => holder.stdout!.once('data', () => resolve()));
      const busy = fails('EBUSY', ['backup', 'verify', '--repo', whole]);
      assert.equal(busy.pid, holder.pid);
      assert.equal(backup('list', '--repo', whole).backups.length, 1);
    } finally {
      holder.kill('SIGKILL');
    }
  } finally {
    rmrf(work);
  }
});
