/**
 * The benchmark passthrough (scripts/passthrough.ts) sets a symlink's own times, as
 * utimensat(AT_SYMLINK_NOFOLLOW) asks: it used to follow the link, so tar's extraction of
 * /usr/include ended with "Cannot utime: No such file or directory" on links whose target
 * was not there yet, and restamped the target directory of `tk -> tcl8.6`.
 *
 * Needs root and /dev/fuse (as CI has). The mount is removed in a finally.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { isFuseMounted } from '../../src/fuse/proc-mounts';
import { forceUnmount } from '../../src/fuse/unmount';
import { spawnPassthrough, type PassthroughProcess } from '../../scripts/passthrough';
import { rmrf, tmpDir } from '../helpers/tmp';

const Y2001 = Date.UTC(2001, 0, 1) / 1000;
const Y2002 = Date.UTC(2002, 0, 1) / 1000;

function run(cmd: string, args: string[]): { status: number | null; stderr: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return { status: r.status, stderr: r.stderr };
}

test('passthrough: utimens on a symlink sets the link, not its target; tar extracts and compares cleanly', { timeout: 60_000 }, async () => {
  const root = tmpDir('dfs-pt-utimens-');
  const backing = path.join(root, 'backing');
  const mnt = path.join(root, 'mnt');
  const src = path.join(root, 'src');
  fs.mkdirSync(backing);
  fs.mkdirSync(mnt);
  // A tree whose links are archived before their targets, as in /usr/include.
  fs.mkdirSync(path.join(src, 'tcl8.6'), { recursive: true });
  fs.writeFileSync(path.join(src, 'tcl8.6', 'tcl.h'), '#define TCL 1\n');
  fs.symlinkSync('tcl8.6', path.join(src, 'a-tk'));
  fs.symlinkSync('z/late.h', path.join(src, 'a-late.h'));
  fs.mkdirSync(path.join(src, 'z'));
  fs.writeFileSync(path.join(src, 'z', 'late.h'), 'late\n');
  fs.utimesSync(path.join(src, 'tcl8.6'), Y2001, Y2001);
  fs.lutimesSync(path.join(src, 'a-tk'), Y2002, Y2002);
  const tarball = path.join(root, 'tree.tar');
  assert.equal(run('tar', ['-C', src, '-cf', tarball, 'a-late.h', 'a-tk', 'tcl8.6', 'z']).status, 0);

  let pt: PassthroughProcess | undefined;
  try {
    pt = await spawnPassthrough(backing, mnt);

    // A dangling link's own time can be set (following it was ENOENT).
    fs.symlinkSync('missing', path.join(mnt, 'dangling'));
    fs.lutimesSync(path.join(mnt, 'dangling'), Y2001, Y2001);
    assert.equal(fs.lstatSync(path.join(backing, 'dangling')).mtimeMs, Y2001 * 1000);

    const x = run('tar', ['-C', mnt, '-xf', tarball]);
    assert.equal(x.stderr, '');
    assert.equal(x.status, 0);
    const d = run('tar', ['-C', mnt, '-df', tarball]);
    assert.equal(d.stderr, '');
    assert.equal(d.status, 0);
    assert.equal(fs.lstatSync(path.join(mnt, 'a-tk')).mtimeMs, Y2002 * 1000, 'the link has its own time');
    assert.equal(fs.statSync(path.join(mnt, 'tcl8.6')).mtimeMs, Y2001 * 1000, 'its target directory keeps its time');
    assert.equal(fs.readFileSync(path.join(mnt, 'a-late.h'), 'utf8'), 'late\n');
  } finally {
    await pt?.stop();
    if (isFuseMounted(mnt)) await forceUnmount(mnt);
    rmrf(root);
  }
});
