/**
 * `put`: store a local file, a local directory tree, or the caller's stdin (`-`) at a
 * pool path. A file replaces its target atomically; a tree lands AT the destination
 * (merged into it if it exists), so re-putting a tree updates it in place.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DfsError } from '../../errors';
import { putFile } from '../../fs/files';
import { lookupPath } from '../../fs/namespace';
import { streamSource } from '../../fs/sources';
import { putLocalFile, putTree, scanLocal } from '../../fs/tree';
import type { MetaStore } from '../../meta/store';
import { parsePolicy } from '../../pool/policy';
import { localPath, optStr, str } from '../args';
import { progressOf, type AdminOp } from '../context';

export interface PutArgs {
  /** Absolute local path of a file or directory, or `-` for the caller's stdin (local runs only). */
  src: string;
  /** Destination in the pool. */
  dest: string;
  /** rs:K+M or mirror:N for these files; the pool default when absent. */
  redundancy?: string;
}

export interface PutData {
  path: string;
  files: number;
  dirs: number;
  bytes: number;
  skipped: string[];
}

export const put: AdminOp<PutArgs, PutData> = async (engine, args, ctx) => {
  const src = localPath('put', args, 'src', true);
  const dest = str('put', args, 'dest');
  const redundancy = optStr('put', args, 'redundancy');
  const policy = redundancy === undefined ? undefined : parsePolicy(redundancy);
  if (src === '-') {
    if (!ctx.stdio) throw new DfsError('EPOOLSERVED', 'put from stdin (-) needs the caller\'s stdin, which cannot be sent to a coordinator; write through the mount or put a local file');
    const bar = progressOf(ctx, 'put', 0);
    try {
      const r = await putFile(engine, dest, streamSource(ctx.stdio.stdin), { policy, onProgress: (n) => { bar.grow(0); bar.add(n); } });
      return { path: dest, files: 1, dirs: 0, bytes: r.size, skipped: [] };
    } finally {
      bar.stop();
    }
  }
  let st: fs.Stats;
  try {
    st = fs.statSync(src);
  } catch {
    throw new DfsError('ENOENT', `source ${src} does not exist`, src);
  }
  if (st.isDirectory()) {
    const scan = scanLocal(src);
    const bar = progressOf(ctx, 'put', scan.files.reduce((s, f) => s + f.size, 0));
    try {
      const r = await putTree(engine, src, dest, policy, (n) => bar.add(n));
      return { path: dest, ...r };
    } finally {
      bar.stop();
    }
  }
  if (!st.isFile()) throw new DfsError('EINVAL', `source ${src} is not a regular file or directory`, src);
  const target = intoDirectory(engine.meta, dest, path.basename(src));
  const bar = progressOf(ctx, 'put', st.size);
  try {
    const r = await putLocalFile(engine, src, target, policy, (n) => bar.add(n));
    return { path: target, files: 1, dirs: 0, bytes: r.size, skipped: [] };
  } finally {
    bar.stop();
  }
};

/** `dest` itself, or dest/name when dest is an existing directory in the pool (cp semantics). */
function intoDirectory(store: MetaStore, dest: string, name: string): string {
  if (lookupPath(store, dest).inode?.kind === 'dir') return `${dest.replace(/\/+$/, '')}/${name}`;
  return dest;
}
