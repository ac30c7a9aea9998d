/** `dynamicfs rebuild POOL`: restore full redundancy now. */
import type { Command } from 'commander';
import { invoke } from '../../admin/client';
import { localContext, jsonOf, type CliContext } from '../verb';
import { renderJobOutcome } from './job-output';

export function register(program: Command, ctx: CliContext): void {
  program.command('rebuild')
    .summary('restore full redundancy (rebuild lost or corrupt fragments)')
    .description('Rebuild every extent that lost fragments (a failed or missing disk, a corrupt fragment found by a '
      + 'read or a scrub) from any K good fragments onto healthy disks, riskiest extents first. A mounted pool '
      + 'does this by itself; through its coordinator this starts (or joins) the job and returns, unless --wait. '
      + 'Without a coordinator it runs here to the end. Extents with fewer than K readable fragments are '
      + 'reported by file path and left untouched.')
    .argument('<pool>', 'pool directory')
    .option('--wait', 'with a coordinator running: wait for the job to end')
    .action(async (pool: string, o: { wait?: boolean }, cmd: Command) => {
      ctx.emit(await invoke(pool, 'rebuild', { wait: !!o.wait }, { local: localContext(jsonOf(cmd)) }), renderJobOutcome);
    });
}
