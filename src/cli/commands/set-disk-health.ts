/** `dynamicfs set-disk-health POOL DISK STATE`: move a disk to a health state by hand. */
import type { Command } from 'commander';
import { invoke } from '../../admin/client';
import type { SetDiskHealthData } from '../../admin/ops';
import type { CliContext } from '../verb';
import { diskSpec } from '../disk-spec';
import { requestIdOf, withRequestId } from '../request-id';

export function register(program: Command, ctx: CliContext): void {
  withRequestId(program.command('set-disk-health'))
    .summary('set a disk\'s health state by hand')
    .description('Move DISK to STATE: healthy, degraded, suspect, draining or failed. Only healthy disks receive new '
      + 'fragments; reads use any disk but a failed one. Failing a disk makes a mounted pool rebuild what it held '
      + '(offline: run `dynamicfs rebuild`). Setting healthy also zeroes the disk\'s error counters. The transition '
      + 'is recorded with REASON in `disk-events`.')
    .argument('<pool>', 'pool directory')
    .argument('<disk>', 'disk id, path or uuid')
    .argument('<state>', 'healthy, degraded, suspect, draining or failed')
    .option('--reason <text>', 'why (kept in the event history)')
    .action(async (pool: string, disk: string, state: string, o: { reason?: string; requestId?: string }) => {
      ctx.emit(await invoke(pool, 'set-disk-health', { disk: diskSpec(disk), state, reason: o.reason }, requestIdOf(o)),
        (d: SetDiskHealthData) => d.changed ? `disk ${d.disk.id} (${d.disk.path}): ${d.from} -> ${d.to} (${d.reason})` : `disk ${d.disk.id} is already ${d.to}`);
    });
}
