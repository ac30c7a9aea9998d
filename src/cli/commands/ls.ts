/** `dynamicfs ls POOL [PATH]`: list a directory of the pool (or show one file). */
import type { Command } from 'commander';
import { lookupPath, Namespace, type EntryInfo } from '../../fs/namespace';
import { humanBytes, modeString, table, timeString } from '../format';
import { withEngine, type CliContext } from '../verb';

export interface LsData {
  path: string;
  kind: 'file' | 'dir' | 'symlink';
  entries: EntryInfo[];
}

/** The entries of the directory at `path`, or the file itself when `path` is a file. */
export async function list(poolDir: string, path: string): Promise<LsData> {
  return withEngine(poolDir, (engine) => {
    const ns = new Namespace(engine.meta, engine);
    const self = ns.entry(path);
    const canonical = lookupPath(engine.meta, path).path;
    if (self.kind !== 'dir') return { path: canonical, kind: self.kind, entries: [self] };
    return { path: canonical, kind: 'dir', entries: ns.readdir(path) };
  });
}

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
      ctx.emit(await list(pool, path), opts.long ? renderLong : renderShort);
    });
}
