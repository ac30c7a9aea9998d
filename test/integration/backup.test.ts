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
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { manifestEntries } from '../../src/backup/manifest';
import { blake3 } from '../../src/native';
import { BIN, REPO, fails, makePool, ok, type Json } from '../helpers/cli';
import { withMount } from '../helpers/mount';
import { rmrf, tmpDir } from '../helpers/tmp';

function py(code: string): string {
  const r = spawnSync('python3', ['-c', code], { encoding: 'utf8' });
  assert.equal(r.status, 0, `${code}: ${r.stdout}${r.stderr}`);
  return r.stdout;
}

/** Every extended attribute under `root` (not following symlinks), by relative path. */
function xattrsOf(root: string): Record<string, Record<string, string>> {
  return JSON.parse(py(`
import os, json, sys
root = ${JSON.stringify(root)}
out = {}
for d, dirs, files in os.walk(root):
    for n in [''] + sorted(dirs + files):
        p = os.path.join(d, n) if n else d
        rel = os.path.relpath(p, root)
        if n == '' and d != root: continue
        try: names = os.listxattr(p, follow_symlinks=False)
        except OSError: names = []
        if names: out[rel] = {k: os.getxattr(p, k, follow_symlinks=False).hex() for k in sorted(names)}
print(json.dumps(out))`)) as Record<string, Record<string, string>>;
}

interface Node {
  kind: string;
  mode: string;
  uid: number;
  gid: number;
  size?: number;
  atimeUs: number;
  mtimeUs: number;
  nlink?: number;
  hash?: string;
  target?: string;
  rdev?: number;
  /** For a file with several links: every path sharing its inode. */
  links?: string[];
}

const us = (ms: number): number => Math.round(ms * 1000);

/** The tree under `root` as comparable data: stat everything first (reading changes atimes), then read contents. */
function treeOf(root: string): Map<string, Node> {
  const out = new Map<string, Node>();
  const byIno = new Map<number, string[]>();
  const walk = (rel: string): void => {
    for (const name of fs.readdirSync(path.join(root, rel)).sort()) {
      if (rel === '' && name === '.snapshots') continue;
      const r = rel ? `${rel}/${name}` : name;
      const st = fs.lstatSync(path.join(root, r));
      const kind = st.isDirectory() ? 'dir' : st.isFile() ? 'file' : st.isSymbolicLink() ? 'symlink' : st.isFIFO() ? 'fifo' : st.isCharacterDevice() ? 'chr' : 'other';
      const n: Node = { kind, mode: (st.mode & 0o7777).toString(8), uid: st.uid, gid: st.gid, atimeUs: us(st.atimeMs), mtimeUs: us(st.mtimeMs) };
      if (kind === 'file') {
        n.size = st.size;
        n.nlink = st.nlink;
        if (st.nlink > 1) byIno.set(st.ino, [...(byIno.get(st.ino) ?? []), r]);
      }
      if (kind === 'symlink') n.target = fs.readlinkSync(path.join(root, r));
      if (kind === 'chr') n.rdev = st.rdev;
      out.set(r, n);
      if (kind === 'dir') walk(r);
    }
  };
  walk('');
  for (const paths of byIno.values()) for (const p of paths) out.get(p)!.links = paths;
  for (const [r, n] of out) if (n.kind === 'file') n.hash = blake3(fs.readFileSync(path.join(root, r))).toString('hex');
  return out;
}

interface Captured {
  tree: Map<string, Node>;
  xattrs: Record<string, Record<string, string>>;
}

/** A tree as it is now (its atimes before anything reads it). */
function capture(root: string): Captured {
  // Stat before anything reads a directory (relatime moves the atime of one read).
  const tree = treeOf(root);
  const xattrs = xattrsOf(root);
  delete xattrs['.'];
  return { tree, xattrs };
}

function assertSameTree(got: string | Captured, want: string | Captured, what: string): void {
  const a = typeof got === 'string' ? capture(got) : got, b = typeof want === 'string' ? capture(want) : want;
  assert.deepEqual([...a.tree.keys()], [...b.tree.keys()], `${what}: the same paths`);
  for (const [r, n] of b.tree) assert.deepEqual(a.tree.get(r), n, `${what}: ${r}`);
  assert.deepEqual(a.xattrs, b.xattrs, `${what}: extended attributes`);
}

const T0 = 1_600_000_000_000;

/** The first tree: every kind of entry, owners, modes, times, xattrs, a hole, duplicate files. */
function buildTree(mnt: string): { dup: Buffer; small: Buffer } {
  const p = (r: string): string => path.join(mnt, r);
  const dup = randomBytes(300 * 1024);
  const small = Buffer.from('version one of a small file\n');
  fs.mkdirSync(p('a'));
  fs.mkdirSync(p('b'));
  fs.mkdirSync(p('c'));
  fs.mkdirSync(p('ro'));
  fs.writeFileSync(p('a/small.txt'), small);
  fs.writeFileSync(p('a/dup1'), dup);
  fs.writeFileSync(p('b/dup2'), dup);
  fs.writeFileSync(p('b/big'), randomBytes(9 * 1024 * 1024 + 123));
  const fd = fs.openSync(p('b/sparse'), 'w');
  fs.writeSync(fd, randomBytes(64 * 1024), 0, 64 * 1024, 0);
  fs.writeSync(fd, randomBytes(64 * 1024), 0, 64 * 1024, 10 * 1024 * 1024);
  fs.closeSync(fd);
  fs.writeFileSync(p('c/empty'), '');
  fs.linkSync(p('a/small.txt'), p('c/hard'));
  fs.symlinkSync('../b/big', p('a/sym'));
  fs.writeFileSync(p('ro/inside'), 'under a read-only directory');
  py(`import os; os.mkfifo(${JSON.stringify(p('c/pipe'))}, 0o640); os.mknod(${JSON.stringify(p('c/null'))}, 0o20644, os.makedev(1, 3))`);
  py(`import os; os.setxattr(${JSON.stringify(p('a/small.txt'))}, 'user.color', b'blue'); os.setxattr(${JSON.stringify(p('b'))}, 'user.kind', b'\\x00\\x01bin')`);
  fs.chownSync(p('a/small.txt'), 1234, 2345);
  fs.chownSync(p('b'), 1001, 1002);
  fs.lchownSync(p('a/sym'), 77, 88);
  fs.chmodSync(p('a/small.txt'), 0o640);
  fs.chmodSync(p('b/big'), 0o4755);
  fs.chmodSync(p('a'), 0o750);
  fs.chmodSync(p('ro/inside'), 0o444);
  let t = T0;
  for (const r of ['a/small.txt', 'a/dup1', 'b/dup2', 'b/big', 'b/sparse', 'c/empty', 'ro/inside', 'c/pipe']) fs.utimesSync(p(r), (t += 1234) / 1000, (t += 777) / 1000);
  fs.lutimesSync(p('a/sym'), (T0 + 5) / 1000, (T0 + 9) / 1000);
  for (const r of ['a', 'b', 'c', 'ro']) fs.utimesSync(p(r), (t += 1001) / 1000, (t += 999) / 1000);
  fs.chmodSync(p('ro'), 0o555);
  return { dup, small };
}

const backup = (...args: string[]): Json => ok('backup', ...args);

/** The index's count of objects and the pack file and offset holding `hash`. */
function repoObjects(repo: string): number {
  const db = new Database(path.join(repo, 'index.db'), { readonly: true });
  try {
    return (db.prepare('SELECT COUNT(*) AS n FROM objects').get() as { n: number }).n;
  } finally {
    db.close();
  }
}

function objectAt(repo: string, hash: Buffer): { file: string; offset: number } {
  const db = new Database(path.join(repo, 'index.db'), { readonly: true });
  try {
    const r = db.prepare('SELECT p.id, o.offset FROM objects o JOIN packs p ON p.no = o.pack WHERE o.hash = ?').get(hash) as { id: string; offset: number };
    return { file: path.join(repo, 'packs', r.id.slice(0, 2), `${r.id}.pack`), offset: r.offset };
  } finally {
    db.close();
  }
}

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
      const fd = fs.openSync(at.file, 'r+');
      const one = Buffer.alloc(1);
      fs.readSync(fd, one, 0, 1, at.offset + 3);
      one[0] ^= 0x40;
      fs.writeSync(fd, one, 0, 1, at.offset + 3);
      fs.closeSync(fd);
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

/** `dynamicfs ...args --json` with extra environment (a crash point): the result, however it ended. */
function run(args: string[], env: Record<string, string>): { status: number | null; signal: string | null; json: Json | undefined } {
  const r = spawnSync(process.execPath, [BIN, ...args, '--json'], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, ...env } });
  let json: Json | undefined;
  try {
    json = JSON.parse(r.stdout) as Json;
  } catch {
    json = undefined;
  }
  return { status: r.status, signal: r.signal, json };
}

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

    const died = run(['backup', 'create', pool, '--repo', killed, '--type', 'full'], { DYNAMICFS_CRASH_AT: 'backup-pack-written:8' });
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
    const cut = run(['backup', 'restore', 'latest', outKilled, '--repo', killed], env);
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
