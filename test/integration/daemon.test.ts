/**
 * The coordinator and its admin socket, through the real CLI: with a coordinator
 * running, every command goes over POOL/run/admin.sock and answers exactly as offline
 * mode does; what cannot travel (stdin, stdout) is refused with EPOOLSERVED; a killed
 * coordinator leaves a stale socket, pid file (and mount) that the next start detects and
 * replaces, recovering what it left behind; garbage on the socket never stops it.
 * `dynamicfs serve` (a coordinator without a mount) covers the socket; the FUSE test
 * covers mount/unmount.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { encodeFrame, FrameReader, MAX_REPLY_BYTES } from '../../src/rpc/frame';
import { processAlive, readPidFile, runFiles } from '../../src/rpc/run-files';
import { openEngine } from '../../src/engine/open';
import { isFuseMounted } from '../../src/fuse/proc-mounts';
import { ROOT_INO } from '../../src/meta/store';
import { readAuditLog } from '../../src/log/audit';
import { BIN, dfs, fails, holdPool, makePool, ok, run, type Json } from '../helpers/cli';
import { cleanupPool, startServe, stopChild, waitGone } from '../helpers/daemon';
import { withTmpDir } from '../helpers/tmp';

/** Space figures move between two calls (the disks share the test machine's filesystem). */
/** Fields that change between two asks whoever answers: free space, and the age of each disk's metadata checkpoint. */
const VARYING = ['capacityBytes', 'usedBytes', 'freeBytes', 'checkpointAgeSeconds'];
function withoutSpace(v: Json): Json {
  return JSON.parse(JSON.stringify(v), (k, x) => (VARYING.includes(k) ? undefined : x)) as Json;
}

/** What the read-only verbs answer, as JSON. */
function views(pool: string): Json {
  return withoutSpace({
    status: ok('status', pool),
    disks: ok('disks', pool),
    root: ok('ls', pool),
    dir: ok('ls', pool, '/a'),
    stat: ok('stat', pool, '/a/big.bin'),
    gc: ok('gc', pool, '--dry-run'),
  });
}

/** Fragment files on the pool's disks. */
function fragmentFiles(disks: string[]): string[] {
  return disks.flatMap((d) => {
    const frags = path.join(d, 'frags');
    return fs.existsSync(frags) ? (fs.readdirSync(frags, { recursive: true }) as string[]).filter((f) => /\.\d+$/.test(f)).map((f) => path.join(frags, f)) : [];
  });
}

test('with a coordinator running, CLI commands go through its socket and answer exactly as offline', async () => {
  await withTmpDir(async (root) => {
    const { pool } = makePool(root, 6);
    const big = path.join(root, 'big.bin');
    fs.writeFileSync(big, randomBytes(5 * 1024 * 1024 + 123)); // two extents, the second one partial
    fs.writeFileSync(path.join(root, 'small.txt'), 'hello, coordinator');
    ok('mkdir', pool, '/a');
    ok('put', pool, big, '/a/big.bin');
    const offline = views(pool);
    const files = runFiles(pool);
    const served = await startServe(pool);
    try {
      assert.equal(readPidFile(files.pid), served.pid);
      assert.ok(fs.statSync(files.socket).isSocket());
      assert.equal(fs.statSync(files.socket).mode & 0o777, 0o600, 'only the owner may drive the pool');

      assert.deepEqual(views(pool), offline, 'same answers through the socket');
      const log = fs.readFileSync(files.log, 'utf8');
      for (const op of ['status', 'disks', 'ls', 'stat', 'gc']) assert.match(log, new RegExp(`"op":"${op}"`), `${op} ran in the coordinator`);

      // The lock is the guard: the coordinator holds it, so a direct opener is refused.
      await assert.rejects(holdPool(pool), /EPOOLBUSY|in use by PID/);

      const out = path.join(root, 'out.bin');
      assert.equal(ok('get', pool, '/a/big.bin', out).bytes, fs.statSync(big).size);
      assert.ok(fs.readFileSync(out).equals(fs.readFileSync(big)));

      // Changes, with local paths relative to the caller's directory (not the coordinator's).
      assert.deepEqual(ok('mkdir', pool, '/b/c', '-p').created, ['/b', '/b/c']);
      const rel = spawnSync(process.execPath, [BIN, 'put', pool, 'small.txt', '/b/c', '--json'], { cwd: root, encoding: 'utf8' });
      assert.equal(rel.status, 0, rel.stdout + rel.stderr);
      assert.equal(JSON.parse(rel.stdout).path, '/b/c/small.txt');
      const relGet = spawnSync(process.execPath, [BIN, 'get', pool, '/b/c/small.txt', 'back.txt', '--json'], { cwd: root, encoding: 'utf8' });
      assert.equal(relGet.status, 0, relGet.stdout + relGet.stderr);
      assert.equal(fs.readFileSync(path.join(root, 'back.txt'), 'utf8'), 'hello, coordinator');
      assert.equal(ok('mv', pool, '/a/big.bin', '/b').to, '/b/big.bin');
      assert.equal(ok('rm', pool, '/a', '-r').dirs, 1);

      // Errors come back with their codes and paths.
      assert.equal(fails('ENOENT', ['stat', pool, '/nope']).path, '/nope');
      fails('EEXIST', ['mkdir', pool, '/b']);
      assert.equal(fails('EINVAL', ['mkdir', pool, 'x//y', '-p']).path, 'x//y');
      fails('ENOENT', ['put', pool, path.join(root, 'missing'), '/m']);

      // stdin and stdout cannot cross the socket.
      const e = fails('EPOOLSERVED', ['put', pool, '-', '/from-stdin']);
      assert.equal(e.pid, served.pid);
      assert.match(e.message, new RegExp(`served by its coordinator \\(PID ${served.pid}\\).*stdin`));
      const toStdout = run(['get', pool, '/b/c/small.txt', '-']);
      assert.equal(toStdout.code, 1);
      assert.equal(toStdout.stdout, '');
      assert.match(toStdout.stderr, /served by its coordinator.*get it into a local file/);

      // A second coordinator is refused, naming the first.
      const second = fails('EPOOLBUSY', ['serve', pool]);
      assert.equal(second.pid, served.pid);

      await stopChild(served.child, 'SIGTERM');
      assert.equal(await served.exited, 0);
      const stopped = JSON.parse(served.stdout()) as Json;
      assert.deepEqual({ ok: stopped.ok, pid: stopped.pid, stoppedBy: stopped.stoppedBy, mountpoint: stopped.mountpoint }, { ok: true, pid: served.pid, stoppedBy: 'SIGTERM', mountpoint: null });
      assert.ok(!fs.existsSync(files.socket), 'socket removed');
      assert.ok(!fs.existsSync(files.pid), 'pid file removed');
    } finally {
      await stopChild(served.child, 'SIGKILL');
      await cleanupPool(pool);
    }
    // Offline again: the changes made through the coordinator are there.
    assert.deepEqual((ok('ls', pool).entries as Json[]).map((x) => x.name), ['b']);
    assert.deepEqual((ok('ls', pool, '/b').entries as Json[]).map((x) => x.name), ['big.bin', 'c']);
    const again = path.join(root, 'again.bin');
    ok('get', pool, '/b/big.bin', again);
    assert.ok(fs.readFileSync(again).equals(fs.readFileSync(big)));
  });
});

test('after SIGKILL: offline commands work, and the next coordinator replaces the stale socket and pid file and recovers leftovers', async () => {
  await withTmpDir(async (root) => {
    const { pool, disks } = makePool(root, 6);
    const files = runFiles(pool);
    const data = path.join(root, 'data.bin');
    fs.writeFileSync(data, randomBytes(3 * 1024 * 1024));
    let served = await startServe(pool);
    try {
      ok('put', pool, data, '/kept.bin');
      served.child.kill('SIGKILL');
      assert.equal(await served.exited, 'SIGKILL');
      assert.ok(fs.existsSync(files.socket) && fs.existsSync(files.pid), 'a killed coordinator leaves its socket and pid file');

      // Nobody answers on the stale socket: the CLI opens the pool itself.
      assert.equal(ok('status', pool).namespace.files, 1);
      ok('put', pool, data, '/doomed.bin');
      const before = fragmentFiles(disks);
      const doomedFragments = ok('stat', pool, '/doomed.bin').fragments as number;
      assert.ok(doomedFragments > 0);

      // What a crash leaves: a file unlinked while open (nlink 0, extents kept) and a temp file.
      const engine = openEngine(pool);
      try {
        engine.meta.transact((tx) => {
          const ino = engine.meta.lookup(ROOT_INO, 'doomed.bin')!;
          tx.unlink(ROOT_INO, 'doomed.bin');
          tx.putInode({ ...engine.meta.getInode(ino)!, nlink: 0 });
        });
        assert.equal(engine.meta.unlinkedInodes().length, 1);
      } finally {
        await engine.close();
      }
      fs.mkdirSync(path.join(disks[0]!, 'tmp'), { recursive: true });
      const leftover = path.join(disks[0]!, 'tmp', 'crashed-write.tmp');
      fs.writeFileSync(leftover, 'half a fragment');

      served = await startServe(pool);
      assert.equal(readPidFile(files.pid), served.pid, 'pid file replaced');
      const log = fs.readFileSync(files.log, 'utf8');
      assert.match(log, /replacing the pid file of a coordinator that is gone/);
      assert.match(log, /removing a stale admin socket/);
      assert.match(log, /dropped inodes that were unlinked while open/);
      assert.ok(!fs.existsSync(leftover), 'temp file left by the crash removed');
      assert.equal(fragmentFiles(disks).length, before.length - doomedFragments, 'the unlinked file\'s fragments are gone');
      const status = ok('status', pool);
      assert.equal(status.namespace.files, 1);
      assert.equal(status.extents.unrecoverable, 0);
      const out = path.join(root, 'out.bin');
      ok('get', pool, '/kept.bin', out);
      assert.ok(fs.readFileSync(out).equals(fs.readFileSync(data)));
      await stopChild(served.child, 'SIGTERM');
      assert.equal(await served.exited, 0);
    } finally {
      await stopChild(served.child, 'SIGKILL');
      await cleanupPool(pool);
    }
  });
});

/** A raw connection to the admin socket that collects decoded replies. */
class RawClient {
  readonly replies: Json[] = [];
  closed = false;
  private readonly reader = new FrameReader(MAX_REPLY_BYTES);
  private constructor(readonly socket: net.Socket) {
    socket.on('data', (b: Buffer) => {
      for (const f of this.reader.push(b)) this.replies.push(f.ok ? (f.value as Json) : { decodeError: f.error.message });
    });
    socket.on('close', () => { this.closed = true; });
    socket.on('error', () => undefined);
  }

  static connect(socketPath: string): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = net.connect(socketPath, () => resolve(new RawClient(s)));
      s.once('error', reject);
    });
  }

  async waitFor(n: number, timeoutMs = 10_000): Promise<Json[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.replies.length < n) {
      if (Date.now() > deadline) throw new Error(`only ${this.replies.length} of ${n} replies: ${JSON.stringify(this.replies)}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    return this.replies.splice(0, n);
  }
}

test('malformed frames get error replies and never stop the coordinator; requests on one connection run concurrently', async () => {
  await withTmpDir(async (root) => {
    const { pool } = makePool(root, 6);
    const served = await startServe(pool);
    const socketPath = runFiles(pool).socket;
    try {
      const c = await RawClient.connect(socketPath);
      const notMsgpack = Buffer.from([0, 0, 0, 2, 0xc1, 0xc1]);
      c.socket.write(notMsgpack);
      let [r] = await c.waitFor(1);
      assert.deepEqual([r!.id, r!.ok, r!.error.code], [null, false, 'EPROTO']);

      c.socket.write(encodeFrame([1, 2, 3]));
      [r] = await c.waitFor(1);
      assert.deepEqual([r!.id, r!.error.code], [null, 'EPROTO']);

      c.socket.write(encodeFrame({ id: 5, op: 42 }));
      [r] = await c.waitFor(1);
      assert.deepEqual([r!.id, r!.error.code], [5, 'EPROTO']);

      c.socket.write(encodeFrame({ id: 6, op: 'frobnicate', args: {} }));
      [r] = await c.waitFor(1);
      assert.deepEqual([r!.id, r!.error.code], [6, 'EINVAL']);
      assert.match(r!.error.message, /unknown admin operation "frobnicate"/);

      c.socket.write(encodeFrame({ id: 7, op: 'mkdir', args: { path: 42 } }));
      [r] = await c.waitFor(1);
      assert.deepEqual([r!.id, r!.error.code], [7, 'EINVAL']);
      assert.match(r!.error.message, /"path" must be a string/);

      c.socket.write(encodeFrame({ id: 8, op: 'put', args: { src: 'relative/file', dest: '/x' } }));
      [r] = await c.waitFor(1);
      assert.deepEqual([r!.id, r!.error.code], [8, 'EINVAL']);
      assert.match(r!.error.message, /absolute path/);

      // Three requests in one write, and one frame dribbled in byte by byte.
      c.socket.write(Buffer.concat([
        encodeFrame({ id: 10, op: 'ls', args: { path: '/' } }),
        encodeFrame({ id: 11, op: 'status', args: {} }),
        encodeFrame({ id: 12, op: 'stat', args: { path: '/nope' } }),
      ]));
      const slow = encodeFrame({ id: 13, op: 'ping', args: {} });
      for (const byte of slow) c.socket.write(Buffer.from([byte]));
      const byId = new Map((await c.waitFor(4)).map((x) => [x.id as number, x]));
      assert.deepEqual([...byId.keys()].sort((a, b) => a - b), [10, 11, 12, 13]);
      assert.equal(byId.get(10)!.data.path, '/');
      assert.equal(byId.get(11)!.data.pool, pool);
      assert.equal(byId.get(12)!.error.code, 'ENOENT');
      assert.equal(byId.get(13)!.data.pid, served.pid);

      // A length no request can have: an error reply, then that connection (only) is closed.
      const huge = await RawClient.connect(socketPath);
      huge.socket.write(Buffer.from([0xff, 0xff, 0xff, 0xff, 1, 2, 3]));
      [r] = await huge.waitFor(1);
      assert.equal(r!.error.code, 'EPROTO');
      for (let i = 0; i < 200 && !huge.closed; i++) await new Promise((res) => setTimeout(res, 10));
      assert.ok(huge.closed, 'the connection with broken framing is closed');

      // Half a frame, then the client vanishes.
      const half = await RawClient.connect(socketPath);
      half.socket.write(encodeFrame({ id: 1, op: 'status', args: {} }).subarray(0, 9));
      half.socket.destroy();

      assert.ok(processAlive(served.pid), 'the coordinator is still running');
      assert.equal(ok('status', pool).pool, pool);
      c.socket.write(encodeFrame({ id: 14, op: 'ping', args: {} }));
      [r] = await c.waitFor(1);
      assert.equal(r!.data.pid, served.pid, 'the first connection still works');
      c.socket.destroy();

      await stopChild(served.child, 'SIGTERM');
      assert.equal(await served.exited, 0);
    } finally {
      await stopChild(served.child, 'SIGKILL');
      await cleanupPool(pool);
    }
  });
});

// No skip when FUSE is missing: CI runs as root with /dev/fuse, and a silent skip would hide a broken mount.
test('mount daemonises and unmount stops it; a killed coordinator\'s stale mount is recovered', async () => {
  await withTmpDir(async (root) => {
    const { pool } = makePool(root, 6);
    const mnt = path.join(root, 'mnt');
    const other = path.join(root, 'mnt2');
    fs.mkdirSync(mnt);
    fs.mkdirSync(other);
    const files = runFiles(pool);
    try {
      // Bad mountpoints and pools: clear errors, nothing left running.
      assert.match(fails('ENOENT', ['mount', pool, path.join(root, 'nowhere')]).message, /does not exist/);
      fs.writeFileSync(path.join(root, 'file'), 'x');
      fails('ENOTDIR', ['mount', pool, path.join(root, 'file')]);
      const full = path.join(root, 'full');
      fs.mkdirSync(full);
      fs.writeFileSync(path.join(full, 'keep'), 'mine');
      assert.match(fails('ENOTEMPTY', ['mount', pool, full]).message, /not empty/);
      fails('ENOTPOOL', ['mount', path.join(root, 'no-pool'), mnt]);
      fails('ENOTMOUNTED', ['unmount', mnt]);
      assert.ok(!fs.existsSync(files.pid) && !isFuseMounted(mnt));

      const m = ok('mount', pool, mnt);
      assert.deepEqual([m.pool, m.mountpoint, m.log], [pool, mnt, files.log]);
      assert.ok(isFuseMounted(mnt));
      assert.equal(readPidFile(files.pid), m.pid);
      assert.equal(fails('EPOOLBUSY', ['mount', pool, other]).pid, m.pid, 'EPOOLBUSY names the coordinator');

      // The mount and the CLI (over the socket) see one pool.
      const small = path.join(root, 'small.txt');
      fs.writeFileSync(small, 'through the socket');
      ok('put', pool, small, '/via-cli.txt');
      assert.equal(fs.readFileSync(path.join(mnt, 'via-cli.txt'), 'utf8'), 'through the socket');
      fs.writeFileSync(path.join(mnt, 'via-mount.txt'), 'through FUSE');
      assert.equal(ok('stat', pool, '/via-mount.txt').size, 'through FUSE'.length);

      const u = ok('unmount', mnt);
      assert.deepEqual([u.pid, u.forced, u.pool], [m.pid, false, pool]);
      assert.ok(!processAlive(m.pid), 'unmount waits for the coordinator to exit');
      assert.ok(!isFuseMounted(mnt));
      assert.ok(!fs.existsSync(files.socket) && !fs.existsSync(files.pid));
      const back = path.join(root, 'back.txt');
      ok('get', pool, '/via-mount.txt', back); // offline: the pool is free again
      assert.equal(fs.readFileSync(back, 'utf8'), 'through FUSE');

      // SIGKILL leaves a stale mount; the next mount detects it and replaces everything.
      const m2 = ok('mount', pool, mnt);
      process.kill(m2.pid, 'SIGKILL');
      await waitGone(m2.pid);
      assert.ok(isFuseMounted(mnt), 'the kernel still lists the dead mount');
      assert.throws(() => fs.readdirSync(mnt), /ENOTCONN|ECONNABORTED/);
      assert.equal(ok('ls', pool).entries.length, 2, 'offline commands work while the stale mount sits there');
      const m3 = ok('mount', pool, mnt);
      assert.notEqual(m3.pid, m2.pid);
      assert.deepEqual(fs.readdirSync(mnt).sort(), ['via-cli.txt', 'via-mount.txt']);
      assert.match(fs.readFileSync(files.log, 'utf8'), /detached a stale FUSE mount/);

      // Killed again: unmount finds nobody serving the mount and detaches it by force.
      process.kill(m3.pid, 'SIGKILL');
      await waitGone(m3.pid);
      const forced = ok('unmount', mnt);
      assert.deepEqual([forced.forced, forced.pid], [true, null]);
      assert.ok(!isFuseMounted(mnt));
      assert.equal(dfs('status', pool).code, 0);
    } finally {
      await cleanupPool(pool, [mnt, other]);
    }
  });
});

test('a request id follows the job it starts: in the audit entry, the job\'s params, and every job log line', async () => {
  await withTmpDir(async (root) => {
    const { pool } = makePool(root);
    const local = path.join(root, 'f');
    fs.writeFileSync(local, randomBytes(300_000));
    ok('put', pool, local, '/f');
    const served = await startServe(pool);
    try {
      const scrub = ok('scrub', pool); // runs in the coordinator; this waits for it
      const job = ok('jobs', pool).jobs.find((j: Json) => j.kind === 'scrub');
      assert.ok(job, `a scrub job: ${JSON.stringify(scrub)}`);
      assert.equal(job.state, 'done');
      const audit = readAuditLog(path.join(runFiles(pool).dir, 'audit.log')).find((e) => e.via === 'socket' && e.op === 'scrub')!;
      assert.match(audit.reqId!, /^[0-9a-f]{12}$/);
      assert.equal(job.params.reqId, audit.reqId, 'the job keeps the request id');
      const lines = fs.readFileSync(runFiles(pool).log, 'utf8').split('\n').filter((l) => l.includes('"msg":"job state"')).map((l) => JSON.parse(l) as Json);
      const mine = lines.filter((l) => l.job === job.id);
      assert.deepEqual(mine.map((l) => [l.kind, l.state, l.reqId]), [['scrub', 'queued', audit.reqId], ['scrub', 'running', audit.reqId], ['scrub', 'done', audit.reqId]]);
    } finally {
      await stopChild(served.child);
    }
  });
});
