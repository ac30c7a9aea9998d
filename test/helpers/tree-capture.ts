/**
 * Local trees (a mount, a restored directory) captured as comparable data — paths, kinds,
 * modes, owners, atimes and mtimes to the microsecond, hard links, symlink targets,
 * device numbers, every file's BLAKE3, extended attributes — and compared; and the tree
 * with every kind of entry the backup tests build.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { blake3 } from '../../src/native';

/** Run a python3 snippet (os.mkfifo, os.mknod, xattrs: what node has no call for); its stdout. */
export function py(code: string): string {
  const r = spawnSync('python3', ['-c', code], { encoding: 'utf8' });
  assert.equal(r.status, 0, `${code}: ${r.stdout}${r.stderr}`);
  return r.stdout;
}

/** Every extended attribute under `root` (not following symlinks), by relative path. */
export function xattrsOf(root: string): Record<string, Record<string, string>> {
  return JSON.parse(py(`
import os, json, sys
root = ${JSON.stringify(root)}
out = {}
for d, dirs, files in os.walk(root):
    for n in [''] + sorted(dirs + files):
        p = os.path.join(d, n) if n else d
        rel = os.path.relpath(p, root)
        if n == '' and d != root: continue
        try: names = os.listxattr(p, follow_symlinks=False)
        except OSError: names = []
        if names: out[rel] = {k: os.getxattr(p, k, follow_symlinks=False).hex() for k in sorted(names)}
print(json.dumps(out))`)) as Record<string, Record<string, string>>;
}

export interface Node {
  kind: string;
  mode: string;
  uid: number;
  gid: number;
  size?: number;
  atimeUs: number;
  mtimeUs: number;
  nlink?: number;
  hash?: string;
  target?: string;
  rdev?: number;
  /** For a file with several links: every path sharing its inode. */
  links?: string[];
}

const us = (ms: number): number => Math.round(ms * 1000);

/** The tree under `root` as comparable data: stat everything first (reading changes atimes), then read contents. */
export function treeOf(root: string): Map<string, Node> {
  const out = new Map<string, Node>();
  const byIno = new Map<number, string[]>();
  const walk = (rel: string): void => {
    for (const name of fs.readdirSync(path.join(root, rel)).sort()) {
      if (rel === '' && name === '.snapshots') continue;
      const r = rel ? `${rel}/${name}` : name;
      const st = fs.lstatSync(path.join(root, r));
      const kind = st.isDirectory() ? 'dir' : st.isFile() ? 'file' : st.isSymbolicLink() ? 'symlink' : st.isFIFO() ? 'fifo' : st.isCharacterDevice() ? 'chr' : 'other';
      const n: Node = { kind, mode: (st.mode & 0o7777).toString(8), uid: st.uid, gid: st.gid, atimeUs: us(st.atimeMs), mtimeUs: us(st.mtimeMs) };
      if (kind === 'file') {
        n.size = st.size;
        n.nlink = st.nlink;
        if (st.nlink > 1) byIno.set(st.ino, [...(byIno.get(st.ino) ?? []), r]);
      }
      if (kind === 'symlink') n.target = fs.readlinkSync(path.join(root, r));
      if (kind === 'chr') n.rdev = st.rdev;
      out.set(r, n);
      if (kind === 'dir') walk(r);
    }
  };
  walk('');
  for (const paths of byIno.values()) for (const p of paths) out.get(p)!.links = paths;
  for (const [r, n] of out) if (n.kind === 'file') n.hash = blake3(fs.readFileSync(path.join(root, r))).toString('hex');
  return out;
}

export interface Captured {
  tree: Map<string, Node>;
  xattrs: Record<string, Record<string, string>>;
}

/** A tree as it is now (its atimes before anything reads it). */
export function capture(root: string): Captured {
  // Stat before anything reads a directory (relatime moves the atime of one read).
  const tree = treeOf(root);
  const xattrs = xattrsOf(root);
  delete xattrs['.'];
  return { tree, xattrs };
}

export function assertSameTree(got: string | Captured, want: string | Captured, what: string): void {
  const a = typeof got === 'string' ? capture(got) : got, b = typeof want === 'string' ? capture(want) : want;
  assert.deepEqual([...a.tree.keys()], [...b.tree.keys()], `${what}: the same paths`);
  for (const [r, n] of b.tree) assert.deepEqual(a.tree.get(r), n, `${what}: ${r}`);
  assert.deepEqual(a.xattrs, b.xattrs, `${what}: extended attributes`);
}

export const T0 = 1_600_000_000_000;

/**
 * A tree with every kind of entry, owners, modes, times, xattrs, a hole, duplicate files,
 * built at `mnt`; `bigBytes`: the size of b/big (9 MiB + 123 unless told).
 */
export function buildTree(mnt: string, bigBytes = 9 * 1024 * 1024 + 123): { dup: Buffer; small: Buffer } {
  const p = (r: string): string => path.join(mnt, r);
  const dup = randomBytes(300 * 1024);
  const small = Buffer.from('version one of a small file\n');
  fs.mkdirSync(p('a'));
  fs.mkdirSync(p('b'));
  fs.mkdirSync(p('c'));
  fs.mkdirSync(p('ro'));
  fs.writeFileSync(p('a/small.txt'), small);
  fs.writeFileSync(p('a/dup1'), dup);
  fs.writeFileSync(p('b/dup2'), dup);
  fs.writeFileSync(p('b/big'), randomBytes(bigBytes));
  const fd = fs.openSync(p('b/sparse'), 'w');
  fs.writeSync(fd, randomBytes(64 * 1024), 0, 64 * 1024, 0);
  fs.writeSync(fd, randomBytes(64 * 1024), 0, 64 * 1024, 10 * 1024 * 1024);
  fs.closeSync(fd);
  fs.writeFileSync(p('c/empty'), '');
  fs.linkSync(p('a/small.txt'), p('c/hard'));
  fs.symlinkSync('../b/big', p('a/sym'));
  fs.writeFileSync(p('ro/inside'), 'under a read-only directory');
  py(`import os; os.mkfifo(${JSON.stringify(p('c/pipe'))}, 0o640); os.mknod(${JSON.stringify(p('c/null'))}, 0o20644, os.makedev(1, 3))`);
  py(`import os; os.setxattr(${JSON.stringify(p('a/small.txt'))}, 'user.color', b'blue'); os.setxattr(${JSON.stringify(p('b'))}, 'user.kind', b'\\x00\\x01bin')`);
  fs.chownSync(p('a/small.txt'), 1234, 2345);
  fs.chownSync(p('b'), 1001, 1002);
  fs.lchownSync(p('a/sym'), 77, 88);
  fs.chmodSync(p('a/small.txt'), 0o640);
  fs.chmodSync(p('b/big'), 0o4755);
  fs.chmodSync(p('a'), 0o750);
  fs.chmodSync(p('ro/inside'), 0o444);
  let t = T0;
  for (const r of ['a/small.txt', 'a/dup1', 'b/dup2', 'b/big', 'b/sparse', 'c/empty', 'ro/inside', 'c/pipe']) fs.utimesSync(p(r), (t += 1234) / 1000, (t += 777) / 1000);
  fs.lutimesSync(p('a/sym'), (T0 + 5) / 1000, (T0 + 9) / 1000);
  for (const r of ['a', 'b', 'c', 'ro']) fs.utimesSync(p(r), (t += 1001) / 1000, (t += 999) / 1000);
  fs.chmodSync(p('ro'), 0o555);
  return { dup, small };
}
