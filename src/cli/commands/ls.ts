/** `dynamicfs ls POOL [PATH]`: list a directory of the pool (or show one file). */
import type { Command } from 'commander';
import { invoke } from '../../admin/client';
import type { LsData } from '../../admin/ops';
import { humanBytes, modeString, table, timeString } from '../format';
import type { CliContext } from '../verb';

function renderShort(d: LsData): string {
  return d.entries.map((e) => (e.kind === 'dir' ? `${e.name}/` : e.name)).join('\n');
}

function renderLong(d: LsData): string {
  if (d.entries.length === 0) return '';
  const rows = d.entries.map((e) => [modeString(e.kind, e.mode), e.nlink, humanBytes(e.size), timeString(e.mtimeMs), e.kind === 'dir' ? `${e.name}/` : e.name]);
  return table(['MODE', 'LINKS', 'SIZE', 'MODIFIED', 'NAME'], rows, ['LINKS', 'SIZE']);
}

export function register(program: Command, ctx: CliContext): void {
  program.command('ls')
    .summary('list a directory in the pool')
    .description('List the entries of directory PATH in POOL, sorted by name (directories end in "/"). '
      + 'For a file, show that file. Pool paths start at the pool root: "/a/b" and "a/b" are the same.')
    .argument('<pool>', 'pool directory')
    .argument('[path]', 'directory or file inside the pool', '/')
    .option('-l, --long', 'long format: mode, links, size, modification time')
    .action(async (pool: string, path: string, opts: { long?: boolean }) => {
      ctx.emit(await invoke(pool, 'ls', { path }), opts.long ? renderLong : renderShort);
    });
}
