/**
 * The FUSE plumbing under DynamicFS's mount, proved with the do-nothing passthrough
 * (scripts/passthrough.ts) in a child process: fuse-native loads with the libfuse that
 * npm installed (no system libfuse), our mount options reach the kernel (fsname,
 * subtype, default_permissions, ro, and big_writes: 128 KiB write callbacks), and a
 * mount left stale by a SIGKILLed server is cleaned up by forceUnmount.
 *
 * Needs root and /dev/fuse (as CI has). Every mount is removed in a finally.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Fuse } from '../../src/fuse/fuse-native';
import type { FuseStat } from '../../src/fuse/fuse-types';
import { allowOtherRefusal, fuseMountOptions } from '../../src/fuse/mount-options';
import { findMountedPool, fuseMountAt, isFuseMounted, waitForFuseMount } from '../../src/fuse/proc-mounts';
import { fuseRuntime } from '../../src/fuse/runtime';
import { forceUnmount } from '../../src/fuse/unmount';
import { spawnPassthrough, type PassthroughProcess, type PassthroughStats } from '../../scripts/passthrough';
import { rmrf, tmpDir, withTmpfs } from '../helpers/tmp';


// No skip: the suite runs as root with /dev/fuse (scripts/test.sh, CI); without them it must fail, not pass quietly.
test('the machine can mount FUSE: running as root with /dev/fuse', () => {
  assert.equal(process.getuid?.(), 0, 'run the tests as root (they mount FUSE and tmpfs)');
  assert.ok(fs.existsSync('/dev/fuse'), '/dev/fuse is missing: load the fuse module (modprobe fuse) or pass the device to the container');
});

/** A temp dir with backing/ and mnt/; any mount under it is forced off and the dir removed. */
async function withDirs<T>(fn: (d: { root: string; backing: string; mnt: string }) => Promise<T>): Promise<T> {
  const root = tmpDir('dfs-fuse-');
  const backing = path.join(root, 'backing');
  const mnt = path.join(root, 'mnt');
  fs.mkdirSync(backing);
  fs.mkdirSync(mnt);
  try {
    return await fn({ root, backing, mnt });
  } finally {
    if (isFuseMounted(mnt)) await forceUnmount(mnt);
    rmrf(root);
  }
}

async function readStats(file: string, minWriteBytes: number): Promise<PassthroughStats> {
  // The passthrough writes its stats on flush, which close(2) waits for; poll briefly anyway.
  const deadline = Date.now() + 5000;
  for (;;) {
    const s = JSON.parse(fs.readFileSync(file, 'utf8')) as PassthroughStats;
    if (s.writeBytes >= minWriteBytes || Date.now() > deadline) return s;
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('mount options: big_writes, default_permissions, fsname and subtype always; nosuid and nodev unless asked; ro and allow_other on request', () => {
  const opts = fuseMountOptions({ pool: '/srv/pool' });
  assert.deepEqual(opts.extraOptions, ['big_writes', 'nosuid', 'nodev']);
  assert.deepEqual(fuseMountOptions({ pool: '/srv/pool', suid: true }).extraOptions, ['big_writes', 'suid', 'nodev']);
  assert.deepEqual(fuseMountOptions({ pool: '/srv/pool', suid: true, dev: true }).extraOptions, ['big_writes', 'suid', 'dev']);
  const s = new Fuse('/mnt/nowhere', {}, opts).optionString();
  assert.match(s, /^-o/);
  const list = s.slice(2).split(',');
  for (const o of ['big_writes', 'default_permissions', 'fsname=dynamicfs:/srv/pool', 'subtype=dynamicfs']) assert.ok(list.includes(o), `${o} in ${s}`);
  assert.ok(!list.includes('ro') && !list.includes('allow_other'));

  const ro = new Fuse('/mnt/nowhere', {}, fuseMountOptions({ pool: 'rel/pool', readOnly: true, allowOther: true })).optionString();
  assert.ok(ro.includes(`fsname=dynamicfs:${path.resolve('rel/pool')}`), ro);
  assert.ok(ro.slice(2).split(',').includes('ro') && ro.includes('allow_other'), ro);

  // --allow-other: root always; anyone else only with user_allow_other in /etc/fuse.conf.
  assert.equal(allowOtherRefusal(0, undefined), undefined);
  assert.equal(allowOtherRefusal(1000, '# comment\n  user_allow_other  \n'), undefined);
  assert.match(allowOtherRefusal(1000, '#user_allow_other\nmount_max = 1000\n')!, /only root may .* unless \/etc\/fuse\.conf has a line user_allow_other \(it has none\); add that line as root/);
  assert.match(allowOtherRefusal(1000, undefined)!, /\(there is no \/etc\/fuse\.conf\)/);
  // Asked by the pool's mount.allowOther setting: the flag's refusal word for word, then how to undo the setting.
  assert.equal(allowOtherRefusal(1000, undefined, true), `${allowOtherRefusal(1000, undefined)} (the pool's setting mount.allowOther=true asks for it: `
    + 'mount with --no-allow-other, or dynamicfs config POOL --set mount.allowOther=false)');

  // A comma in the pool path is escaped for libfuse's option parser.
  assert.equal(fuseMountOptions({ pool: '/a,b' }).fsname, 'dynamicfs:/a\\,b');
  assert.throws(() => fuseMountOptions({}), /exactly one of pool or fsname/);
  assert.throws(() => new Fuse('/mnt/x', {}, { extraOptions: ['a,b'] }), /no commas/);
  assert.throws(() => new Fuse('/mnt/x', {}, fuseMountOptions({ pool: '/' + 'p'.repeat(1100) })).optionString(), /over libfuse's 1023/);
});

test('fuse-native runs on the libfuse that npm installed, not a system one', () => {
  const rt = fuseRuntime();
  assert.ok(rt.libfuse && fs.existsSync(rt.libfuse), 'fuse-shared-library ships libfuse');
  assert.ok(rt.shippedFusermount && fs.existsSync(rt.shippedFusermount), 'and fusermount');
  new Fuse('/mnt/nowhere', {}, {}); // loads
  const maps = fs.readFileSync('/proc/self/maps', 'utf8');
  const libs = new Set(maps.split('\n').map((l) => l.split(/\s+/)[5]).filter((p): p is string => !!p && /libfuse/.test(p)));
  assert.deepEqual([...libs], [rt.libfuse], 'exactly the shipped libfuse is mapped');
});

test('passthrough: bytes round-trip, /proc/mounts names it, writes arrive in 128 KiB callbacks', { timeout: 60_000 }, async () => {
  await withDirs(async ({ root, backing, mnt }) => {
    const statsFile = path.join(root, 'stats.json');
    let pt: PassthroughProcess | undefined;
    try {
      pt = await spawnPassthrough(backing, mnt, { stats: statsFile });
      const m = fuseMountAt(mnt);
      assert.ok(m, 'mounted');
      assert.equal(m.source, `passthrough:${backing}`);
      assert.equal(m.type, 'fuse.dynamicfs');
      assert.ok(m.options.split(',').includes('default_permissions'), m.options);
      assert.equal(findMountedPool(mnt), undefined, 'a passthrough is not a pool');

      const data = randomBytes(4 << 20);
      await fs.promises.writeFile(path.join(mnt, 'f.bin'), data);
      assert.ok(data.equals(fs.readFileSync(path.join(backing, 'f.bin'))), 'the backing file has the bytes');
      assert.ok(data.equals(await fs.promises.readFile(path.join(mnt, 'f.bin'))), 'and reads back through the mount');
      assert.deepEqual((await fs.promises.readdir(mnt)).sort(), ['f.bin']);
      assert.equal((await fs.promises.stat(path.join(mnt, 'f.bin'))).size, data.length);

      const stats = await readStats(statsFile, data.length);
      assert.equal(stats.writeBytes, data.length);
      const sizes = Object.keys(stats.writeSizes).map(Number);
      assert.ok(Math.min(...sizes) >= 128 * 1024, `write callbacks of ${JSON.stringify(stats.writeSizes)} bytes: big_writes not in effect`);
      assert.ok(stats.writes <= data.length / (128 * 1024), `${stats.writes} write callbacks for 4 MiB`);

      await fs.promises.unlink(path.join(mnt, 'f.bin'));
      assert.deepEqual(fs.readdirSync(backing), []);
    } finally {
      await pt?.stop();
    }
    assert.ok(!isFuseMounted(mnt), 'SIGTERM unmounts');
  });
});

test('in-process mount of a pool fsname: findMountedPool, ro, unmount through the shipped fusermount', { timeout: 30_000 }, async () => {
  await withDirs(async ({ root, mnt }) => {
    const pool = path.join(root, 'my pool, with a comma');
    const dirStat: FuseStat = { mode: 0o40755, uid: 0, gid: 0, size: 4096, nlink: 2, atime: 0, mtime: 0, ctime: 0 };
    const fuse = new Fuse(mnt, {
      getattr: (p, cb) => (p === '/' ? cb(0, dirStat) : cb(Fuse.ENOENT)),
      readdir: (_p, cb) => cb(0, []),
    }, fuseMountOptions({ pool, readOnly: true }));
    await fuse.mountAsync();
    try {
      assert.equal(findMountedPool(mnt), pool);
      assert.ok(fuseMountAt(mnt)!.options.split(',').includes('ro'));
      // Only async I/O here: this process serves the mount.
      assert.deepEqual(await fs.promises.readdir(mnt), []);
      await assert.rejects(fs.promises.stat(path.join(mnt, 'nope')), { code: 'ENOENT' });
      await assert.rejects(fs.promises.writeFile(path.join(mnt, 'x'), 'x'), { code: 'EROFS' });
      await assert.rejects(new Fuse(mnt, {}, {}).mountAsync(), { code: 'EBUSY' });
    } finally {
      await fuse.unmountAsync();
    }
    assert.ok(!isFuseMounted(mnt));
  });
});

test('a SIGKILLed server leaves a stale mount; forceUnmount removes it and the mountpoint is reusable', { timeout: 60_000 }, async () => {
  await withDirs(async ({ backing, mnt }) => {
    let pt: PassthroughProcess | undefined;
    try {
      pt = await spawnPassthrough(backing, mnt);
      const exited = new Promise((r) => pt!.child.once('exit', r));
      pt.child.kill('SIGKILL');
      await exited;
      assert.ok(isFuseMounted(mnt), 'the mount outlives its server');
      await assert.rejects(fs.promises.readdir(mnt), { code: 'ENOTCONN' });

      const r = await forceUnmount(mnt);
      assert.equal(r.action, 'fusermount -uz');
      assert.equal(r.mountpoint, mnt);
      assert.ok(!isFuseMounted(mnt));
      assert.deepEqual(fs.readdirSync(mnt), [], 'the plain directory is back');
      assert.deepEqual(await forceUnmount(mnt), { mountpoint: mnt, action: 'not-mounted' });

      pt = await spawnPassthrough(backing, mnt);
      await fs.promises.writeFile(path.join(mnt, 'again'), 'ok');
      assert.equal(fs.readFileSync(path.join(backing, 'again'), 'utf8'), 'ok');
    } finally {
      await pt?.stop();
    }
    await waitForFuseMount(mnt, { mounted: false, timeoutMs: 5000 });
  });
});

test('forceUnmount never touches a mount that is not FUSE', async () => {
  await withTmpfs(1 << 20, async (dir) => {
    assert.deepEqual(await forceUnmount(dir), { mountpoint: dir, action: 'not-mounted' });
    assert.ok(fs.readFileSync('/proc/mounts', 'utf8').includes(` ${dir} tmpfs `), 'the tmpfs is still mounted');
  });
});
