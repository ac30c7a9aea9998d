/** `dynamicfs mkdir POOL PATH`: create a directory in the pool. */
import type { Command } from 'commander';
import { invoke } from '../../admin/client';
import type { MkdirData } from '../../admin/ops';
import type { CliContext } from '../verb';

function render(d: MkdirData): string {
  return d.created.map((p) => `created ${p}`).join('\n');
}

export function register(program: Command, ctx: CliContext): void {
  program.command('mkdir')
    .summary('create a directory in the pool')
    .description('Create directory PATH in POOL. Fails with EEXIST if PATH exists and ENOENT if its parent does not, '
      + 'unless -p is given.')
    .argument('<pool>', 'pool directory')
    .argument('<path>', 'directory to create, e.g. /photos/2024')
    .option('-p, --parents', 'create missing parent directories too; an existing directory is not an error')
    .action(async (pool: string, path: string, opts: { parents?: boolean }) => {
      ctx.emit(await invoke(pool, 'mkdir', { path, parents: opts.parents ?? false }), render);
    });
}
