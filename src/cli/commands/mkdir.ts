/** `dynamicfs mkdir POOL PATH`: create a directory in the pool. */
import type { Command } from 'commander';
import { Namespace } from '../../fs/namespace';
import { withEngine, type CliContext } from '../verb';

export interface MkdirData {
  path: string;
  ino: number;
  /** Directories this run created, parents first (empty with -p on an existing directory). */
  created: string[];
}

/** Create `path`; with `parents`, also its missing ancestors, and accept an existing directory. */
export async function makeDirectory(poolDir: string, path: string, parents: boolean): Promise<MkdirData> {
  return withEngine(poolDir, (engine) => new Namespace(engine.meta, engine).mkdir(path, { parents }));
}

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
      ctx.emit(await makeDirectory(pool, path, opts.parents ?? false), render);
    });
}
