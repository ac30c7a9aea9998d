/** `dynamicfs stat POOL PATH`: an inode, its extents and where every fragment lives. */
import type { Command } from 'commander';
import { invoke } from '../../admin/client';
import type { StatData } from '../../admin/ops';
import { humanBytes, KIND_NAME, keyValues, modeString, plural, table, timeString } from '../format';
import type { CliContext } from '../verb';

function extentPolicy(e: StatData['extents'][number]): string {
  if (e.scheme === 'inline') return 'inline (in the metadata store)';
  if (e.pack) {
    const p = e.pack;
    const policy = p.scheme === null ? 'not written yet' : p.scheme === 'mirror' ? `mirror:${p.k + p.m}` : `${p.scheme}:${p.k}+${p.m}`;
    return `packed (at offset ${p.offset} of pack ${p.id}, ${policy}, ${plural(p.fragments.length, 'fragment')})`;
  }
  return e.scheme === 'mirror' ? `mirror:${e.k + e.m}` : `${e.scheme}:${e.k}+${e.m}`;
}

function render(d: StatData): string {
  const pairs: [string, string | number][] = [
    ['kind', KIND_NAME[d.kind]],
    ['inode', d.ino],
    ['size', d.kind === 'file' ? `${humanBytes(d.size)} (${d.size} bytes)` : '-'],
    ['mode', modeString(d.kind, d.mode)],
    ['owner', `uid ${d.uid}, gid ${d.gid}`],
    ['links', d.nlink],
    ['accessed', timeString(d.atimeMs)],
    ['modified', timeString(d.mtimeMs)],
    ['changed', timeString(d.ctimeMs)],
    ['policy', d.policy ?? `${d.effectivePolicy} (pool default)`],
  ];
  if (d.entries !== undefined) pairs.push(['entries', d.entries]);
  if (d.kind === 'file') pairs.push(['extents', `${d.extents.length} (${plural(d.fragments, 'fragment')})`]);
  const out = [d.path, keyValues(pairs, '  ')];
  for (const [i, e] of d.extents.entries()) {
    out.push('', `extent ${i}: offset ${e.offset}, ${humanBytes(e.length)}, ${extentPolicy(e)}, id ${e.id}`);
    if (e.fragments.length > 0) {
      const rows = e.fragments.map((f) => [f.index, f.diskId, f.diskPath ?? '(unregistered disk)', `${f.hash.slice(0, 16)}…`]);
      out.push(table(['INDEX', 'DISK', 'PATH', 'BLAKE3'], rows, ['INDEX', 'DISK']).replace(/^/gm, '  '));
    }
  }
  return out.join('\n');
}

export function register(program: Command, ctx: CliContext): void {
  program.command('stat')
    .summary('show a file or directory in detail')
    .description('Show PATH in POOL: kind, size, mode, owner, times and redundancy policy; for a file also every extent '
      + '(offset, length, scheme) and where each of its fragments lives (disk id, disk path, index, BLAKE3).')
    .argument('<pool>', 'pool directory')
    .argument('<path>', 'file or directory inside the pool')
    .action(async (pool: string, path: string) => {
      ctx.emit(await invoke(pool, 'stat', { path }), render);
    });
}
