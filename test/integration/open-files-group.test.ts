/**
 * Open files and group commits. A file kept open joins every group commit like any other
 * change: its writes (when the intent log does not carry them) and its chmod, chown and
 * utimens, so a SIGKILL loses at most what came after the last commit. chmod, chown and
 * utimens of an open file (what tar does to every file before closing it) are seen at
 * once and stored with the file's next commit, in its one transaction; an fsync after one
 * commits the group (the intent log carries data and size only).
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { ok } from '../helpers/cli';
import { startCoordinator, stopCoordinator, withMount, type Mounted } from '../helpers/mount';

const LONG_INTERVAL = 'commit.intervalMs=60000'; // no interval commit: only what the test makes commit counts

async function kill(child: ChildProcess): Promise<void> {
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
}

/**
 * Commit the group (every change so far, every open file's pending attributes): the fsync
 * of a file renamed in the open group does (the intent log carries no rename).
 */
function commitGroup(m: Mounted, name: string): void {
  const file = path.join(m.mnt, name);
  fs.writeFileSync(`${file}.tmp`, '');
  fs.renameSync(`${file}.tmp`, file);
  const fd = fs.openSync(file, 'r+');
  fs.fsyncSync(fd);
  fs.closeSync(fd);
}

/** Remount after a SIGKILL and return what the file looks like. */
async function afterRemount(m: Mounted, name: string): Promise<{ mode: number; uid: number; gid: number; mtimeMs: number; data: Buffer }> {
  const again = await startCoordinator(m.pool, m.mnt);
  try {
    const st = fs.statSync(path.join(m.mnt, name));
    return { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtimeMs: st.mtimeMs, data: fs.readFileSync(path.join(m.mnt, name)) };
  } finally {
    await stopCoordinator(m.mnt, again.child);
  }
}

const MTIME_S = 1_700_000_000; // 2023-11-14, whole seconds: exact through every layer

test('tar\'s sequence (write, futimens, fchown, fchmod, close): seen while open, stored at close, durable once a group commits', async () => {
  await withMount(async (m) => {
    const file = path.join(m.mnt, 'f');
    const data = Buffer.alloc(20_000, 'x');
    const fd = fs.openSync(file, 'wx', 0o600);
    fs.writeSync(fd, data);
    fs.futimesSync(fd, MTIME_S, MTIME_S);
    fs.fchownSync(fd, 1234, 5678);
    fs.fchmodSync(fd, 0o640);
    for (const st of [fs.fstatSync(fd), fs.statSync(file)]) {
      assert.deepEqual([st.mode & 0o7777, st.uid, st.gid, st.mtimeMs], [0o640, 1234, 5678, MTIME_S * 1000], 'seen at once, open');
    }
    fs.closeSync(fd);
    // Closed: in the store (the CLI reads it through the coordinator).
    const s = ok('stat', m.pool, '/f');
    assert.deepEqual([s.mode, s.uid, s.gid, s.size, s.mtimeMs], [0o640, 1234, 5678, data.length, MTIME_S * 1000]);
    commitGroup(m, 'other');
    await kill(m.child);
    const got = await afterRemount(m, 'f');
    assert.deepEqual([got.mode, got.uid, got.gid, got.mtimeMs], [0o640, 1234, 5678, MTIME_S * 1000]);
    assert.ok(got.data.equals(data));
  }, { config: [LONG_INTERVAL] });
});

test('a file kept open: its chmod, chown and utimens join the next group commit, and a SIGKILL with it still open keeps them', async () => {
  await withMount(async (m) => {
    const file = path.join(m.mnt, 'log');
    const fd = fs.openSync(file, 'w', 0o644);
    fs.writeSync(fd, Buffer.from('first line\n'));
    fs.fsyncSync(fd); // a new file: its name and bytes go to the log; the group takes it whole (attributes wait)
    fs.fchmodSync(fd, 0o600);
    fs.fchownSync(fd, 42, 43);
    fs.futimesSync(fd, MTIME_S, MTIME_S);
    commitGroup(m, 'other'); // the group takes the pending attributes; the file stays open
    await kill(m.child);
    try { fs.closeSync(fd); } catch { /* the endpoint is gone */ }
    const got = await afterRemount(m, 'log');
    assert.deepEqual([got.mode, got.uid, got.gid, got.mtimeMs], [0o600, 42, 43, MTIME_S * 1000]);
    assert.equal(got.data.toString(), 'first line\n');
  }, { config: [LONG_INTERVAL] });
});

test('an fsync after a chmod of a file the intent log would take commits the group: the chmod survives a SIGKILL', async () => {
  await withMount(async (m) => {
    const file = path.join(m.mnt, 'db');
    const fd = fs.openSync(file, 'w+', 0o644);
    fs.writeSync(fd, Buffer.alloc(8192, 'a'));
    fs.fsyncSync(fd); // a new file: its name and bytes through the log
    fs.writeSync(fd, Buffer.alloc(100, 'b'), 0, 100, 0);
    fs.fsyncSync(fd); // through the log
    fs.fchmodSync(fd, 0o604);
    fs.writeSync(fd, Buffer.alloc(100, 'c'), 0, 100, 200);
    fs.fsyncSync(fd); // the chmod waits: the whole group commits
    await kill(m.child);
    try { fs.closeSync(fd); } catch { /* the endpoint is gone */ }
    const got = await afterRemount(m, 'db');
    assert.equal(got.mode, 0o604);
    const want = Buffer.alloc(8192, 'a');
    want.fill('b', 0, 100);
    want.fill('c', 200, 300);
    assert.ok(got.data.equals(want));
  }, { config: [LONG_INTERVAL] });
});

test('a file kept open and never fsync\'d: its writes join the next group commit, and a SIGKILL with it still open keeps them', async () => {
  await withMount(async (m) => {
    const file = path.join(m.mnt, 'growing');
    const fd = fs.openSync(file, 'w');
    const first = Buffer.alloc(3 * 1024 * 1024 + 12_345, 'a'); // whole extents and a partial one (1 MiB extents)
    fs.writeSync(fd, first);
    commitGroup(m, 'other1'); // another file's fsync: the group takes this file's writes too
    fs.writeSync(fd, Buffer.alloc(5000, 'b'), 0, 5000, first.length); // after the commit: lost with the coordinator
    await kill(m.child);
    try { fs.closeSync(fd); } catch { /* the endpoint is gone */ }
    const got = await afterRemount(m, 'growing');
    assert.equal(got.data.length, first.length);
    assert.ok(got.data.equals(first), 'exactly what was written before the group commit');
  }, { config: [LONG_INTERVAL], extentSize: '1M' });
});
