/** Vfs without FUSE: contents, holes, truncate, links, rename, xattrs — against a model in memory. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import type { Engine } from '../../../src/engine/engine';
import { DfsError } from '../../../src/errors';
import { getFile } from '../../../src/fs/files';
import { Vfs } from '../../../src/fs/vfs';
import { Rng } from '../../helpers/random';
import { dirPool } from '../../helpers/dir-pool';
import { withTmpDir } from '../../helpers/tmp';

const ES = 65536;
const root = { uid: 0, gid: 0 };

async function withVfs(fn: (vfs: Vfs, engine: Engine, dir: string) => Promise<void>): Promise<void> {
  await withTmpDir(async (dir) => {
    const { engine } = dirPool(dir, [0, 1, 2], { extentSize: ES, policy: 'rs:2+1' });
    try {
      await fn(new Vfs(engine), engine, dir);
    } finally {
      await engine.close();
    }
  });
}

async function readAll(vfs: Vfs, p: string): Promise<Buffer> {
  const fd = vfs.open(p, 0);
  try {
    const size = vfs.getattr(p).size;
    const out = Buffer.alloc(size);
    let got = 0;
    while (got < size) {
      const n = await vfs.read(fd, out.subarray(got, Math.min(size, got + 131072)), got);
      assert.ok(n > 0);
      got += n;
    }
    return out;
  } finally {
    await vfs.release(fd);
  }
}

const code = (c: string) => (e: unknown) => e instanceof DfsError && e.code === c;

test('random writes, holes and truncates match an in-memory model, before and after commit', async () => {
  await withVfs(async (vfs, engine) => {
    const rng = new Rng();
    let model = Buffer.alloc(0);
    const fd = vfs.create('/f', 0o644, root);
    for (let step = 0; step < 60; step++) {
      const op = rng.int(0, 9);
      if (op < 7) {
        const pos = rng.int(0, 5 * ES);
        const data = rng.bytes(rng.pick([1, 100, 4096, ES - 1, ES, ES + 7, 3 * ES]));
        await vfs.write(fd, data, pos);
        if (pos + data.length > model.length) model = Buffer.concat([model, Buffer.alloc(pos + data.length - model.length)]);
        data.copy(model, pos);
      } else if (op < 9) {
        const size = rng.int(0, 6 * ES);
        await vfs.ftruncate(fd, size);
        model = size <= model.length ? Buffer.from(model.subarray(0, size)) : Buffer.concat([model, Buffer.alloc(size - model.length)]);
      } else {
        await vfs.flush(fd);
      }
      assert.equal(vfs.getattr('/f').size, model.length, `seed ${rng.seed} step ${step}`);
      if (step % 10 === 9) assert.deepEqual(await readAll(vfs, '/f'), model, `seed ${rng.seed} step ${step}`);
    }
    await vfs.release(fd);
    assert.deepEqual(await readAll(vfs, '/f'), model, `seed ${rng.seed} after release`);
    // The committed file reads the same through the CLI's path (holes become zeros there too).
    const chunks: Buffer[] = [];
    const { Writable } = await import('node:stream');
    await getFile(engine, vfs.getattr('/f').ino, new Writable({ write(c, _e, cb) { chunks.push(c); cb(); } }));
    assert.deepEqual(Buffer.concat(chunks), model);
  });
});

test('an unlinked file stays readable until its last release, then its data goes', async () => {
  await withVfs(async (vfs, engine, dir) => {
    const data = Buffer.alloc(3 * ES + 5, 7);
    const fd = vfs.create('/gone', 0o644, root);
    await vfs.write(fd, data, 0);
    await vfs.flush(fd);
    const frags = () => fs.readdirSync(dir, { recursive: true }).filter((f) => /frags\/.*\.\d+$/.test(String(f))).length;
    assert.ok(frags() > 0);
    await vfs.unlink('/gone');
    assert.throws(() => vfs.getattr('/gone'), code('ENOENT'));
    const back = Buffer.alloc(data.length);
    assert.equal(await vfs.read(fd, back, 0), data.length);
    assert.deepEqual(back, data);
    await vfs.release(fd);
    assert.equal(frags(), 0, 'the last release freed the data');
    assert.deepEqual(engine.meta.unlinkedInodes(), []);
  });
});

test('hard links share contents; rename replaces atomically; rmdir and errors', async () => {
  await withVfs(async (vfs) => {
    vfs.mkdir('/d', 0o755, root);
    const fd = vfs.create('/d/a', 0o600, root);
    await vfs.write(fd, Buffer.from('hello'), 0);
    await vfs.release(fd);
    vfs.link('/d/a', '/b');
    assert.equal(vfs.getattr('/b').nlink, 2);
    await vfs.unlink('/d/a');
    assert.equal(vfs.getattr('/b').nlink, 1);
    assert.deepEqual(await readAll(vfs, '/b'), Buffer.from('hello'));

    const fd2 = vfs.create('/c', 0o644, root);
    await vfs.write(fd2, Buffer.from('other'), 0);
    await vfs.release(fd2);
    await vfs.rename('/c', '/b');
    assert.deepEqual(await readAll(vfs, '/b'), Buffer.from('other'));
    assert.throws(() => vfs.getattr('/c'), code('ENOENT'));

    vfs.symlink('/b', '/l', root);
    assert.equal(vfs.readlink('/l'), '/b');
    assert.throws(() => vfs.mkdir('/d', 0o755, root), code('EEXIST'));
    assert.throws(() => vfs.rmdir('/'), code('EBUSY'));
    vfs.mkdir('/d/e', 0o755, root);
    assert.throws(() => vfs.rmdir('/d'), code('ENOTEMPTY'));
    await assert.rejects(vfs.rename('/d', '/d/e/f'), code('EINVAL'));
    assert.throws(() => vfs.create(`/${'x'.repeat(256)}`, 0o644, root), code('ENAMETOOLONG'));
    assert.equal(vfs.getattr('/d').nlink, 3);
    vfs.rmdir('/d/e');
    assert.equal(vfs.getattr('/d').nlink, 2);
  });
});

test('user xattrs persist; the policy xattr is validated and inherited by new files', async () => {
  await withVfs(async (vfs, engine) => {
    vfs.mkdir('/m', 0o755, root);
    vfs.setxattr('/m', 'user.dynamicfs.policy', Buffer.from('mirror:3'));
    assert.throws(() => vfs.setxattr('/m', 'user.dynamicfs.policy', Buffer.from('rs:9+9')), code('EINVAL'));
    assert.throws(() => vfs.setxattr('/m', 'user.dynamicfs.policy', Buffer.from('mirror:4')), code('ENODISKS'));
    assert.throws(() => vfs.setxattr('/m', 'trusted.x', Buffer.from('1')), code('ENOTSUP'));
    vfs.setxattr('/m', 'user.note', Buffer.from('hi'));
    assert.deepEqual(vfs.listxattr('/m').sort(), ['user.dynamicfs.policy', 'user.note']);
    const fd = vfs.create('/m/x', 0o644, root);
    await vfs.write(fd, Buffer.alloc(ES, 1), 0);
    await vfs.release(fd);
    const ext = engine.meta.extentsOf(vfs.getattr('/m/x').ino);
    assert.equal(ext[0]!.scheme, 'mirror');
    assert.equal(ext[0]!.fragments.length, 3);
    vfs.removexattr('/m', 'user.note');
    assert.throws(() => vfs.getxattr('/m', 'user.note'), code('ENODATA'));
  });
});

test('gc never takes the fragments of written-but-uncommitted extents for orphans', async () => {
  await withVfs(async (vfs, engine, dir) => {
    const { collectGarbage } = await import('../../../src/engine/gc');
    const fd = vfs.create('/open', 0o644, root);
    await vfs.write(fd, Buffer.alloc(3 * ES, 9), 0); // whole extents go to disk before any commit
    const frags = () => fs.readdirSync(dir, { recursive: true }).filter((f) => /frags\/.*\.\d+$/.test(String(f))).length;
    for (let i = 0; frags() < 9 && i < 200; i++) await new Promise((r) => setTimeout(r, 25)); // 3 extents x (2+1)
    assert.equal(frags(), 9, 'the extents are on disk, uncommitted');
    const before = await collectGarbage(engine, { minAgeSeconds: 0, dryRun: true });
    assert.equal(before.orphans.length, 0, 'in-flight fragments are not orphans');
    await collectGarbage(engine, { minAgeSeconds: 0, dryRun: false });
    await vfs.release(fd);
    assert.deepEqual(await readAll(vfs, '/open'), Buffer.alloc(3 * ES, 9));
  });
});
