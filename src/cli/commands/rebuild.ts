/** `dynamicfs rebuild POOL`: restore full redundancy now. */
import type { Command } from 'commander';
import { invoke } from '../../admin/client';
import { localContext, jsonOf, type CliContext } from '../verb';
import { requestIdOf, withRequestId } from '../request-id';
import { parseBytes } from '../format';
import { renderJobOutcome } from './job-output';

export function register(program: Command, ctx: CliContext): void {
  withRequestId(program.command('rebuild'))
    .summary('restore full redundancy (rebuild lost or corrupt fragments)')
    .description('Rebuild every extent that lost fragments (a failed or missing disk, a corrupt fragment found by a '
      + 'read or a scrub) from any K good fragments onto healthy disks, riskiest extents first. A mounted pool '
      + 'does this by itself; through its coordinator this starts (or joins) the job and returns, unless --wait. '
      + 'Without a coordinator it runs here to the end. Extents with fewer than K readable fragments are '
      + 'reported by file path and left untouched.')
    .argument('<pool>', 'pool directory')
    .option('--wait', 'with a coordinator running: wait for the job to end')
    .option('--rate <bytes>', 'cap the rebuild\'s I/O at this many bytes per second, such as 8M (default: no limit); '
      + 'given while a rebuild runs, changes its rate')
    .action(async (pool: string, o: { wait?: boolean; rate?: string; requestId?: string }, cmd: Command) => {
      const rate = o.rate === undefined ? undefined : parseBytes(o.rate, '--rate');
      ctx.emit(await invoke(pool, 'rebuild', { wait: !!o.wait, ...(rate === undefined ? {} : { rateBytesPerSec: rate }) },
        { local: localContext(jsonOf(cmd)), ...requestIdOf(o) }), renderJobOutcome);
    });
}
