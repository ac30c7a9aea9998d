/**
 * /.snapshots through Vfs without FUSE: every change is EROFS (the ones the kernel answers
 * itself through a mount too), handles of snapshot files and live files never share a
 * number, and inode numbers stay apart per snapshot and from the live tree.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Engine } from '../../../src/engine/engine';
import { DfsError } from '../../../src/errors';
import { createSnapshot } from '../../../src/fs/snapshots';
import { SNAPSHOT_INO_BASE, SnapshotInos } from '../../../src/fs/snapshot-inos';
import { Vfs } from '../../../src/fs/vfs';
import { dirPool } from '../../helpers/dir-pool';
import { withTmpDir } from '../../helpers/tmp';

const ES = 65536;
const root = { uid: 0, gid: 0 };
const code = (c: string) => (e: unknown) => {
  assert.ok(e instanceof DfsError, String(e));
  assert.equal(e.code, c, e.message);
  return true;
};

async function withVfs(fn: (vfs: Vfs, engine: Engine) => Promise<void>): Promise<void> {
  await withTmpDir(async (dir) => {
    const { engine } = dirPool(dir, [0, 1, 2], { extentSize: ES, policy: 'rs:2+1' });
    try {
      await fn(new Vfs(engine), engine);
    } finally {
      await engine.close();
    }
  });
}

async function write(vfs: Vfs, p: string, data: Buffer): Promise<void> {
  const fd = vfs.create(p, 0o644, root);
  await vfs.write(fd, data, 0);
  await vfs.release(fd);
}

test('every change under /.snapshots and of /.snapshots itself is EROFS, and nothing changes', async () => {
  await withVfs(async (vfs, engine) => {
    vfs.mkdir('/d', 0o755, root);
    await write(vfs, '/d/f', Buffer.from('kept'));
    await createSnapshot(engine, 's');
    const gen = engine.meta.generation();
    const refused: [string, () => unknown][] = [
      ['mkdir /.snapshots', () => vfs.mkdir('/.snapshots', 0o755, root)],
      ['create /.snapshots', () => vfs.create('/.snapshots', 0o644, root)],
      ['rmdir /.snapshots', () => vfs.rmdir('/.snapshots')],
      ['mkdir a snapshot', () => vfs.mkdir('/.snapshots/new', 0o755, root)],
      ['rmdir a snapshot', () => vfs.rmdir('/.snapshots/s')],
      ['create', () => vfs.create('/.snapshots/s/d/g', 0o644, root)],
      ['mkdir', () => vfs.mkdir('/.snapshots/s/d/e', 0o755, root)],
      ['mknod', () => vfs.mknod('/.snapshots/s/fifo', 0o010644, 0, root)],
      ['symlink', () => vfs.symlink('x', '/.snapshots/s/l', root)],
      ['link into', () => vfs.link('/d/f', '/.snapshots/s/f2')],
      ['link out of', () => vfs.link('/.snapshots/s/d/f', '/f2')],
      ['chmod', () => vfs.chmod('/.snapshots/s/d/f', 0o777)],
      ['chown', () => vfs.chown('/.snapshots/s/d/f', 1, 1)],
      ['setxattr', () => vfs.setxattr('/.snapshots/s/d/f', 'user.x', Buffer.from('y'))],
      ['removexattr', () => vfs.removexattr('/.snapshots/s/d/f', 'user.x')],
      ['open for writing', () => vfs.open('/.snapshots/s/d/f', 2)],
    ];
    for (const [what, op] of refused) assert.throws(op, code('EROFS'), what);
    const refusedAsync: [string, () => Promise<unknown>][] = [
      ['unlink', () => vfs.unlink('/.snapshots/s/d/f')],
      ['rename within', () => vfs.rename('/.snapshots/s/d/f', '/.snapshots/s/d/g')],
      ['rename into', () => vfs.rename('/d/f', '/.snapshots/s/d/g')],
      ['rename out of', () => vfs.rename('/.snapshots/s/d/f', '/g')],
      ['rename /.snapshots', () => vfs.rename('/.snapshots', '/snaps')],
      ['truncate', () => vfs.truncate('/.snapshots/s/d/f', 0)],
      ['utimens', () => vfs.utimens('/.snapshots/s/d/f', 'now', 'now')],
    ];
    for (const [what, op] of refusedAsync) await assert.rejects(op(), code('EROFS'), what);
    assert.equal(engine.meta.generation(), gen, 'no transaction was made');

    // A handle on a snapshot file reads it; writes through it are refused; handle numbers never collide with live ones.
    const snapFd = vfs.open('/.snapshots/s/d/f', 0);
    const liveFd = vfs.open('/d/f', 0);
    assert.notEqual(snapFd, liveFd);
    const buf = Buffer.alloc(10);
    assert.equal(await vfs.read(snapFd, buf, 0), 4);
    assert.equal(buf.subarray(0, 4).toString(), 'kept');
    await assert.rejects(vfs.write(snapFd, Buffer.from('x'), 0), code('EBADF'));
    await assert.rejects(vfs.ftruncate(snapFd, 0), code('EBADF'));
    assert.equal(vfs.fgetattr(snapFd).ino, vfs.getattr('/.snapshots/s/d/f').ino);
    await vfs.release(snapFd);
    await vfs.release(liveFd);
    assert.throws(() => vfs.fgetattr(snapFd), code('EBADF'));
  });
});

test('inode numbers: one per (snapshot, inode), apart from the live tree\'s and from /.snapshots, forgotten with a deleted snapshot', () => {
  const inos = new SnapshotInos();
  const a = inos.of(1, 1), b = inos.of(1, 7), c = inos.of(2, 7);
  assert.equal(inos.of(1, 7), b, 'stable');
  assert.equal(new Set([a, b, c, inos.top]).size, 4);
  for (const n of [a, b, c]) assert.ok(n > SNAPSHOT_INO_BASE && n < 2 ** 32, `${n} fits the 32 bits fuse-native passes, above live inode numbers`);
  inos.keepOnly(new Set([2]));
  assert.equal(inos.size, 1);
  assert.equal(inos.of(2, 7), c);
});
