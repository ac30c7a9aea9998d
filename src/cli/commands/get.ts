/** `dynamicfs get POOL PATH DEST`: read a file (verified) to a local path or stdout, or a directory tree. */
import * as path from 'node:path';
import type { Command } from 'commander';
import { invoke } from '../../admin/client';
import { DfsError } from '../../errors';
import { humanBytes } from '../format';
import { jsonOf, localContext, type RegisterVerb } from '../verb';

export const register: RegisterVerb = (program: Command, ctx) => {
  program.command('get')
    .description('read PATH from the pool (every byte verified) into DEST: a file, a directory, or - for stdout')
    .argument('<pool>', 'pool directory')
    .argument('<path>', 'file or directory in the pool')
    .argument('<dest>', 'local destination (an existing directory receives PATH under its own name), or - for stdout')
    .action(async (pool: string, src: string, dest: string, _o: unknown, cmd: Command) => {
      const json = jsonOf(cmd);
      const stdout = dest === '-';
      if (stdout && json) throw new DfsError('EINVAL', '--json and - (stdout) cannot be combined: the file\'s bytes would mix with the JSON');
      const data = await invoke(pool, 'get', { path: src, dest: stdout ? '-' : path.resolve(dest) }, {
        local: localContext(json, stdout),
        ...(stdout ? { localOnly: 'the file cannot come back over its admin socket to stdout: read it through the mount, or get it into a local file' } : {}),
      });
      if (stdout) return; // stdout carried the file itself
      ctx.emit(data, (d) => `read ${d.files} file${d.files === 1 ? '' : 's'} (${humanBytes(d.bytes)}) into ${d.dest}` +
        (d.skipped.length ? `\nskipped (not regular files): ${d.skipped.join(', ')}` : ''));
    });
};
