/** `dynamicfs disks POOL`: the disk table (state, presence, space, fragments, errors). */
import type { Command } from 'commander';
import { invoke } from '../../admin/client';
import type { DisksData } from '../../admin/ops';
import { humanBytes, table } from '../format';
import type { CliContext } from '../verb';

function render(d: DisksData): string {
  if (d.disks.length === 0) return `pool ${d.pool} has no disks; add some with \`dynamicfs add-disk ${d.pool} DIR\``;
  const rows = d.disks.map((x) => [
    x.id, x.path, x.tier, x.state, x.present ? 'yes' : 'MISSING',
    humanBytes(x.capacityBytes), humanBytes(x.usedBytes), humanBytes(x.freeBytes), x.fragments,
    x.readErrors, x.checksumErrors, x.writeErrors,
  ]);
  return table(['ID', 'PATH', 'TIER', 'STATE', 'PRESENT', 'CAPACITY', 'USED', 'FREE', 'FRAGMENTS', 'READ-ERR', 'CSUM-ERR', 'WRITE-ERR'],
    rows, ['ID', 'CAPACITY', 'USED', 'FREE', 'FRAGMENTS', 'READ-ERR', 'CSUM-ERR', 'WRITE-ERR']);
}

export function register(program: Command, ctx: CliContext): void {
  program.command('disks')
    .summary('list the pool\'s disks')
    .description('List the disks of POOL: id, path, tier, health state, whether the disk is present (its label is '
      + 'there), the space of its filesystem, how many fragments the metadata places on it, and its read, checksum '
      + 'and write error counters.')
    .argument('<pool>', 'pool directory')
    .action(async (pool: string) => {
      ctx.emit(await invoke(pool, 'disks', {}), render);
    });
}
