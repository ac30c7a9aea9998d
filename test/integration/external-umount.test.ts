/**
 * A mount detached by the operator (`umount MNT`, `umount -l MNT`) rather than through
 * `dynamicfs unmount`: the coordinator notices its FUSE session ended, commits what was
 * pending, releases the pool, logs why it stopped and exits 0; the pool mounts again at
 * once, with every file written before the detach intact.
 */
import { test } from 'node:test';
import { writeSynced } from '../helpers/files';
import assert from 'node:assert/strict';
import { spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runFiles } from '../../src/rpc/run-files';
import { fails, ok } from '../helpers/cli';
import { BIN, isMounted, makePool, startCoordinator, stopCoordinator } from '../helpers/mount';
import { withTmpDir } from '../helpers/tmp';

const ENDED = (mnt: string): string => `${mnt} was unmounted outside dynamicfs (umount or fusermount -u): the FUSE session ended`;
const DETACHED = 'the mount was detached outside dynamicfs (umount -l?) while files there are still open; serving them until they close';

async function waitFor(cond: () => boolean, what: string, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/** The coordinator's log records (JSON lines) with message `msg`. */
function logged(pool: string, msg: string): Array<Record<string, unknown>> {
  return fs.readFileSync(runFiles(pool).log, 'utf8').split('\n').filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>).filter((r) => r.msg === msg);
}

/** Cleanup: the daemonised coordinator of the remount, stopped the normal way. */
function unmountRemount(mnt: string): void {
  spawnSync(process.execPath, [BIN, 'unmount', mnt], { timeout: 60_000 });
}


/** The coordinator exited 0 of itself, saying why, and the pool's lock is free: `dynamicfs mount` works again. */
async function assertStoppedByUmount(pool: string, mnt: string, child: ChildProcess, output: () => string): Promise<void> {
  await waitFor(() => exited(child), 'the coordinator to exit after the umount');
  assert.equal(child.exitCode, 0, output());
  assert.match(output(), new RegExp(`unmounted ${pool} from ${mnt} \\(${ENDED(mnt).replace(/[()]/g, '\\$&')}\\)`));
  assert.deepEqual(logged(pool, 'coordinator stopping').map((r) => r.reason), [ENDED(mnt)]);
  assert.deepEqual(logged(pool, 'coordinator stopped').map((r) => [r.reason, r.clean]), [[ENDED(mnt), true]]);
  assert.equal(isMounted(mnt), false);
  assert.equal(fs.existsSync(runFiles(pool).pid), false, 'the pid file is gone');
  ok('mount', pool, mnt);
}

test('a plain umount of the mount stops the coordinator cleanly; fsync\'d and closed files survive', async () => {
  await withTmpDir(async (root) => {
    const { pool } = makePool(root);
    const mnt = path.join(root, 'mnt');
    const c = await startCoordinator(pool, mnt);
    try {
      const want = new Map<string, Buffer>([
        ['fsynced.bin', randomBytes(3 * 1024 * 1024 + 5)],
        ['closed.bin', randomBytes(5 * 1024 * 1024 + 17)], // two extents
        ['dir/small.txt', Buffer.from('only closed, never fsynced')],
        ['dir/renamed.txt', Buffer.from('renamed after close')],
        ['last.bin', randomBytes(8 * 1024 * 1024)], // still to commit when the umount comes
      ]);
      writeSynced(path.join(mnt, 'fsynced.bin'), want.get('fsynced.bin')!);
      fs.writeFileSync(path.join(mnt, 'closed.bin'), want.get('closed.bin')!);
      fs.mkdirSync(path.join(mnt, 'dir'));
      fs.writeFileSync(path.join(mnt, 'dir/small.txt'), want.get('dir/small.txt')!);
      fs.writeFileSync(path.join(mnt, 'dir/old-name.txt'), want.get('dir/renamed.txt')!);
      fs.renameSync(path.join(mnt, 'dir/old-name.txt'), path.join(mnt, 'dir/renamed.txt'));
      fs.writeFileSync(path.join(mnt, 'last.bin'), want.get('last.bin')!);

      const u = spawnSync('umount', [mnt], { encoding: 'utf8' });
      assert.equal(u.status, 0, u.stderr);
      await assertStoppedByUmount(pool, mnt, c.child, c.output);

      assert.deepEqual(fs.readdirSync(mnt).sort(), ['closed.bin', 'dir', 'fsynced.bin', 'last.bin']);
      assert.deepEqual(fs.readdirSync(path.join(mnt, 'dir')).sort(), ['renamed.txt', 'small.txt']);
      for (const [name, data] of want) assert.ok(fs.readFileSync(path.join(mnt, name)).equals(data), `${name} reads back identical`);
    } finally {
      if (isMounted(mnt) && exited(c.child)) unmountRemount(mnt);
      await stopCoordinator(mnt, c.child);
    }
  });
});

test('umount -l with a file still open: the coordinator serves it until it is closed, then stops cleanly', async () => {
  await withTmpDir(async (root) => {
    const { pool } = makePool(root);
    const mnt = path.join(root, 'mnt');
    const c = await startCoordinator(pool, mnt);
    let fd: number | undefined;
    try {
      const before = randomBytes(2 * 1024 * 1024);
      const after = randomBytes(1024 * 1024 + 3);
      const closed = Buffer.from('closed before the detach');
      fs.writeFileSync(path.join(mnt, 'closed.txt'), closed);
      fd = fs.openSync(path.join(mnt, 'held.bin'), 'w');
      fs.writeSync(fd, before);

      // A plain umount refuses a busy mount; a lazy one takes it out of the namespace at once.
      assert.equal(spawnSync('umount', [mnt]).status, 32, 'umount: target is busy');
      assert.equal(spawnSync('umount', ['-l', mnt]).status, 0);
      assert.equal(isMounted(mnt), false);
      await waitFor(() => logged(pool, DETACHED).length === 1, 'the coordinator to notice the detach');
      assert.equal(exited(c.child), false, 'the open file keeps the session, and the coordinator, alive');
      const busy = fails('EPOOLBUSY', ['mount', pool, mnt]);
      assert.equal(busy.message, `pool ${pool} is still served by its coordinator (PID ${c.child.pid}): its mount at ${mnt} was detached `
        + '(umount -l) but files there are still open; it stops once they are closed');

      // The open file still works; closing it ends the session.
      fs.writeSync(fd, after);
      fs.fsyncSync(fd);
      fs.closeSync(fd);
      fd = undefined;
      await assertStoppedByUmount(pool, mnt, c.child, c.output);

      assert.deepEqual(fs.readdirSync(mnt).sort(), ['closed.txt', 'held.bin']);
      assert.ok(fs.readFileSync(path.join(mnt, 'held.bin')).equals(Buffer.concat([before, after])), 'held.bin: written before and after the detach');
      assert.ok(fs.readFileSync(path.join(mnt, 'closed.txt')).equals(closed));
    } finally {
      if (fd !== undefined) fs.closeSync(fd);
      if (isMounted(mnt) && exited(c.child)) unmountRemount(mnt);
      await stopCoordinator(mnt, c.child);
    }
  });
});
