/**
 * The mount with node's fs and ordinary tools: POSIX behaviour users rely on (errnos,
 * links, renames, holes, O_APPEND, truncate, unlinked-but-open files, times, modes,
 * xattrs), and real programs (tar, git, sqlite) working inside it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { withMount } from '../helpers/mount';
import { ok } from '../helpers/cli';

function sh(cmd: string, cwd: string): string {
  const r = spawnSync('bash', ['-c', cmd], { cwd, encoding: 'utf8' });
  assert.equal(r.status, 0, `${cmd}: ${r.stdout}${r.stderr}`);
  return r.stdout;
}

const errno = (code: string) => (e: unknown) => (e as NodeJS.ErrnoException).code === code;

test('files, directories, links, renames and the errnos programs expect', async () => {
  await withMount(async ({ mnt }) => {
    const p = (s: string) => path.join(mnt, s);
    fs.writeFileSync(p('a'), 'hello');
    assert.equal(fs.readFileSync(p('a'), 'utf8'), 'hello');
    fs.mkdirSync(p('d/e'), { recursive: true });
    assert.deepEqual(fs.readdirSync(mnt).sort(), ['a', 'd']);
    assert.throws(() => fs.mkdirSync(p('d')), errno('EEXIST'));
    assert.throws(() => fs.readFileSync(p('nope')), errno('ENOENT'));
    assert.throws(() => fs.rmdirSync(p('d')), errno('ENOTEMPTY'));
    assert.throws(() => fs.readFileSync(p('d')), errno('EISDIR'));
    assert.throws(() => fs.writeFileSync(p('a/x'), ''), errno('ENOTDIR'));
    assert.throws(() => fs.writeFileSync(p('x'.repeat(256)), ''), errno('ENAMETOOLONG'));
    assert.throws(() => fs.unlinkSync(p('d')), (e: unknown) => ['EISDIR', 'EPERM'].includes((e as NodeJS.ErrnoException).code!));

    // Hard links count and share; symlinks resolve.
    fs.linkSync(p('a'), p('d/b'));
    assert.equal(fs.statSync(p('a')).nlink, 2);
    assert.equal(fs.statSync(p('a')).ino, fs.statSync(p('d/b')).ino);
    fs.symlinkSync('../a', p('d/s'));
    assert.equal(fs.readlinkSync(p('d/s')), '../a');
    assert.equal(fs.readFileSync(p('d/s'), 'utf8'), 'hello');
    assert.ok(fs.lstatSync(p('d/s')).isSymbolicLink());

    // rename over an existing file is atomic and keeps the moved inode; directories move whole.
    fs.writeFileSync(p('c'), 'replacement');
    const ino = fs.statSync(p('c')).ino;
    fs.renameSync(p('c'), p('a'));
    assert.equal(fs.readFileSync(p('a'), 'utf8'), 'replacement');
    assert.equal(fs.statSync(p('a')).ino, ino);
    assert.equal(fs.readFileSync(p('d/b'), 'utf8'), 'hello', 'the other link still has the old contents');
    fs.renameSync(p('d'), p('d2'));
    assert.equal(fs.readFileSync(p('d2/b'), 'utf8'), 'hello');
    assert.throws(() => fs.renameSync(p('d2'), p('d2/e/inside')), errno('EINVAL'));
    fs.rmSync(p('d2'), { recursive: true });
    assert.deepEqual(fs.readdirSync(mnt), ['a']);

    // Directory link counts and times.
    fs.mkdirSync(p('t/u'), { recursive: true });
    assert.equal(fs.statSync(p('t')).nlink, 3);
    // Back-date the directory (no sleep: a clock tick is not guaranteed), then create in it.
    const old = new Date('2001-02-03T04:05:06Z');
    fs.utimesSync(p('t'), old, old);
    assert.equal(fs.statSync(p('t')).mtimeMs, old.getTime());
    const before = Date.now();
    fs.writeFileSync(p('t/new'), '');
    assert.ok(fs.statSync(p('t')).mtimeMs >= before - 1000, 'creating an entry sets the directory mtime to now');
  });
});

test('holes, O_APPEND, truncate, unlinked-but-open, modes, owners, times and xattrs', async () => {
  await withMount(async ({ mnt, pool }) => {
    const p = (s: string) => path.join(mnt, s);
    // A sparse file: the hole reads as zeros.
    const fd = fs.openSync(p('sparse'), 'w');
    fs.writeSync(fd, Buffer.from('end'), 0, 3, 10 * 1024 * 1024);
    fs.closeSync(fd);
    const sparse = fs.readFileSync(p('sparse'));
    assert.equal(sparse.length, 10 * 1024 * 1024 + 3);
    assert.ok(sparse.subarray(0, 10 * 1024 * 1024).every((b) => b === 0));
    assert.equal(sparse.subarray(-3).toString(), 'end');

    fs.writeFileSync(p('log'), 'one\n');
    fs.appendFileSync(p('log'), 'two\n');
    const afd = fs.openSync(p('log'), 'a');
    fs.writeSync(afd, 'three\n', 0); // O_APPEND ignores the position
    fs.closeSync(afd);
    assert.equal(fs.readFileSync(p('log'), 'utf8'), 'one\ntwo\nthree\n');

    fs.truncateSync(p('log'), 3);
    assert.equal(fs.readFileSync(p('log'), 'utf8'), 'one');
    fs.truncateSync(p('log'), 6);
    assert.deepEqual(fs.readFileSync(p('log')), Buffer.from('one\0\0\0'));

    // Unlinked while open: still readable and writable until closed.
    const data = randomBytes(300_000);
    fs.writeFileSync(p('tmpfile'), data);
    const ofd = fs.openSync(p('tmpfile'), 'r+');
    fs.unlinkSync(p('tmpfile'));
    assert.throws(() => fs.statSync(p('tmpfile')), errno('ENOENT'));
    const back = Buffer.alloc(data.length);
    assert.equal(fs.readSync(ofd, back, 0, back.length, 0), data.length);
    assert.deepEqual(back, data);
    fs.closeSync(ofd);

    fs.chmodSync(p('log'), 0o640);
    assert.equal(fs.statSync(p('log')).mode & 0o7777, 0o640);
    fs.chownSync(p('log'), 1234, 5678);
    assert.equal(fs.statSync(p('log')).uid, 1234);
    assert.equal(fs.statSync(p('log')).gid, 5678);
    fs.utimesSync(p('log'), new Date('2020-01-02T03:04:05Z'), new Date('2021-02-03T04:05:06Z'));
    assert.equal(fs.statSync(p('log')).mtime.toISOString(), '2021-02-03T04:05:06.000Z');
    assert.equal(fs.statSync(p('log')).atime.toISOString(), '2020-01-02T03:04:05.000Z');

    // user.* xattrs, and the redundancy policy attribute inherited by new files.
    const py = (code: string) => sh(`python3 -c '${code}'`, mnt);
    py('import os; os.setxattr("log", "user.color", b"blue")');
    assert.equal(py('import os; print(os.getxattr("log", "user.color").decode())').trim(), 'blue');
    assert.match(py('import os; print(os.listxattr("log"))'), /user\.color/);
    fs.mkdirSync(p('mirrored'));
    py('import os; os.setxattr("mirrored", "user.dynamicfs.policy", b"mirror:3")');
    fs.writeFileSync(p('mirrored/f'), randomBytes(300_000)); // over the 256 KiB packing limit: fragments of its own
    fs.writeFileSync(p('mirrored/small'), randomBytes(100_000)); // packed, in a pack of the directory's policy
    const st = ok('stat', pool, '/mirrored/f');
    assert.equal(st.extents[0].scheme, 'mirror');
    assert.equal(st.extents[0].fragments.length, 3);
    const small = ok('stat', pool, '/mirrored/small').extents[0];
    assert.equal(small.scheme, 'packed');
    assert.deepEqual([small.pack.scheme, small.pack.k + small.pack.m, small.pack.fragments.length], ['mirror', 3, 3]);
    assert.equal(py(`import os, errno
try:
    os.setxattr("mirrored", "user.dynamicfs.policy", b"rs:99+1")
except OSError as e:
    print(errno.errorcode[e.errno])
print(os.getxattr("mirrored", "user.dynamicfs.policy").decode())`), 'EINVAL\nmirror:3\n', 'an invalid policy is refused and the old one stays');

    const sf = fs.statfsSync(mnt);
    assert.ok(sf.blocks > 0 && sf.bavail > 0 && sf.bavail <= sf.blocks);
  });
});

test('special files, sub-millisecond and single-field times, xattr flags, unlink-open then rmdir, and names that are not UTF-8', async () => {
  await withMount(async ({ mnt, pool, root }) => {
    const p = (s: string) => path.join(mnt, s);
    const py = (code: string) => {
      const r = spawnSync('python3', ['-c', code], { cwd: mnt, encoding: 'utf8' });
      assert.equal(r.status, 0, `${code}\n${r.stdout}${r.stderr}`);
      return r.stdout.trim();
    };
    // FIFOs, sockets and device nodes are stored (the kernel serves them), typed in stat and readdir.
    sh('mkfifo fifo && mknod null c 1 3 && mknod blk b 7 0', mnt);
    py('import socket; socket.socket(socket.AF_UNIX).bind("sock")');
    assert.ok(fs.statSync(p('fifo')).isFIFO());
    assert.ok(fs.statSync(p('sock')).isSocket());
    const chr = fs.statSync(p('null'));
    assert.ok(chr.isCharacterDevice());
    assert.equal(chr.rdev, (1 << 8) | 3, 'the device number survives');
    assert.ok(fs.statSync(p('blk')).isBlockDevice());
    // A FIFO works through the mount: a writer and a reader meet in the kernel.
    assert.equal(sh('(echo through-the-fifo > fifo &) ; cat fifo', mnt).trim(), 'through-the-fifo');
    const types = Object.fromEntries(fs.readdirSync(mnt, { withFileTypes: true }).map((d) => [d.name, d.isFIFO() ? 'fifo' : d.isSocket() ? 'sock' : d.isCharacterDevice() ? 'chr' : d.isBlockDevice() ? 'blk' : '?']));
    assert.deepEqual(types, { blk: 'blk', fifo: 'fifo', null: 'chr', sock: 'sock' }, 'readdir gives d_type');
    assert.equal(py('import os; print(all(e.inode() == os.stat(e.name, follow_symlinks=False).st_ino for e in os.scandir(".")))'), 'True', 'readdir gives d_ino');
    const ls = ok('ls', pool, '/');
    assert.deepEqual(ls.entries.map((e: { kind: string }) => e.kind).sort(), ['blockdev', 'chardev', 'fifo', 'socket']);
    fs.symlinkSync('fifo', p('link'));
    const got = ok('get', pool, '/', path.join(root, 'out'));
    assert.deepEqual(got.skipped.sort(), ['blk', 'fifo', 'link', 'null', 'sock'], 'get reports what it does not copy');
    fs.unlinkSync(p('link'));

    // Times keep microseconds, survive before 1970, and touch -m / -a change only their own field.
    fs.writeFileSync(p('t'), 'x');
    assert.equal(py('import os; os.utime("t", ns=(1002003000, 4005006000)); s = os.stat("t"); print(s.st_atime_ns, s.st_mtime_ns)'), '1002003000 4005006000');
    assert.equal(py('import os; os.utime("t", ns=(-86400123456000, 1795000000123456000)); s = os.stat("t"); print(s.st_atime_ns, s.st_mtime_ns)'),
      '-86400123456000 1795000000123456000');
    sh('touch -m -d "2002-03-04 05:06:07" t', mnt);
    assert.equal(py('import os; s = os.stat("t"); print(s.st_atime_ns)'), '-86400123456000', 'touch -m leaves atime alone');
    assert.equal(fs.statSync(p('t')).mtime.toISOString(), '2002-03-04T05:06:07.000Z');
    sh('touch -a -d "2003-01-01 00:00:00" t', mnt);
    assert.equal(fs.statSync(p('t')).atime.toISOString(), '2003-01-01T00:00:00.000Z');
    assert.equal(fs.statSync(p('t')).mtime.toISOString(), '2002-03-04T05:06:07.000Z', 'touch -a leaves mtime alone');
    const before = Date.now();
    sh('touch t', mnt);
    assert.ok(fs.statSync(p('t')).mtimeMs >= before - 1, 'touch with no time sets now');
    // A write changes ctime with mtime: never a ctime later than the mtime it came with.
    py('f = open("w", "wb"); f.write(b"foo"); f.close(); f = open("w", "ab"); f.write(b"bar"); f.close()');
    const w = fs.statSync(p('w'));
    assert.ok(w.ctimeMs <= w.mtimeMs, `ctime ${w.ctimeMs} <= mtime ${w.mtimeMs}`);

    // setxattr flags, empty and large values (a value larger than the caller's buffer is ERANGE, not EIO).
    assert.equal(py(`import os, errno
os.setxattr("t", "user.a", b"")
print(os.getxattr("t", "user.a") == b"")
os.setxattr("t", "user.a", b"v" * 4000, os.XATTR_REPLACE)
print(len(os.getxattr("t", "user.a")))
for flags, name in ((os.XATTR_CREATE, "user.a"), (os.XATTR_REPLACE, "user.b")):
    try:
        os.setxattr("t", name, b"x", flags)
    except OSError as e:
        print(errno.errorcode[e.errno])`), 'True\n4000\nEEXIST\nENODATA');

    // A file unlinked while open stays usable (fstat too), and its directory can be removed.
    assert.equal(py(`import os
os.mkdir("d")
f = open("d/x", "w+"); f.write("hello"); f.flush()
g = open("keep", "w+"); g.write("kept"); g.flush(); os.unlink("keep")
os.unlink("d/x"); print(os.listdir("d")); os.rmdir("d")
f.seek(0); print(f.read()); f.close()
print(os.fstat(g.fileno()).st_size, os.fstat(g.fileno()).st_nlink); g.seek(0); print(g.read()); g.close()
print(sorted(n for n in os.listdir(".") if n.startswith(".fuse")))`), '[]\nhello\n4 0\nkept\n[]');
    // ... and still fstat-able after its directory is renamed.
    assert.equal(py(`import os
os.mkdir("m1")
f = open("m1/x", "w+"); f.write("moved"); f.flush()
os.unlink("m1/x"); os.rename("m1", "m2")
print(os.fstat(f.fileno()).st_size); f.close(); os.rmdir("m2")`), '5');

    // A name that is not UTF-8 is refused (EILSEQ), never merged with another name.
    assert.equal(py(`import os, errno
try:
    open(b"bad\\xff", "w")
except OSError as e:
    print(errno.errorcode[e.errno])
print(os.path.exists(b"bad\\xef\\xbf\\xbd"))`), 'EILSEQ\nFalse');
  });
});

test('real programs: tar, git, sqlite', async () => {
  await withMount(async ({ mnt }) => {
    const src = path.resolve(__dirname, '../../../src');
    sh(`tar -C ${src} -cf ${mnt}/src.tar . && mkdir ${mnt}/x && tar -C ${mnt}/x -xf ${mnt}/src.tar && diff -r ${src} ${mnt}/x`, mnt);
    const git = sh('git init -q repo && cd repo && git config user.email t@t && git config user.name t && cp -r ../x code && git add -A && git commit -qm one'
      + ' && git log --oneline | wc -l && git fsck --full 2>&1 && git status --porcelain | wc -l', mnt);
    // One commit, a clean fsck (no output), a worktree identical to the commit.
    assert.equal(git, '1\n0\n');
    const out = sh(`python3 -c '
import sqlite3
db = sqlite3.connect("t.db")
db.execute("create table t (k integer primary key, v text)")
with db:
    db.executemany("insert into t (v) values (?)", [("row%d" % i,) for i in range(5000)])
db.close()
db = sqlite3.connect("t.db")
print(db.execute("select count(*) from t").fetchone()[0], db.execute("pragma integrity_check").fetchone()[0])
'`, mnt);
    assert.equal(out.trim(), '5000 ok');
  });
});

test('permissions are enforced for other users (default_permissions, --allow-other); --read-only refuses writes', async () => {
  await withMount(async ({ mnt, root }) => {
    fs.chmodSync(root, 0o755); // mkdtemp makes it 0700: the other user must reach the mountpoint
    fs.writeFileSync(path.join(mnt, 'secret'), 'root only', { mode: 0o600 });
    fs.chmodSync(path.join(mnt, 'secret'), 0o600);
    fs.writeFileSync(path.join(mnt, 'public'), 'everyone', { mode: 0o644 });
    fs.chmodSync(path.join(mnt, 'public'), 0o644);
    const asNobody = (cmd: string) => spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'bash', '-c', cmd], { cwd: '/', encoding: 'utf8' });
    assert.equal(asNobody(`cat ${mnt}/public`).stdout, 'everyone');
    const denied = asNobody(`cat ${mnt}/secret`);
    assert.notEqual(denied.status, 0);
    assert.match(denied.stderr, /Permission denied/);
    assert.match(asNobody(`echo x > ${mnt}/public`).stderr, /Permission denied/);
    assert.match(asNobody(`touch ${mnt}/new`).stderr, /Permission denied/, 'the root directory is 0755 root');
    assert.equal(fs.readFileSync(path.join(mnt, 'public'), 'utf8'), 'everyone');
  }, { extra: ['--allow-other'] });

  await withMount(async ({ mnt }) => {
    assert.throws(() => fs.writeFileSync(path.join(mnt, 'x'), 'no'), errno('EROFS'));
    assert.throws(() => fs.mkdirSync(path.join(mnt, 'd')), errno('EROFS'));
  }, { extra: ['--read-only'] });
});

/**
 * Run `script` in a node child process as uid/gid (no supplementary groups: libuv drops
 * them when it switches user). The script gets `fs`, `path` and `dir`; it prints JSON.
 */
function asUser(uid: number, gid: number, dir: string, script: string): any {
  const r = spawnSync(process.execPath, ['-e', `const fs = require('fs'), path = require('path'), dir = ${JSON.stringify(dir)};
const tryCode = (f) => { try { f(); return 'ok'; } catch (e) { return e.code; } };
${script}`], { uid, gid, cwd: '/', encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 0, `as ${uid}:${gid}: ${r.stdout}${r.stderr}`);
  return JSON.parse(r.stdout);
}

test('what another user creates belongs to that user (caller uid/gid from FUSE), and permissions then hold against it', async () => {
  await withMount(async ({ mnt, root }) => {
    fs.chmodSync(root, 0o755); // mkdtemp makes it 0700: the other user must reach the mountpoint
    const shared = path.join(mnt, 'shared');
    fs.mkdirSync(shared);
    fs.chmodSync(shared, 0o1777); // world-writable, sticky, like /tmp
    fs.writeFileSync(path.join(shared, 'rootfile'), 'root');
    fs.chmodSync(path.join(shared, 'rootfile'), 0o644);
    const sgid = path.join(mnt, 'team');
    fs.mkdirSync(sgid);
    fs.chownSync(sgid, 0, 4242);
    fs.chmodSync(sgid, 0o2777); // setgid: new entries take the directory's group

    const out = asUser(1000, 1001, mnt, `
const s = path.join(dir, 'shared'), t = path.join(dir, 'team');
fs.writeFileSync(path.join(s, 'file'), 'mine');
fs.mkdirSync(path.join(s, 'dir'));
fs.symlinkSync('file', path.join(s, 'link'));
fs.writeFileSync(path.join(t, 'file'), 'ours');
fs.mkdirSync(path.join(t, 'dir'));
fs.symlinkSync('file', path.join(t, 'link'));
console.log(JSON.stringify({
  appendOwn: tryCode(() => fs.appendFileSync(path.join(s, 'file'), '!')),
  writeRoots: tryCode(() => fs.writeFileSync(path.join(s, 'rootfile'), 'x')),
  unlinkRoots: tryCode(() => fs.unlinkSync(path.join(s, 'rootfile'))),
  chmodRoots: tryCode(() => fs.chmodSync(path.join(s, 'rootfile'), 0o666)),
  chownToRoot: tryCode(() => fs.chownSync(path.join(s, 'file'), 0, 0)),
}));`);

    for (const name of ['file', 'dir', 'link']) {
      const st = fs.lstatSync(path.join(shared, name));
      assert.deepEqual([st.uid, st.gid], [1000, 1001], `shared/${name} belongs to the user that made it`);
      const inTeam = fs.lstatSync(path.join(sgid, name));
      assert.deepEqual([inTeam.uid, inTeam.gid], [1000, 4242], `team/${name} takes the setgid directory's group`);
    }
    assert.equal(fs.statSync(path.join(sgid, 'dir')).mode & 0o2000, 0o2000, 'a subdirectory of a setgid directory is setgid too');
    assert.equal(fs.statSync(path.join(shared, 'dir')).mode & 0o2000, 0, 'and only there');
    assert.equal(fs.readFileSync(path.join(shared, 'file'), 'utf8'), 'mine!');

    // default_permissions checks against the stored owners: the user owns its file, not root's.
    assert.deepEqual(out, { appendOwn: 'ok', writeRoots: 'EACCES', unlinkRoots: 'EPERM', chmodRoots: 'EPERM', chownToRoot: 'EPERM' });
    assert.equal(fs.readFileSync(path.join(shared, 'rootfile'), 'utf8'), 'root');
    // ...and root still may do anything with the user's files.
    fs.chownSync(path.join(shared, 'file'), 1234, 1234);
    assert.equal(fs.statSync(path.join(shared, 'file')).uid, 1234);
  }, { extra: ['--allow-other'] });
});

test('mounts are nosuid and nodev unless --suid / --dev: a setuid-root program run from the mount keeps its caller\'s uid', async () => {
  /** `id -u` (the effective uid) of a setuid-root copy of /usr/bin/id in the mount, run as uid 65534; and the mount's options. */
  const probe = (mnt: string, root: string): { euid: string; options: string[] } => {
    fs.chmodSync(root, 0o755); // mkdtemp makes it 0700: the other user must reach the mountpoint
    const id = path.join(mnt, 'id');
    fs.copyFileSync('/usr/bin/id', id);
    fs.chmodSync(id, 0o4755);
    assert.equal(fs.statSync(id).mode & 0o7777, 0o4755, 'the setuid bit is stored either way');
    const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', id, '-u'], { cwd: '/', encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const line = fs.readFileSync('/proc/mounts', 'utf8').split('\n').find((l) => l.split(' ')[1] === mnt)!;
    return { euid: r.stdout.trim(), options: line.split(' ')[3]!.split(',') };
  };
  await withMount(({ mnt, root }) => {
    const { euid, options } = probe(mnt, root);
    assert.equal(euid, '65534', 'nosuid: the setuid bit is ignored');
    assert.ok(options.includes('nosuid') && options.includes('nodev'), options.join(','));
  }, { extra: ['--allow-other'] });
  await withMount(({ mnt, root }) => {
    const { euid, options } = probe(mnt, root);
    assert.equal(euid, '0', '--suid: the program runs as its owner');
    assert.ok(!options.includes('nosuid') && !options.includes('nodev'), options.join(','));
  }, { extra: ['--allow-other', '--suid', '--dev'] });
});
