/**
 * /.snapshots in the mount: each snapshot's tree read-only, exactly as it was when taken
 * (bytes of inline, packed and multi-extent files, holes, modes, sizes, xattrs, symlink
 * targets, hard links), inode numbers of its own, EROFS for every change, hidden from
 * readdir of / unless snapshots.visible, and ENOENT once a snapshot is deleted.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fails, ok } from '../helpers/cli';
import { withMount } from '../helpers/mount';

const errno = (code: string) => (e: unknown) => {
  assert.equal((e as NodeJS.ErrnoException).code, code, String(e));
  return true;
};

/** Run python3 in `cwd` (for xattrs, which node's fs lacks); returns stdout. */
function py(code: string, cwd: string): string {
  const r = spawnSync('python3', ['-c', code], { cwd, encoding: 'utf8' });
  assert.equal(r.status, 0, `${code}: ${r.stdout}${r.stderr}`);
  return r.stdout;
}

const getx = (file: string, name: string): string => py(`import os,sys; sys.stdout.write(os.getxattr(${JSON.stringify(file)}, ${JSON.stringify(name)}).decode())`, '/');
const listx = (file: string): string[] => JSON.parse(py(`import os,json; print(json.dumps(sorted(os.listxattr(${JSON.stringify(file)}))))`, '/')) as string[];
const setx = (file: string, name: string, value: string): void => {
  py(`import os; os.setxattr(${JSON.stringify(file)}, ${JSON.stringify(name)}, ${JSON.stringify(value)}.encode())`, '/');
};
/** The errno name a python xattr call fails with. */
const xattrErr = (call: string): string => py(`import os,errno\ntry:\n  ${call}\n  print("ok")\nexcept OSError as e:\n  print(errno.errorcode[e.errno])`, '/').trim();

interface Shape {
  bytes?: Buffer;
  mode: number;
  size: number;
  target?: string;
}

/** What a tree holds, for comparing a snapshot's view with the tree as it was. */
function shapeOf(root: string, rels: string[]): Map<string, Shape> {
  const out = new Map<string, Shape>();
  for (const rel of rels) {
    const p = path.join(root, rel);
    const st = fs.lstatSync(p);
    out.set(rel, { mode: st.mode, size: st.size, ...(st.isFile() ? { bytes: fs.readFileSync(p) } : {}), ...(st.isSymbolicLink() ? { target: fs.readlinkSync(p) } : {}) });
  }
  return out;
}

function assertShape(root: string, want: Map<string, Shape>, what: string): void {
  for (const [rel, w] of want) {
    const p = path.join(root, rel);
    const st = fs.lstatSync(p);
    assert.equal(st.mode.toString(8), w.mode.toString(8), `${what} ${rel}: mode`);
    assert.equal(st.size, w.size, `${what} ${rel}: size`);
    if (w.bytes) assert.ok(fs.readFileSync(p).equals(w.bytes), `${what} ${rel}: bytes`);
    if (w.target !== undefined) assert.equal(fs.readlinkSync(p), w.target, `${what} ${rel}: link target`);
  }
}

const RELS = ['big.bin', 'small.txt', 'packed.bin', 'sparse.bin', 'dir', 'dir/nested.bin', 'dir/link', 'hard1', 'dir/hard2'];

test('/.snapshots/NAME shows each snapshot\'s tree as taken, read-only, with inode numbers of its own', async () => {
  // 256 KiB extents: big.bin spans several, nested.bin has fragments of its own, packed.bin goes into a pack.
  await withMount(async ({ mnt, pool }) => {
    const p = (s: string) => path.join(mnt, s);
    fs.writeFileSync(p('big.bin'), randomBytes(700_000));
    fs.writeFileSync(p('small.txt'), 'small and inline\n');
    fs.writeFileSync(p('packed.bin'), randomBytes(100_000));
    fs.chmodSync(p('packed.bin'), 0o640);
    const sparse = fs.openSync(p('sparse.bin'), 'w');
    fs.writeSync(sparse, Buffer.from('after a hole'), 0, 12, 600_000);
    fs.closeSync(sparse);
    fs.mkdirSync(p('dir'), 0o750);
    fs.writeFileSync(p('dir/nested.bin'), randomBytes(256 * 1024));
    fs.symlinkSync('../small.txt', p('dir/link'));
    fs.writeFileSync(p('hard1'), 'one inode, two names');
    fs.linkSync(p('hard1'), p('dir/hard2'));
    setx(p('small.txt'), 'user.color', 'blue');
    setx(p('dir'), 'user.kind', 'directory');
    const before = shapeOf(mnt, RELS);

    ok('snapshot', 'create', pool, 'one');
    const one = p('.snapshots/one');
    assertShape(one, before, 'snapshot one, just taken');

    // Change every file: overwrite in place, append, truncate, delete, rename, chmod, xattrs, retarget.
    const big = fs.openSync(p('big.bin'), 'r+');
    fs.writeSync(big, Buffer.alloc(4096, 7), 0, 4096, 300_000);
    fs.closeSync(big);
    fs.appendFileSync(p('small.txt'), 'appended\n');
    fs.chmodSync(p('small.txt'), 0o600);
    fs.truncateSync(p('packed.bin'), 10);
    fs.truncateSync(p('sparse.bin'), 0);
    fs.unlinkSync(p('dir/nested.bin'));
    fs.renameSync(p('hard1'), p('renamed'));
    fs.appendFileSync(p('dir/hard2'), ', changed');
    fs.unlinkSync(p('dir/link'));
    fs.symlinkSync('elsewhere', p('dir/link'));
    setx(p('small.txt'), 'user.color', 'red');
    setx(p('small.txt'), 'user.added', 'later');
    fs.chmodSync(p('dir'), 0o700);
    const after = shapeOf(mnt, ['big.bin', 'small.txt', 'packed.bin', 'sparse.bin', 'dir', 'dir/link', 'renamed', 'dir/hard2']);

    // The snapshot is exactly the old tree; the live tree is the new one.
    assertShape(one, before, 'snapshot one after the changes');
    assert.equal(getx(path.join(one, 'small.txt'), 'user.color'), 'blue');
    assert.deepEqual(listx(path.join(one, 'small.txt')), ['user.color']);
    assert.equal(getx(path.join(one, 'dir'), 'user.kind'), 'directory');
    assert.equal(fs.readFileSync(path.join(one, 'dir/link'), 'utf8'), 'small and inline\n', 'the symlink resolves inside the snapshot');
    assert.deepEqual(fs.readdirSync(one).sort(), ['big.bin', 'dir', 'hard1', 'packed.bin', 'small.txt', 'sparse.bin']);
    assert.deepEqual(fs.readdirSync(path.join(one, 'dir')).sort(), ['hard2', 'link', 'nested.bin']);
    assert.equal(getx(p('small.txt'), 'user.color'), 'red');
    assert.throws(() => fs.statSync(p('dir/nested.bin')), errno('ENOENT'));
    // snapshot diff names exactly these changes (a rename that also changed the bytes is both).
    assert.deepEqual((ok('snapshot', 'diff', pool, 'one').changes as { change: string; path: string; from?: string }[])
      .map((c) => `${c.change} ${c.from ? `${c.from} -> ` : ''}${c.path}`), [
      'modified /', 'modified /big.bin', 'modified /dir', 'added /dir/link', 'removed /dir/link', 'removed /dir/nested.bin',
      'modified /packed.bin', 'modified /renamed', 'renamed /hard1 -> /renamed', 'modified /small.txt', 'modified /sparse.bin',
    ]);
    fs.chmodSync(p('big.bin'), 0o600);
    ok('snapshot', 'create', pool, 'attrs');
    fs.chmodSync(p('big.bin'), 0o644);
    setx(p('renamed'), 'user.note', 'metadata only');
    assert.deepEqual((ok('snapshot', 'diff', pool, 'attrs').changes as { change: string; path: string }[]).map((c) => `${c.change} ${c.path}`),
      ['metadata /big.bin', 'metadata /renamed']);
    ok('snapshot', 'delete', pool, 'attrs');

    // Inode numbers: the snapshot's differ from the live tree's, its hard links share one, readdir agrees with stat.
    const snapHard = fs.statSync(path.join(one, 'hard1'));
    assert.notEqual(snapHard.ino, fs.statSync(p('renamed')).ino);
    assert.equal(snapHard.ino, fs.statSync(path.join(one, 'dir/hard2')).ino);
    assert.equal(snapHard.nlink, 2);
    assert.notEqual(fs.statSync(path.join(one, 'big.bin')).ino, fs.statSync(p('big.bin')).ino);
    assert.notEqual(fs.statSync(one).ino, fs.statSync(mnt).ino);
    const dirents = py(`import os,json; print(json.dumps({e.name: e.inode() for e in os.scandir(${JSON.stringify(one)})}))`, '/');
    for (const [name, ino] of Object.entries(JSON.parse(dirents) as Record<string, number>)) {
      assert.equal(ino, fs.lstatSync(path.join(one, name)).ino, `d_ino of ${name}`);
    }

    // tar archives the snapshot with its hard link as one (it goes by st_ino), and the symlink as a link.
    const listing = spawnSync('bash', ['-c', 'tar -cf - -C .snapshots/one . | tar -tvf -'], { cwd: mnt, encoding: 'utf8' });
    assert.equal(listing.status, 0, listing.stderr);
    assert.match(listing.stdout, /^h.* \.\/hard1 link to \.\/dir\/hard2$/m);
    assert.match(listing.stdout, /^l.* \.\/dir\/link -> \.\.\/small\.txt$/m);
    assert.equal(listing.stdout.split('\n').filter((l) => l.startsWith('h')).length, 1, listing.stdout);

    // Every change under /.snapshots is EROFS; /.snapshots itself cannot be changed either.
    const s = (rel: string) => path.join(one, rel);
    assert.throws(() => fs.writeFileSync(s('new.txt'), 'x'), errno('EROFS'));
    assert.throws(() => fs.openSync(s('big.bin'), 'r+'), errno('EROFS'));
    assert.throws(() => fs.appendFileSync(s('small.txt'), 'x'), errno('EROFS'));
    assert.throws(() => fs.truncateSync(s('big.bin'), 1), errno('EROFS'));
    assert.throws(() => fs.unlinkSync(s('big.bin')), errno('EROFS'));
    assert.throws(() => fs.renameSync(s('big.bin'), s('moved.bin')), errno('EROFS'));
    assert.throws(() => fs.renameSync(p('big.bin'), s('big2.bin')), errno('EROFS'));
    assert.throws(() => fs.renameSync(s('big.bin'), p('big2.bin')), errno('EROFS'));
    assert.throws(() => fs.mkdirSync(s('newdir')), errno('EROFS'));
    assert.throws(() => fs.rmdirSync(s('dir')), errno('EROFS'));
    assert.throws(() => fs.chmodSync(s('big.bin'), 0o777), errno('EROFS'));
    assert.throws(() => fs.chownSync(s('big.bin'), 1, 1), errno('EROFS'));
    assert.throws(() => fs.utimesSync(s('big.bin'), new Date(0), new Date(0)), errno('EROFS'));
    assert.throws(() => fs.symlinkSync('x', s('sym')), errno('EROFS'));
    assert.throws(() => fs.linkSync(p('big.bin'), s('hard3')), errno('EROFS'));
    assert.throws(() => fs.linkSync(s('big.bin'), p('hard3')), errno('EROFS'));
    assert.equal(xattrErr(`os.setxattr(${JSON.stringify(s('small.txt'))}, "user.color", b"green")`), 'EROFS');
    assert.equal(xattrErr(`os.removexattr(${JSON.stringify(s('small.txt'))}, "user.color")`), 'EROFS');
    assert.throws(() => fs.mkdirSync(p('.snapshots/new')), errno('EROFS'));
    assert.throws(() => fs.rmdirSync(one), errno('EROFS'));
    assert.throws(() => fs.rmdirSync(p('.snapshots')), errno('EROFS'));
    assert.throws(() => fs.renameSync(p('.snapshots'), p('snaps')), errno('EROFS'));
    assert.throws(() => fs.chmodSync(p('.snapshots'), 0o777), errno('EROFS'));
    assert.throws(() => fs.mkdirSync(p('.snapshots')), errno('EEXIST'), 'a live .snapshots cannot be made at the root');
    assert.throws(() => fs.writeFileSync(p('.snapshots/file'), 'x'), errno('EROFS'));
    assert.equal(fs.readFileSync(s('small.txt'), 'utf8'), 'small and inline\n', 'nothing changed');
    assert.throws(() => fs.statSync(p('.snapshots/nosuch')), errno('ENOENT'));
    assert.throws(() => fs.statSync(s('nosuch')), errno('ENOENT'));

    // A second snapshot shows the tree as it is now; the first keeps the old one.
    ok('snapshot', 'create', pool, 'two');
    const two = p('.snapshots/two');
    assertShape(two, after, 'snapshot two');
    assertShape(one, before, 'snapshot one beside two');
    assert.notEqual(fs.statSync(path.join(two, 'big.bin')).ino, fs.statSync(path.join(one, 'big.bin')).ino);
    assert.notEqual(fs.statSync(path.join(two, 'renamed')).ino, fs.statSync(p('renamed')).ino);
    assert.deepEqual(fs.readdirSync(p('.snapshots')), ['one', 'two']);
  }, { extentSize: '256K' });
});

test('.snapshots is hidden from readdir of / unless snapshots.visible, no live entry may take the name, and a deleted snapshot is ENOENT', async () => {
  await withMount(async ({ mnt, pool }) => {
    const p = (s: string) => path.join(mnt, s);
    fs.writeFileSync(p('file'), randomBytes(300_000));
    fs.mkdirSync(p('sub'));
    fs.writeFileSync(p('sub/other'), 'never looked up before the snapshot is deleted');
    // No live entry may take the name: the CLI refuses it as the mount does.
    assert.match(fails('EEXIST', ['mkdir', pool, '/.snapshots']).message, /where a mount shows the pool's snapshots/);
    assert.match(fails('EEXIST', ['mv', pool, '/sub', '/.snapshots']).message, /pick another name/);
    ok('snapshot', 'create', pool, 'kept');
    ok('snapshot', 'create', pool, 'doomed');
    assert.deepEqual(fs.readdirSync(mnt).sort(), ['file', 'sub'], 'hidden by default');
    assert.equal(fs.statSync(p('.snapshots')).mode & 0o7777, 0o555, 'reachable by path: the snapshots directory');
    assert.deepEqual(fs.readdirSync(p('.snapshots')), ['doomed', 'kept']);
    assert.deepEqual(ok('ls', pool, '/').entries.map((e: { name: string }) => e.name).sort(), ['file', 'sub']);

    ok('config', pool, '--set', 'snapshots.visible=true');
    assert.deepEqual(fs.readdirSync(mnt).sort(), ['.snapshots', 'file', 'sub'], 'listed once when visible');
    const dino = py(`import os; print([e.inode() for e in os.scandir(${JSON.stringify(mnt)}) if e.name == ".snapshots"][0])`, '/').trim();
    assert.equal(Number(dino), fs.statSync(p('.snapshots')).ino);
    ok('config', pool, '--set', 'snapshots.visible=false');
    assert.deepEqual(fs.readdirSync(mnt).sort(), ['file', 'sub']);

    // Deleted while browsed and while a file of it is open: ENOENT from then on, the other snapshot untouched.
    const want = fs.readFileSync(p('file'));
    const fd = fs.openSync(p('.snapshots/doomed/file'), 'r');
    try {
      const head = Buffer.alloc(1000);
      assert.equal(fs.readSync(fd, head, 0, 1000, 0), 1000);
      assert.ok(head.equals(want.subarray(0, 1000)));
      ok('snapshot', 'delete', pool, 'doomed');
      // Past what the kernel's read-ahead may have cached from the first read.
      assert.throws(() => fs.readSync(fd, Buffer.alloc(1000), 0, 1000, 250_000), errno('ENOENT'));
    } finally {
      fs.closeSync(fd);
    }
    // Names the kernel has not cached (it keeps a looked-up entry for a second, as for any file).
    assert.throws(() => fs.statSync(p('.snapshots/doomed/sub/other')), errno('ENOENT'));
    assert.throws(() => fs.readdirSync(p('.snapshots/doomed/sub')), errno('ENOENT'));
    assert.deepEqual(fs.readdirSync(p('.snapshots')), ['kept']);
    assert.ok(fs.readFileSync(p('.snapshots/kept/file')).equals(want));
    assert.deepEqual(ok('status', pool).errors, { read: 0, checksum: 0, write: 0 }, 'no read of a deleted snapshot counted against a disk');
  });
});

test('rollback through the coordinator of a mounted pool: refused while a file is open, then the mount reads the snapshot\'s tree', async () => {
  await withMount(async ({ mnt, pool }) => {
    const p = (s: string) => path.join(mnt, s);
    const x = randomBytes(300_000);
    fs.mkdirSync(p('d'));
    fs.writeFileSync(p('d/a'), x);
    ok('snapshot', 'create', pool, 'base');
    fs.writeFileSync(p('d/a'), randomBytes(300_000));
    fs.writeFileSync(p('d/b'), 'made after the snapshot');
    const fd = fs.openSync(p('d/a'), 'r');
    try {
      assert.match(fails('EBUSY', ['snapshot', 'rollback', pool, 'base']).message, /files are open in the mount/);
    } finally {
      fs.closeSync(fd);
    }
    const r = ok('snapshot', 'rollback', pool, 'base');
    assert.equal(r.path, '/');
    const out = path.join(path.dirname(mnt), 'a.out');
    ok('get', pool, '/d/a', out);
    assert.ok(fs.readFileSync(out).equals(x), 'get reads the snapshot\'s bytes');
    assert.ok(fs.readFileSync(p('d/a')).equals(x), 'the mount reads the snapshot\'s bytes');
    assert.deepEqual(ok('ls', pool, '/d').entries.map((e: { name: string }) => e.name), ['a']);
    assert.deepEqual(ok('snapshot', 'diff', pool, 'base').changes, []);
  });
});
