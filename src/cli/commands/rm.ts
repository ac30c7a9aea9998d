/** `dynamicfs rm POOL PATH`: remove a file, or with -r a directory tree. */
import type { Command } from 'commander';
import { invoke } from '../../admin/client';
import type { RmData } from '../../admin/ops';
import { humanBytes, plural } from '../format';
import type { CliContext } from '../verb';

function render(d: RmData): string {
  const parts = [plural(d.files, 'file'), ...(d.dirs > 0 ? [plural(d.dirs, 'directory', 'directories')] : []), humanBytes(d.bytes)];
  return `removed ${d.path} (${parts.join(', ')})`;
}

export function register(program: Command, ctx: CliContext): void {
  program.command('rm')
    .summary('remove a file or directory from the pool')
    .description('Remove PATH from POOL in one metadata transaction, then delete the fragments of its data from the '
      + 'disks (fragments that cannot be deleted now are left for gc). A directory needs -r; the pool root cannot '
      + 'be removed.')
    .argument('<pool>', 'pool directory')
    .argument('<path>', 'file or directory to remove')
    .option('-r, --recursive', 'remove a directory and everything below it')
    .action(async (pool: string, path: string, opts: { recursive?: boolean }) => {
      ctx.emit(await invoke(pool, 'rm', { path, recursive: opts.recursive ?? false }), render);
    });
}
