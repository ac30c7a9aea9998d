/**
 * `get`: read a pool file (every byte verified) into a local file, the caller's stdout
 * (`-`), or a pool directory into a local tree. An existing local directory receives
 * PATH under its own name (cp semantics), except that a directory lands directly in an
 * empty one.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DfsError } from '../../errors';
import { getFile } from '../../fs/files';
import { resolve } from '../../fs/namespace';
import { getLocalFile, getTree, scanPool } from '../../fs/tree';
import { localPath, str } from '../args';
import { progressOf, type AdminOp } from '../context';

export interface GetArgs {
  /** File or directory in the pool. */
  path: string;
  /** Absolute local destination, or `-` for the caller's stdout (local runs only). */
  dest: string;
}

export interface GetData {
  path: string;
  /** Where the bytes went: the local file or directory, or `-`. */
  dest: string;
  files: number;
  bytes: number;
  /** Symlinks and special files under a directory, not copied (as put skips them). */
  skipped: string[];
}

export const get: AdminOp<GetArgs, GetData> = async (engine, args, ctx) => {
  const src = str('get', args, 'path');
  const dest = localPath('get', args, 'dest', true);
  const inode = resolve(engine.meta, src);
  if (inode.kind !== 'file' && inode.kind !== 'dir') {
    throw new DfsError('EINVAL', `${src} is a ${inode.kind}, not a regular file or directory: get copies only those (read it through the mount)`, src);
  }
  if (dest === '-') {
    if (inode.kind !== 'file') throw new DfsError('EISDIR', `${src} is a directory; give a local directory as DEST`, src);
    if (!ctx.stdio) throw new DfsError('EPOOLSERVED', 'get to stdout (-) needs the caller\'s stdout, which a coordinator cannot write to; read through the mount or get into a local file');
    const bytes = await getFile(engine, inode.ino, ctx.stdio.stdout);
    return { path: src, dest, files: 1, bytes, skipped: [] };
  }
  const name = src.split('/').filter(Boolean).pop() ?? 'root';
  const target = isDir(dest) && !(inode.kind === 'dir' && fs.readdirSync(dest).length === 0) ? path.join(dest, name) : dest;
  if (inode.kind === 'dir') {
    const bar = progressOf(ctx, 'get', scanPool(engine, inode.ino).files.reduce((s, f) => s + f.size, 0));
    try {
      const r = await getTree(engine, src, target, (n) => bar.add(n));
      return { path: src, dest: target, files: r.files, bytes: r.bytes, skipped: r.skipped };
    } finally {
      bar.stop();
    }
  }
  const bar = progressOf(ctx, 'get', inode.size);
  try {
    const bytes = await getLocalFile(engine, inode.ino, target, inode.mode & 0o7777, (n) => bar.add(n));
    return { path: src, dest: target, files: 1, bytes, skipped: [] };
  } finally {
    bar.stop();
  }
};

function isDir(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}
