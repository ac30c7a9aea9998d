/** `dynamicfs compact POOL`: rewrite packs left sparse by deleted small files. */
import type { Command } from 'commander';
import { invoke } from '../../admin/client';
import { DEFAULT_COMPACT_BELOW } from '../../engine/compact';
import { DfsError } from '../../errors';
import { parseBytes } from '../format';
import { localContext, jsonOf, type CliContext } from '../verb';
import { requestIdOf, withRequestId } from '../request-id';
import { renderJobOutcome } from './job-output';

export function register(program: Command, ctx: CliContext): void {
  withRequestId(program.command('compact'))
    .summary('rewrite packs of small files left sparse by deletes')
    .description('Small files written through the mount share packs (one set of fragment files for many files). '
      + 'Deleting or overwriting them leaves dead bytes in their packs; this job rewrites every pack whose live '
      + 'bytes are at most --below of its size as a new, full pack and frees the old one. Through a running '
      + 'coordinator it starts (or joins) the job and returns, unless --wait; without one it runs here to the end.')
    .argument('<pool>', 'pool directory')
    .option('--below <fraction>', `rewrite packs at most this full, from 0 to 1 (default: the pool's compact.belowFraction, ${DEFAULT_COMPACT_BELOW} unless set)`)
    .option('--wait', 'with a coordinator running: wait for the job to end')
    .option('--rate <bytes>', 'cap the job\'s I/O at this many bytes per second, such as 8M (default: no limit)')
    .action(async (pool: string, o: { wait?: boolean; rate?: string; below?: string; requestId?: string }, cmd: Command) => {
      const rate = o.rate === undefined ? undefined : parseBytes(o.rate, '--rate');
      const below = o.below === undefined ? undefined : Number(o.below);
      if (below !== undefined && (!Number.isFinite(below) || below < 0 || below > 1)) {
        throw new DfsError('EINVAL', `--below ${o.below}: give a fraction from 0 to 1, such as 0.5`);
      }
      ctx.emit(await invoke(pool, 'compact', { wait: !!o.wait, ...(below === undefined ? {} : { below }), ...(rate === undefined ? {} : { rateBytesPerSec: rate }) },
        { local: localContext(jsonOf(cmd)), ...requestIdOf(o) }), renderJobOutcome);
    });
}
