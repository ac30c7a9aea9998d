/** `dynamicfs put POOL SRC PATH`: store a local file, a directory tree, or stdin (`-`). */
import * as path from 'node:path';
import type { Command } from 'commander';
import { invoke } from '../../admin/client';
import { parsePolicy } from '../../pool/policy';
import { humanBytes } from '../format';
import { jsonOf, localContext, type RegisterVerb } from '../verb';

export const register: RegisterVerb = (program: Command, ctx) => {
  program.command('put')
    .description('store a local file or directory tree (or stdin with "-") at PATH in the pool; a file is replaced atomically')
    .argument('<pool>', 'pool directory')
    .argument('<src>', 'local file, directory, or - for stdin')
    .argument('<path>', 'destination in the pool: a file SRC put on an existing directory lands inside it under its own name; a directory SRC becomes PATH (merged if it exists)')
    .option('--redundancy <policy>', 'rs:K+M or mirror:N for these files (default: the pool\'s)')
    .action(async (pool: string, src: string, dest: string, o: { redundancy?: string }, cmd: Command) => {
      if (o.redundancy !== undefined) parsePolicy(o.redundancy); // a bad policy fails before anything is read
      const stdin = src === '-';
      const data = await invoke(pool, 'put', { src: stdin ? '-' : path.resolve(src), dest, redundancy: o.redundancy }, {
        local: localContext(jsonOf(cmd), stdin),
        ...(stdin ? { localOnly: 'stdin cannot be sent over its admin socket: write the file through the mount, or save it to a local file and put that' } : {}),
      });
      ctx.emit(data, (d) => `stored ${d.files} file${d.files === 1 ? '' : 's'} (${humanBytes(d.bytes)}) at ${d.path}` +
        (d.skipped.length ? `\nskipped (not regular files): ${d.skipped.join(', ')}` : ''));
    });
};
