/** `dynamicfs drain POOL DISK`: move every fragment off a disk before removing it. */
import type { Command } from 'commander';
import { invoke } from '../../admin/client';
import { diskSpec } from '../disk-spec';
import { localContext, jsonOf, type CliContext } from '../verb';
import { requestIdOf, withRequestId } from '../request-id';
import { renderJobOutcome } from './job-output';

export function register(program: Command, ctx: CliContext): void {
  withRequestId(program.command('drain'))
    .summary('move every fragment off a disk (then remove-disk)')
    .description('Mark DISK draining — it takes no new fragments — and move each fragment it holds onto another '
      + 'healthy disk (never one holding another fragment of the same extent), committing each move. When it is '
      + 'done, `dynamicfs remove-disk POOL DISK` takes the disk out. DISK is an id, path or uuid from `disks`.')
    .argument('<pool>', 'pool directory')
    .argument('<disk>', 'disk id, path or uuid')
    .option('--wait', 'with a coordinator running: wait for the job to end')
    .action(async (pool: string, disk: string, o: { wait?: boolean; requestId?: string }, cmd: Command) => {
      ctx.emit(await invoke(pool, 'drain', { disk: diskSpec(disk), wait: !!o.wait }, { local: localContext(jsonOf(cmd)), ...requestIdOf(o) }), renderJobOutcome);
    });
}
