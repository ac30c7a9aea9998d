/** `dynamicfs mv POOL FROM TO`: rename or move an entry inside the pool. */
import type { Command } from 'commander';
import { invoke } from '../../admin/client';
import type { MvData } from '../../admin/ops';
import type { CliContext } from '../verb';

function render(d: MvData): string {
  if (d.from === d.to) return `${d.from}: already there, nothing to do`;
  return `moved ${d.from} -> ${d.to}${d.replaced ? ` (replaced the ${d.replaced.kind === 'dir' ? 'empty directory' : 'file'} that was there)` : ''}`;
}

export function register(program: Command, ctx: CliContext): void {
  program.command('mv')
    .summary('move or rename a file or directory in the pool')
    .description('Move FROM to TO inside POOL in one metadata transaction; no file data is copied.\n'
      + '  TO is an existing directory   FROM moves inside it, keeping its name\n'
      + '  TO is an existing file        a file FROM replaces it (its data is deleted)\n'
      + '  TO does not exist             FROM is renamed to TO (TO\'s parent must exist)\n'
      + 'A directory cannot move into itself (EINVAL) or replace a non-empty directory (ENOTEMPTY); '
      + 'a file cannot replace a directory (EISDIR), nor a directory a file (ENOTDIR).')
    .argument('<pool>', 'pool directory')
    .argument('<from>', 'entry to move')
    .argument('<to>', 'new path, or a directory to move into')
    .action(async (pool: string, from: string, to: string) => {
      ctx.emit(await invoke(pool, 'mv', { from, to }), render);
    });
}
