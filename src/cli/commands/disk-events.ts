/** `dynamicfs disk-events POOL [DISK]`: the history of disk state transitions. */
import type { Command } from 'commander';
import { invoke } from '../../admin/client';
import type { DiskEventsData } from '../../admin/ops';
import { table } from '../format';
import type { CliContext } from '../verb';
import { diskSpec } from '../disk-spec';

function render(d: DiskEventsData): string {
  if (d.events.length === 0) return 'no disk events';
  return table(['TIME', 'DISK', 'PATH', 'FROM', 'TO', 'BY', 'REQUEST', 'REASON'], d.events.map((e) => [
    new Date(e.atMs).toISOString().replace('T', ' ').slice(0, 23), e.diskId, e.path ?? '(removed)', e.from ?? '-', e.to, e.source, e.reqId ?? '-', e.reason]), ['DISK']);
}

export function register(program: Command, ctx: CliContext): void {
  program.command('disk-events')
    .summary('show the history of disk state changes')
    .description('List every disk state transition of POOL (or of DISK), oldest first: when, from and to which state, '
      + 'what made it (operator, monitor, probe, errors, pool; repair: a note of where a repair put a fragment that was bad on the disk, same state before and after), '
      + 'the admin request that caused it (`--request-id`; `dynamicfs events POOL --request ID` shows the rest of what it did) and why.')
    .argument('<pool>', 'pool directory')
    .argument('[disk]', 'only this disk: id, path or uuid')
    .action(async (pool: string, disk: string | undefined) => {
      ctx.emit(await invoke(pool, 'disk-events', disk === undefined ? {} : { disk: diskSpec(disk) }), render);
    });
}
