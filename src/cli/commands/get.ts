/** `dynamicfs get POOL PATH DEST`: read a file (verified) to a local path or stdout, or a directory tree. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import { DfsError } from '../../errors';
import { getFile } from '../../fs/files';
import { resolve } from '../../fs/namespace';
import { getLocalFile, getTree, scanPool } from '../../fs/tree';
import { humanBytes } from '../format';
import { byteProgress } from '../progress';
import { withEngine, type RegisterVerb } from '../verb';

interface GetData {
  path: string;
  dest: string;
  files: number;
  bytes: number;
}

export const register: RegisterVerb = (program: Command, ctx) => {
  program.command('get')
    .description('read PATH from the pool (every byte verified) into DEST: a file, a directory, or - for stdout')
    .argument('<pool>', 'pool directory')
    .argument('<path>', 'file or directory in the pool')
    .argument('<dest>', 'local destination (an existing directory receives PATH under its own name), or - for stdout')
    .action(async (pool: string, src: string, dest: string, _o: unknown, cmd: Command) => {
      const json = !!cmd.optsWithGlobals().json;
      const data = await withEngine(pool, async (engine): Promise<GetData> => {
        const inode = resolve(engine.meta, src);
        const ino = inode.ino;
        if (dest === '-') {
          if (inode.kind !== 'file') throw new DfsError('EISDIR', `${src} is a directory; give a local directory as DEST`, src);
          if (json) throw new DfsError('EINVAL', '--json and - (stdout) cannot be combined: the file\'s bytes would mix with the JSON');
          const bytes = await getFile(engine, ino, process.stdout);
          return { path: src, dest, files: 1, bytes };
        }
        const name = src.split('/').filter(Boolean).pop() ?? 'root';
        const target = fs.existsSync(dest) && fs.statSync(dest).isDirectory() && !(inode.kind === 'dir' && isEmptyDir(dest)) ? path.join(dest, name) : dest;
        if (inode.kind === 'dir') {
          const bar = byteProgress('get', scanPool(engine, ino).files.reduce((s, f) => s + f.size, 0), json);
          try {
            const r = await getTree(engine, src, target, (n) => bar.add(n));
            return { path: src, dest: target, files: r.files, bytes: r.bytes };
          } finally {
            bar.stop();
          }
        }
        const bar = byteProgress('get', inode.size, json);
        try {
          const bytes = await getLocalFile(engine, ino, target, inode.mode & 0o7777, (n) => bar.add(n));
          return { path: src, dest: target, files: 1, bytes };
        } finally {
          bar.stop();
        }
      });
      if (data.dest === '-') return; // stdout carried the file itself
      ctx.emit(data, (d) => `read ${d.files} file${d.files === 1 ? '' : 's'} (${humanBytes(d.bytes)}) into ${d.dest}`);
    });
};

function isEmptyDir(dir: string): boolean {
  return fs.readdirSync(dir).length === 0;
}
