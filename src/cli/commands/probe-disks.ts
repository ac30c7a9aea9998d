/** `dynamicfs probe-disks POOL`: check every disk now (label, write + fsync + read-back, latency, space). */
import type { Command } from 'commander';
import { invoke } from '../../admin/client';
import type { ProbeDisksData } from '../../admin/ops';
import { humanBytes, table } from '../format';
import type { CliContext } from '../verb';
import { requestIdOf, withRequestId } from '../request-id';

function render(d: ProbeDisksData): string {
  return table(['ID', 'PATH', 'LABEL', 'LATENCY', 'FREE', 'STATE', 'PROBLEM'], d.disks.map((x) => [
    x.id, x.path, x.label, x.latencyMs === null ? '-' : `${x.latencyMs.toFixed(1)} ms`, humanBytes(x.freeBytes),
    x.state === x.stateBefore ? x.state : `${x.stateBefore} -> ${x.state}`, x.problem ?? '']), ['ID']);
}

export function register(program: Command, ctx: CliContext): void {
  withRequestId(program.command('probe-disks'))
    .summary('probe every disk: label, write/fsync/read-back latency, space')
    .description('For each disk of POOL: check its label is there and is this pool\'s (a missing or foreign label '
      + 'fails the disk), write a 64 KiB probe file with fsync and read it back (an error fails the disk, or makes '
      + 'it suspect when read-only or full; a slow round trip makes it suspect), and report free space. State '
      + 'changes are recorded in `disk-events`; a probe never makes a disk healthier (use set-disk-health).')
    .argument('<pool>', 'pool directory')
    .action(async (pool: string, o: { requestId?: string }) => {
      ctx.emit(await invoke(pool, 'probe-disks', {}, requestIdOf(o)), render);
    });
}
