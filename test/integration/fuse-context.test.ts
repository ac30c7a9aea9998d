/**
 * Our fuse-native patch (patches/fuse-native+2.2.6.patch) passes libfuse's request
 * context up: Fuse.context() gives the calling process's uid, gid and pid inside an
 * operation handler, and null outside one. The context travels after each op's own
 * arguments, so this also checks that those arguments (64-bit sizes and times, split in
 * two by fuse-native) still arrive where they did.
 *
 * An in-process mount with a toy op table; the requests come from a child process run as
 * another user. Needs root and /dev/fuse (as CI has).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Fuse } from '../../src/fuse/fuse-native';
import type { FuseContext, FuseStat } from '../../src/fuse/fuse-types';
import { fuseMountOptions } from '../../src/fuse/mount-options';
import { isFuseMounted } from '../../src/fuse/proc-mounts';
import { forceUnmount } from '../../src/fuse/unmount';
import { rmrf, tmpDir } from '../helpers/tmp';


// No skip: the suite runs as root with /dev/fuse (scripts/test.sh, CI); without them it must fail, not pass quietly.
test('the machine can mount FUSE: running as root with /dev/fuse', () => {
  assert.equal(process.getuid?.(), 0, 'run the tests as root (they mount FUSE and tmpfs)');
  assert.ok(fs.existsSync('/dev/fuse'), '/dev/fuse is missing: load the fuse module (modprobe fuse) or pass the device to the container');
});

/** Run a script as uid:gid without blocking this process's loop (it serves the mount). */
function runAs(uid: number, gid: number, script: string): Promise<{ pid: number; code: number | null; err: string }> {
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, ['-e', script], { uid, gid, cwd: '/', stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    c.stderr.on('data', (d) => { err += d; });
    c.on('error', reject);
    c.on('exit', (code) => resolve({ pid: c.pid!, code, err }));
  });
}

test('Fuse.context() names the calling process inside a handler; op arguments are unchanged', { timeout: 30_000 }, async () => {
  const root = tmpDir('dfs-fusectx-');
  const mnt = path.join(root, 'mnt');
  fs.mkdirSync(mnt);
  fs.chmodSync(root, 0o755);
  const dir: FuseStat = { mode: 0o40777, uid: 0, gid: 0, size: 4096, nlink: 2, atime: 0, mtime: 0, ctime: 0 };
  const file: FuseStat = { mode: 0o100644, uid: 1000, gid: 1001, size: 0, nlink: 1, atime: 0, mtime: 0, ctime: 0 };
  const seen: Record<string, { ctx: FuseContext | null; args: unknown[] }> = {};
  const record = (op: string, ...args: unknown[]) => { seen[op] = { ctx: fuse.context(), args }; };
  const fuse: Fuse = new Fuse(mnt, {
    getattr: (p, cb) => (p === '/' ? cb(0, dir) : p === '/f' ? cb(0, file) : cb(Fuse.ENOENT)),
    readdir: (_p, cb) => cb(0, ['f']),
    mkdir: (p, mode, cb) => { record('mkdir', p, mode & 0o777); cb(Fuse.EPERM); },
    truncate: (p, size, cb) => { record('truncate', p, size); cb(0); },
    utimens: (p, atime, mtime, cb) => { record('utimens', p, atime, mtime); cb(0); },
    chown: (p, uid, gid, cb) => { record('chown', p, uid, gid); cb(0); },
  }, fuseMountOptions({ fsname: 'ctxtest', allowOther: true }));
  await fuse.mountAsync();
  try {
    assert.equal(fuse.context(), null, 'no context outside a handler');
    const f = path.join(mnt, 'f');
    const child = await runAs(1000, 1001, `const fs = require('fs');
      try { fs.mkdirSync(${JSON.stringify(path.join(mnt, 'd'))}, 0o750); } catch (e) { if (e.code !== 'EPERM') throw e; }
      fs.truncateSync(${JSON.stringify(f)}, 5 * 2 ** 32 + 7);
      fs.utimesSync(${JSON.stringify(f)}, new Date(1_600_000_000_500), new Date(1_700_000_000_250));`);
    assert.equal(child.code, 0, child.err);
    const caller = { uid: 1000, gid: 1001, pid: child.pid };
    assert.deepEqual(seen.mkdir, { ctx: caller, args: ['/d', 0o750] });
    assert.deepEqual(seen.truncate, { ctx: caller, args: ['/f', 5 * 2 ** 32 + 7] });
    assert.deepEqual(seen.utimens, { ctx: caller, args: ['/f', 1_600_000_000_500, 1_700_000_000_250] });

    // This process (root) as the caller; the pid is a libuv pool thread's id, so not checked.
    await fs.promises.chown(f, 1234, 5678);
    assert.deepEqual(seen.chown!.args, ['/f', 1234, 5678]);
    assert.deepEqual([seen.chown!.ctx?.uid, seen.chown!.ctx?.gid], [0, 0]);
    assert.equal(fuse.context(), null);
  } finally {
    await fuse.unmountAsync();
    if (isFuseMounted(mnt)) await forceUnmount(mnt);
    rmrf(root);
  }
});
