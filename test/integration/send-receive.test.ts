/**
 * send and receive through the CLI (issue 16, streams): a tree with every kind of entry,
 * odd modes, owners, fractional times, symlinks, hard links and xattrs, built through a
 * mount and sent through its coordinator; full, incremental and differential streams
 * received into another pool each equal the sender's snapshot (attributes, links, xattrs,
 * every byte) and record the sender's guid; a flipped byte or a cut stream fails naming
 * the record and its offset with the pool as it was; a missing base is named; a receive
 * SIGKILLed mid-way resumes (from stdin and from a file) to the same tree; the same pool
 * takes a copy under another path.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Engine } from '../../src/engine/engine';
import { readExtent } from '../../src/engine/extent-reader';
import { openEngine } from '../../src/engine/open';
import { walkView, type TreeEntry } from '../../src/fs/tree-entries';
import { LIVE_GEN } from '../../src/meta/store';
import { BIN, dfsWith, fails, ok, type Json } from '../helpers/cli';
import { startServe, stopChild, sleep } from '../helpers/daemon';
import { dirPool } from '../helpers/dir-pool';
import { startCoordinator, stopCoordinator } from '../helpers/mount';
import { Rng } from '../helpers/random';
import { rmrf, tmpDir } from '../helpers/tmp';

const root = tmpDir('dfs-send-');
const streams = path.join(root, 'streams');
let poolA = '';
const guids: Record<string, string> = {};

function py(code: string, cwd: string): void {
  const r = spawnSync('python3', ['-c', code], { cwd, encoding: 'utf8' });
  assert.equal(r.status, 0, `python: ${r.stderr}`);
}

/** A pool of three directory disks with 64 KiB extents (a 200 KB file is four extents), made in-process: the CLI takes four runs for it. */
async function pool(name: string, redundancy = 'rs:2+1'): Promise<string> {
  const dir = path.join(root, name);
  fs.mkdirSync(dir);
  const { engine } = dirPool(dir, [1, 2, 3], { extentSize: 65536, policy: redundancy });
  await engine.close();
  return path.join(dir, 'pool');
}

const cli = dfsWith;

/** Entries without what only their pool knows (inode numbers, extent ids). */
const comparable = (entries: TreeEntry[]): unknown[] => entries.map(({ ino: _i, extents, ...rest }) => ({ ...rest, extents: extents.map(({ id: _id, ...x }) => x) }));

/** The tree at `dir` of pool `p` as snapshot `snap` (or the live tree) sees it, with every file's bytes read verified. */
async function treeOf(p: string, dir: string, snap?: string): Promise<{ entries: unknown[]; bytes: Map<string, string> }> {
  const engine: Engine = openEngine(p);
  try {
    const view = engine.meta.viewAt(snap === undefined ? LIVE_GEN : engine.meta.getSnapshot(snap)!.gen);
    const entries = [...walkView(view, dir)];
    const bytes = new Map<string, string>();
    for (const e of entries) {
      if (e.kind !== 'file' || e.link !== null) continue;
      const parts: Buffer[] = [];
      for (const x of e.extents) parts.push(await readExtent(engine, engine.meta.getExtent(x.id)!));
      bytes.set(e.path, Buffer.concat(parts).toString('base64'));
    }
    return { entries: comparable(entries), bytes };
  } finally {
    await engine.close();
  }
}

async function assertSameTree(a: { pool: string; dir: string; snap?: string }, b: { pool: string; dir: string; snap?: string }, what: string): Promise<void> {
  const [x, y] = [await treeOf(a.pool, a.dir, a.snap), await treeOf(b.pool, b.dir, b.snap)];
  assert.deepEqual(y.entries, x.entries, `${what}: entries`);
  assert.deepEqual(y.bytes, x.bytes, `${what}: bytes`);
}

const stream = (name: string): string => path.join(streams, `${name}.stream`);

before(async () => {
  fs.mkdirSync(streams);
  poolA = await pool('a');
  const mnt = path.join(root, 'mnt');
  const { child } = await startCoordinator(poolA, mnt);
  try {
    const rng = new Rng(16);
    fs.writeFileSync(path.join(root, 'big.bin'), rng.bytes(200_000));
    fs.writeFileSync(path.join(root, 'new.bin'), rng.bytes(150_000));
    py(`
import os, shutil
os.makedirs('docs/sub'); os.makedirs('keep/sub')
shutil.copyfile(${JSON.stringify(path.join(root, 'big.bin'))}, 'docs/big')
open('docs/small', 'w').write('small\\n'); open('docs/gone', 'wb').write(b'x' * 70000); open('keep/sub/deep', 'w').write('deep\\n')
os.chmod('docs/small', 0o4750); os.chown('docs/small', 1000, 1001); os.chmod('keep', 0o711)
os.setxattr('docs/big', 'user.x', b'\\x00\\x01'); os.setxattr('docs/big', 'user.v', b'1'); os.setxattr('keep', 'user.dir', b'd')
os.symlink('docs/small', 'ln'); os.link('docs/small', 'hard'); os.mkfifo('fifo', 0o640); os.mknod('null', 0o600 | 0o020000, os.makedev(1, 3))
os.utime('docs/big', ns=(1_600_000_000_123_456_000, 1_500_000_000_654_321_000)); os.utime('keep/sub', ns=(7_000_000_000, 8_000_000_000))
`, mnt);
    guids.s0 = ok('snapshot', 'create', poolA, 's0').name;
    // Through the coordinator: send writes the file itself.
    const s0 = ok('send', poolA, 's0', '-o', stream('s0'));
    assert.deepEqual([s0.from, s0.deletes, s0.entries], [null, 0, 13]);
    py(`
import os
f = open('docs/big', 'r+b'); f.seek(70000); f.write(b'0123456789'); f.close()
open('docs/small', 'a').write('more\\n'); os.chmod('docs/small', 0o600)
import shutil; shutil.copyfile(${JSON.stringify(path.join(root, 'new.bin'))}, 'docs/new')
os.remove('docs/gone'); os.rename('keep', 'kept')
os.setxattr('docs/big', 'user.v', b'2'); os.removexattr('docs/big', 'user.x')
os.remove('ln'); os.symlink('kept/sub/deep', 'ln'); os.link('docs/big', 'docs/big2'); os.remove('hard')
`, mnt);
    ok('snapshot', 'create', poolA, 's1');
    const s1 = ok('send', poolA, 's1', '--from', 's0', '-o', stream('s1'));
    // Only the change travels: one extent of big, small's, new's three; gone and the old names are deletes.
    assert.equal(s1.dataBytes, 65536 + 11 + 150_000, 'the changed extents only');
    assert.deepEqual([s1.from, s1.deletes], ['s0', 4]);
    py(`
import os, shutil
os.truncate('docs/big', 100000); shutil.rmtree('kept/sub'); os.makedirs('fresh'); open('fresh/a', 'w').write('a\\n')
os.rename('docs/new', 'fresh/new'); os.chown('docs/small', 2000, 2000)
`, mnt);
    ok('snapshot', 'create', poolA, 's2');
    ok('send', poolA, 's2', '--from', 's0', '-o', stream('s2'));
    for (const s of ok('snapshot', 'list', poolA).snapshots as Json[]) guids[s.name as string] = s.guid as string;
  } finally {
    await stopCoordinator(mnt, child);
  }
});

after(() => rmrf(root));

test('full, incremental and differential streams: each received tree equals the sender\'s snapshot, and carries its guid', async () => {
  const b = await pool('b', 'mirror:2');
  const r0 = ok('receive', b, '-i', stream('s0'), '--path', '/r');
  assert.deepEqual([r0.snapshot, r0.guid, r0.root, r0.from], ['s0', guids.s0, '/r', null]);
  await assertSameTree({ pool: poolA, dir: '/', snap: 's0' }, { pool: b, dir: '/r' }, 'full s0');

  const r1 = ok('receive', b, '-i', stream('s1'));
  assert.deepEqual([r1.snapshot, r1.root, r1.from, r1.base], ['s1', '/r', 's0', 's0'], 'the base found by guid, where it was received');
  await assertSameTree({ pool: poolA, dir: '/', snap: 's1' }, { pool: b, dir: '/r' }, 'incremental s0 -> s1');

  // The differential's base is s0, but /r has moved on to s1: refused, nothing changed, unless rolled back first.
  const refused = fails('EINVAL', ['receive', b, '-i', stream('s2')]);
  assert.match(refused.message, /\/r has changed since snapshot "s0".*--force/);
  await assertSameTree({ pool: poolA, dir: '/', snap: 's1' }, { pool: b, dir: '/r' }, 'after the refusal');
  ok('receive', b, '-i', stream('s2'), '--force');
  await assertSameTree({ pool: poolA, dir: '/', snap: 's2' }, { pool: b, dir: '/r' }, 'differential s0 -> s2');

  const listed = ok('snapshot', 'list', b).snapshots as Json[];
  assert.deepEqual(listed.map((s) => [s.name, s.guid, s.root]), ['s0', 's1', 's2'].map((n) => [n, guids[n], '/r']));
  // Each received snapshot holds its tree as it arrived.
  await assertSameTree({ pool: poolA, dir: '/', snap: 's1' }, { pool: b, dir: '/r', snap: 's1' }, 'the received snapshot s1');
  assert.equal(ok('check', b).problems.length, 0);
  // Written at the receiving pool's own redundancy.
  assert.match(JSON.stringify(ok('stat', b, '/r/docs/big').extents), /"scheme":"mirror"/);
});

test('a flipped byte or a cut stream fails naming the record and its offset, and leaves the pool as it was; a missing base is named', async () => {
  const c = await pool('c');
  const whole = fs.readFileSync(stream('s0'));
  for (const [at, kind] of [[Math.floor(whole.length / 2), 'data'], [300, 'entry']] as const) {
    const bad = Buffer.from(whole);
    bad[at] = bad[at]! ^ 0x40;
    fs.writeFileSync(stream('bad'), bad);
    const e = fails('EDIGEST', ['receive', c, '-i', stream('bad')]);
    assert.equal(e.recordType, kind);
    assert.ok(e.offset <= at && at < e.offset + 37 + 70_000, `record at ${e.offset} holds byte ${at}`);
    assert.match(e.message, new RegExp(`record ${e.record} \\(${kind}\\) at byte ${e.offset} fails its BLAKE3`));
  }
  fs.writeFileSync(stream('cut'), whole.subarray(0, whole.length - 100));
  assert.match(fails('EFORMAT', ['receive', c, '-i', stream('cut')]).message, /truncated/);
  const missing = fails('ENOENT', ['receive', c, '-i', stream('s1')]);
  assert.deepEqual([missing.guid, missing.snapshot], [guids.s0, 's0']);
  assert.match(missing.message, /incremental from snapshot "s0" \(guid [0-9a-f]{32}\), which this pool does not have/);
  // Nothing of it shows or stays: no entry, no snapshot, no staged inode, the failed jobs say why.
  assert.deepEqual(ok('ls', c, '/').entries, []);
  assert.deepEqual(ok('snapshot', 'list', c).snapshots, []);
  const checked = ok('check', c);
  assert.deepEqual([checked.problems.length, checked.counts.inodes, checked.counts.extents], [0, 1, 0], 'the root alone: the staging went with each failure');
  assert.deepEqual((ok('jobs', c).jobs as Json[]).map((j) => [j.kind, j.state]), [['receive', 'failed'], ['receive', 'failed'], ['receive', 'failed']]);
});

test('a receive killed mid-way resumes after its last committed record, from stdin and from a file, to the same tree', async () => {
  const d = await pool('d');
  const env = { DYNAMICFS_RECEIVE_BATCH: '2', DYNAMICFS_CRASH_AT: 'receive-batch:2' };
  const killed = cli(['receive', d, '--path', '/r'], { env, input: fs.readFileSync(stream('s0')) });
  assert.equal(killed.signal, 'SIGKILL', killed.out);
  const status = ok('receive', d, '--status').receive as Json;
  assert.equal(status.record, 5, 'header, then two batches of two records');
  assert.equal(status.token, `${status.job.id}:${status.offset}:5`);
  assert.equal(status.input, '-');
  assert.deepEqual(ok('ls', d, '/').entries, [], 'nothing shows before the end');
  fails('EBUSY', ['receive', d, '-i', stream('s0'), '--path', '/other']);
  // Again through stdin (the stream read from its start, the applied part verified and skipped), killed again, then from the file.
  const again = cli(['receive', d, '--resume'], { env: { ...env, DYNAMICFS_CRASH_AT: 'receive-batch:1' }, input: fs.readFileSync(stream('s0')) });
  assert.equal(again.signal, 'SIGKILL', again.out);
  assert.equal((ok('receive', d, '--status').receive as Json).record, 7);
  const done = ok('receive', d, '--resume', '-i', stream('s0'));
  assert.deepEqual([done.resumed, done.snapshot, done.root], [true, 's0', '/r']);
  await assertSameTree({ pool: poolA, dir: '/', snap: 's0' }, { pool: d, dir: '/r' }, 'resumed receive');
  assert.equal(ok('receive', d, '--status').receive, null);
  assert.equal(ok('check', d).problems.length, 0);
  // Nothing is left to resume.
  fails('ENOENT', ['receive', d, '--resume', '-i', stream('s0')]);
});

test('the same pool takes a copy under another path, and an incremental to it once told where; send pipes into receive', async () => {
  ok('receive', poolA, '-i', stream('s0'), '--path', '/copy', '--snapshot', 's0-copy');
  await assertSameTree({ pool: poolA, dir: '/', snap: 's0' }, { pool: poolA, dir: '/copy' }, 'copy in the same pool');
  const both = (ok('snapshot', 'list', poolA).snapshots as Json[]).filter((s) => s.guid === guids.s0);
  assert.deepEqual(both.map((s) => [s.name, s.root]), [['s0', '/'], ['s0-copy', '/copy']]);
  assert.match(fails('EINVAL', ['receive', poolA, '-i', stream('s1'), '--snapshot', 's1-copy']).message, /at \/, \/copy: say which with --path/);
  ok('receive', poolA, '-i', stream('s1'), '--path', '/copy', '--snapshot', 's1-copy');
  await assertSameTree({ pool: poolA, dir: '/', snap: 's1' }, { pool: poolA, dir: '/copy' }, 'incremental into the copy');
  // The copy's snapshot sends its own tree, through a pipe: received elsewhere, it is s1 again.
  const e = await pool('e');
  const pipe = spawnSync('bash', ['-c', `set -o pipefail; "${process.execPath}" "${BIN}" send "${poolA}" s1-copy | "${process.execPath}" "${BIN}" receive "${e}" --json`],
    { encoding: 'utf8', timeout: 60_000 });
  assert.equal(pipe.status, 0, pipe.stdout + pipe.stderr);
  assert.deepEqual([JSON.parse(pipe.stdout).guid, JSON.parse(pipe.stdout).root], [guids.s1, '/']);
  await assertSameTree({ pool: poolA, dir: '/', snap: 's1' }, { pool: e, dir: '/' }, 'a received snapshot sent on');
});

test('a coordinator resumes a receive killed offline from its file by itself, pauses one whose stream was stdin until --resume names a file, and receives through its socket', async () => {
  const f = await pool('f');
  const crash = { DYNAMICFS_RECEIVE_BATCH: '2', DYNAMICFS_CRASH_AT: 'receive-batch:1' };
  const killed = cli(['receive', f, '-i', stream('s0'), '--path', '/r'], { env: crash });
  assert.equal(killed.signal, 'SIGKILL', killed.out);
  let served = await startServe(f);
  try {
    for (let tries = 0; ok('receive', f, '--status').receive !== null; tries++) {
      assert.ok(tries < 200, 'the coordinator finished the receive');
      await sleep(50);
    }
    assert.deepEqual((ok('jobs', f).jobs as Json[]).map((j) => [j.kind, j.state]), [['receive', 'done']]);
    const viaSocket = cli(['receive', f], { input: fs.readFileSync(stream('s1')) });
    assert.equal(viaSocket.json?.error?.code, 'EPOOLSERVED', viaSocket.out);
    const r1 = ok('receive', f, '-i', stream('s1'));
    assert.deepEqual([r1.snapshot, r1.root, r1.job.state], ['s1', '/r', 'done']);
  } finally {
    await stopChild(served.child);
  }
  await assertSameTree({ pool: poolA, dir: '/', snap: 's1' }, { pool: f, dir: '/r' }, 'received through a coordinator');
  // The differential, from stdin, killed: a coordinator cannot read that stdin again, so the job waits, paused.
  const fromStdin = cli(['receive', f, '--force'], { env: crash, input: fs.readFileSync(stream('s2')) });
  assert.equal(fromStdin.signal, 'SIGKILL', fromStdin.out);
  served = await startServe(f);
  try {
    let status = ok('receive', f, '--status').receive as Json;
    for (let tries = 0; status.job.state !== 'paused'; tries++) {
      assert.ok(tries < 200, 'the coordinator paused the receive');
      await sleep(50);
      status = ok('receive', f, '--status').receive as Json;
    }
    assert.match(status.waiting, /its stream, read from stdin: run `dynamicfs receive POOL --resume`/);
    const done = ok('receive', f, '--resume', '-i', stream('s2'));
    assert.deepEqual([done.resumed, done.snapshot, done.job.state], [true, 's2', 'done']);
  } finally {
    await stopChild(served.child);
  }
  await assertSameTree({ pool: poolA, dir: '/', snap: 's2' }, { pool: f, dir: '/r' }, 'resumed through a coordinator');
});
