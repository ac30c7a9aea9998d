/** `dynamicfs put POOL SRC PATH`: store a local file, a directory tree, or stdin (`-`). */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import { DfsError } from '../../errors';
import { putFile } from '../../fs/files';
import { lookupPath } from '../../fs/namespace';
import { streamSource } from '../../fs/sources';
import { putLocalFile, putTree, scanLocal } from '../../fs/tree';
import { parsePolicy } from '../../pool/policy';
import { humanBytes } from '../format';
import { byteProgress } from '../progress';
import { withEngine, type RegisterVerb } from '../verb';

interface PutData {
  path: string;
  files: number;
  dirs: number;
  bytes: number;
  skipped: string[];
}

export const register: RegisterVerb = (program: Command, ctx) => {
  program.command('put')
    .description('store a local file or directory tree (or stdin with "-") at PATH in the pool; a file is replaced atomically')
    .argument('<pool>', 'pool directory')
    .argument('<src>', 'local file, directory, or - for stdin')
    .argument('<path>', 'destination in the pool: a file SRC put on an existing directory lands inside it under its own name; a directory SRC becomes PATH (merged if it exists)')
    .option('--redundancy <policy>', 'rs:K+M or mirror:N for these files (default: the pool\'s)')
    .action(async (pool: string, src: string, dest: string, o: { redundancy?: string }, cmd: Command) => {
      const json = !!cmd.optsWithGlobals().json;
      const policy = o.redundancy ? parsePolicy(o.redundancy) : undefined;
      const data = await withEngine(pool, async (engine): Promise<PutData> => {
        if (src === '-') {
          const bar = byteProgress('put', 0, json);
          try {
            const r = await putFile(engine, dest, streamSource(process.stdin), { policy, onProgress: (n) => { bar.grow(0); bar.add(n); } });
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
          // A tree lands AT dest (merged into it if it exists), so re-putting a tree updates it in place.
          const target = dest;
          const scan = scanLocal(src);
          const bar = byteProgress('put', scan.files.reduce((s, f) => s + f.size, 0), json);
          try {
            const r = await putTree(engine, src, target, policy, (n) => bar.add(n));
            return { path: target, ...r };
          } finally {
            bar.stop();
          }
        }
        if (!st.isFile()) throw new DfsError('EINVAL', `source ${src} is not a regular file or directory`, src);
        const target = intoDirectory(engine.meta, dest, path.basename(path.resolve(src)));
        const bar = byteProgress('put', st.size, json);
        try {
          const r = await putLocalFile(engine, src, target, policy, (n) => bar.add(n));
          return { path: target, files: 1, dirs: 0, bytes: r.size, skipped: [] };
        } finally {
          bar.stop();
        }
      });
      ctx.emit(data, (d) => `stored ${d.files} file${d.files === 1 ? '' : 's'} (${humanBytes(d.bytes)}) at ${d.path}` +
        (d.skipped.length ? `\nskipped (not regular files): ${d.skipped.join(', ')}` : ''));
    });
};

/** `dest` itself, or dest/name when dest is an existing directory in the pool (cp semantics). */
function intoDirectory(store: Parameters<typeof lookupPath>[0], dest: string, name: string): string {
  if (lookupPath(store, dest).inode?.kind === 'dir') return `${dest.replace(/\/+$/, '')}/${name}`;
  return dest;
}
