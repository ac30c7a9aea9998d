/**
 * Every bad input through the real CLI: a clear message, the right stable code in
 * --json, a non-zero exit (2 for usage errors), and no change to anything — checked
 * afterwards with ls, disks and status (the generation counts every commit).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { BIN, dfs, fails, holdPool, makePool, ok, release, run, type Json } from '../helpers/cli';
import { remountReadOnly, withTmpDir, withTmpfs } from '../helpers/tmp';

/** What must not change when a command is refused. */
function snapshot(pool: string): Json {
  const s = ok('status', pool);
  return {
    generation: s.generation,
    namespace: s.namespace,
    disks: (ok('disks', pool).disks as Json[]).map((d) => [d.id, d.path, d.tier, d.state]),
    root: (ok('ls', pool).entries as Json[]).map((e) => e.name),
    superblock: fs.readFileSync(path.join(pool, 'pool.json'), 'utf8'),
  };
}

test('a missing pool, or a directory that is not a pool, is ENOTPOOL and nothing is created', async () => {
  await withTmpDir((root) => {
    const missing = path.join(root, 'nothing-here');
    for (const args of [['ls', missing], ['status', missing], ['disks', missing], ['mkdir', missing, '/a'], ['add-disk', missing, root]]) {
      const e = fails('ENOTPOOL', args);
      assert.equal(e.path, missing);
      assert.match(e.message, /does not exist/);
    }
    assert.ok(!fs.existsSync(missing));

    const empty = path.join(root, 'empty');
    fs.mkdirSync(empty);
    assert.match(fails('ENOTPOOL', ['status', empty]).message, /is not a DynamicFS pool.*dynamicfs init/);
    assert.deepEqual(fs.readdirSync(empty), [], 'no lock file or database left behind');

    const file = path.join(root, 'file');
    fs.writeFileSync(file, 'x');
    fails('ENOTPOOL', ['ls', file]);

    const human = run(['ls', missing]);
    assert.equal(human.code, 1);
    assert.equal(human.stdout, '');
    assert.match(human.stderr, /^dynamicfs: pool .* does not exist; create it with `dynamicfs init/);
  });
});

test('init refuses an existing pool, a non-empty directory and bad options', async () => {
  await withTmpDir((root) => {
    const { pool } = makePool(root, 0);
    const before = snapshot(pool);
    assert.equal(fails('EPOOLEXISTS', ['init', pool]).path, pool);
    fails('EPOOLEXISTS', ['init', pool, '--redundancy', 'mirror:2']);
    assert.deepEqual(snapshot(pool), before);

    const full = path.join(root, 'full');
    fs.mkdirSync(full);
    fs.writeFileSync(path.join(full, 'keep'), 'mine');
    fails('EEXIST', ['init', full]);
    assert.deepEqual(fs.readdirSync(full), ['keep']);

    const fresh = path.join(root, 'fresh');
    for (const bad of ['rs:0+2', 'rs:4+0', 'rs:30+9', 'mirror:1', 'raid5', 'rs:4-2', '']) {
      const e = fails('EINVAL', ['init', fresh, '--redundancy', bad]);
      assert.match(e.message, /rs:4\+2|mirror:3/, 'the message shows a valid example');
    }
    for (const bad of ['1000', 'abc', '4X', '1G', '65537']) fails('EINVAL', ['init', fresh, '--extent-size', bad]);
    assert.ok(!fs.existsSync(fresh), 'a refused init creates nothing');
  });
});

test('add-disk refuses a disk already in this pool or in another pool', async () => {
  await withTmpDir((root) => {
    const { pool, disks } = makePool(root, 2);
    const other = path.join(root, 'other');
    ok('init', other);
    const foreign = path.join(root, 'foreign');
    fs.mkdirSync(foreign);
    ok('add-disk', other, foreign);
    const before = snapshot(pool);
    const otherBefore = snapshot(other);

    assert.match(fails('EDISKINUSE', ['add-disk', pool, disks[0]!]).message, /already a disk of this pool/);
    assert.match(fails('EDISKINUSE', ['add-disk', pool, `${disks[1]!}/`]).message, /already a disk of this pool/);
    assert.match(fails('EDISKINUSE', ['add-disk', pool, foreign]).message, /belongs to another DynamicFS pool/);
    assert.equal(fails('EDISKINUSE', ['add-disk', other, disks[0]!]).path, disks[0]);

    assert.deepEqual(snapshot(pool), before);
    assert.deepEqual(snapshot(other), otherBefore);
  });
});

test('add-disk refuses a missing DIR, a file, a read-only filesystem, the pool itself and a bad tier', async () => {
  await withTmpDir(async (root) => {
    const { pool } = makePool(root, 1);
    const before = snapshot(pool);

    const missing = path.join(root, 'missing');
    assert.equal(fails('ENOENT', ['add-disk', pool, missing]).path, missing);
    assert.ok(!fs.existsSync(missing));
    const file = path.join(root, 'a-file');
    fs.writeFileSync(file, 'x');
    assert.equal(fails('ENOTDIR', ['add-disk', pool, file]).path, file);
    fails('EINVAL', ['add-disk', pool, path.join(pool, 'run')]);
    const spare = path.join(root, 'spare');
    fs.mkdirSync(spare);
    assert.match(fails('EINVAL', ['add-disk', pool, spare, '--tier', 'lukewarm']).message, /hot, warm, cold/);
    assert.deepEqual(fs.readdirSync(spare), [], 'no label written');

    await withTmpfs(1 << 20, (ro) => {
      remountReadOnly(ro);
      const e = fails('ENOTWRITABLE', ['add-disk', pool, ro]);
      assert.equal(e.path, ro);
      assert.match(e.message, /not writable.*EROFS/);
      assert.deepEqual(fs.readdirSync(ro), []);
    });
    assert.deepEqual(snapshot(pool), before);
  });
});

test('usage errors are EUSAGE with exit status 2, as JSON and as text', async () => {
  await withTmpDir((root) => {
    const { pool } = makePool(root, 0);
    const before = snapshot(pool);
    assert.match(fails('EUSAGE', ['ls', pool, '--bogus']).message, /unknown option '--bogus'/);
    assert.match(fails('EUSAGE', ['mkdir', pool]).message, /missing required argument 'path'/);
    assert.match(fails('EUSAGE', ['mv', pool, '/a']).message, /missing required argument 'to'/);
    assert.match(fails('EUSAGE', ['frobnicate', pool]).message, /unknown command 'frobnicate'/);
    fails('EUSAGE', ['ls', pool, '/', 'extra']);
    fails('EUSAGE', ['init', pool, '--redundancy']); // option without its value
    fails('EUSAGE', []);

    const text = run(['rm', pool, '-z']);
    assert.equal(text.code, 2);
    assert.equal(text.stdout, '');
    assert.match(text.stderr, /^dynamicfs: unknown option '-z'\nRun `dynamicfs rm --help` for usage\.\n$/);

    const help = run(['mv', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Usage: dynamicfs mv \[options\] <pool> <from> <to>/);
    assert.match(help.stdout, /--json/);
    assert.deepEqual(snapshot(pool), before);
  });
});

test('every verb accepts --json', () => {
  const help = run(['--help']);
  assert.equal(help.code, 0);
  const verbs = [...help.stdout.matchAll(/^ {2}([a-z-]+) /gm)].map((m) => m[1]!).filter((v) => v !== 'help');
  for (const v of ['init', 'add-disk', 'disks', 'status', 'ls', 'mkdir', 'mv', 'rm', 'stat']) assert.ok(verbs.includes(v), v);
  for (const verb of verbs) {
    // Without its arguments each verb fails, but as one JSON object: --json was understood.
    const r = dfs(verb);
    assert.equal(r.json?.ok, false, `${verb}: ${r.stdout}`);
    assert.equal(r.json?.error.code, 'EUSAGE', `${verb}: ${r.stdout}`);
    assert.doesNotMatch(r.json?.error.message, /--json/);
  }
});

test('a pool held by another process is EPOOLBUSY naming its PID, and nothing changes', async () => {
  await withTmpDir(async (root) => {
    const { pool } = makePool(root, 1);
    const before = snapshot(pool);
    const spare = path.join(root, 'spare');
    fs.mkdirSync(spare);
    const holder = await holdPool(pool);
    try {
      for (const args of [['ls', pool], ['status', pool], ['mkdir', pool, '/new'], ['add-disk', pool, spare], ['rm', pool, '/x']]) {
        const e = fails('EPOOLBUSY', args);
        assert.equal(e.pid, holder.pid);
        assert.match(e.message, new RegExp(`pool ${pool} is in use by PID ${holder.pid}`));
      }
      const human = run(['disks', pool]);
      assert.equal(human.code, 1);
      assert.match(human.stderr, new RegExp(`^dynamicfs: pool .* is in use by PID ${holder.pid}`));
    } finally {
      await release(holder);
    }
    assert.deepEqual(snapshot(pool), before);
    assert.deepEqual(fs.readdirSync(spare), []);
  });
});

test('bad pool paths are EINVAL naming the path; missing parents ENOENT; files in the way ENOTDIR', async () => {
  await withTmpDir((root) => {
    const { pool } = makePool(root, 0);
    ok('mkdir', pool, '/d');
    ok('mkdir', pool, `/d/${'n'.repeat(255)}`); // NAME_MAX is fine
    fs.writeFileSync(path.join(root, 'small'), 'hello');
    ok('put', pool, path.join(root, 'small'), '/d/file');
    const before = snapshot(pool);
    for (const bad of ['a//b', '/d/./x', '/d/../x', '..', '.', '', '//']) {
      const e = fails('EINVAL', ['mkdir', pool, bad, '-p']);
      assert.equal(e.path, bad);
    }
    for (const long of [`/d/${'n'.repeat(256)}`, `/${'é'.repeat(128)}`]) {
      assert.equal(fails('ENAMETOOLONG', ['mkdir', pool, long, '-p']).path, long);
    }
    fails('EINVAL', ['ls', pool, '/d/../d']);
    fails('EINVAL', ['stat', pool, 'd//']);
    assert.match(fails('ENOENT', ['mkdir', pool, '/x/y']).message, /\/x does not exist/);
    assert.match(fails('EEXIST', ['mkdir', pool, '/d']).message, /\/d already exists/);
    assert.match(fails('ENOENT', ['ls', pool, '/nope']).message, /\/nope does not exist/);
    assert.match(fails('ENOTDIR', ['mkdir', pool, '/d/file/x', '-p']).message, /\/d\/file is not a directory/);
    assert.match(fails('ENOTDIR', ['ls', pool, '/d/file/x']).message, /\/d\/file is not a directory/);
    fails('EEXIST', ['mkdir', pool, '/d/file', '-p']);
    assert.deepEqual(snapshot(pool), before);
  });
});

test('a reader gone before the output (`dynamicfs --help | true`) ends it quietly: exit 0, no stack trace', () => {
  // `true` exits without reading, long before node has started: every write meets a pipe without a reader (EPIPE).
  const r = spawnSync('bash', ['-c', `set -o pipefail; "${process.execPath}" "${BIN}" --help | true`], { encoding: 'utf8' });
  assert.equal(r.stderr, '');
  assert.equal(r.status, 0);
});
