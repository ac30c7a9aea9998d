/**
 * `dynamicfs add-disk POOL DIR`: label a directory and register it as a disk. The
 * pool refuses anything that is not a usable, empty slot (and changes nothing then).
 */
import * as path from 'node:path';
import type { Command } from 'commander';
import { invoke } from '../../admin/client';
import type { AddDiskData } from '../../admin/ops';
import { keyValues } from '../format';
import type { CliContext } from '../verb';
import { requestIdOf, withRequestId } from '../request-id';

function render(d: AddDiskData): string {
  const lines = [
    `added disk ${d.disk.id}: ${d.disk.path}`,
    keyValues([['uuid', d.disk.uuid], ['tier', d.disk.tier], ['state', d.disk.state]], '  '),
  ];
  if (d.disks < d.needed) lines.push(`the pool has ${d.disks} of the ${d.needed} disks its redundancy needs; add ${d.needed - d.disks} more`);
  else lines.push(`the pool has ${d.disks} disks`);
  return lines.join('\n');
}

export function register(program: Command, ctx: CliContext): void {
  withRequestId(program.command('add-disk'))
    .summary('add a directory to the pool as a disk')
    .description('Label DIR as a disk of POOL and register it. DIR must exist, be a writable directory outside the pool '
      + 'directory, and not already belong to a pool. Ideally each disk is its own device: fragments of one extent '
      + 'always go to distinct disks, so redundancy is only as real as their independence.')
    .argument('<pool>', 'pool directory')
    .argument('<dir>', 'directory to use as a disk (usually the mount point of a drive)')
    .option('--tier <tier>', 'storage tier: hot, warm or cold (for tiering policies)', 'warm')
    .action(async (pool: string, dir: string, opts: { tier: string; requestId?: string }) => {
      ctx.emit(await invoke(pool, 'add-disk', { dir: path.resolve(dir), tier: opts.tier }, requestIdOf(opts)), render);
    });
}
