/** `dynamicfs metrics POOL`: the figures GET /metrics serves (Prometheus text), or /metrics/json with --json. */
import type { Command } from 'commander';
import { invoke } from '../../admin/client';
import { jsonOf, type CliContext } from '../verb';

export function register(program: Command, ctx: CliContext): void {
  program.command('metrics')
    .summary('print the pool\'s metrics (Prometheus text format)')
    .description('Print the metrics of POOL in the Prometheus text format, as GET /metrics serves them; with --json, '
      + 'as GET /metrics/json does. Through a running coordinator these are its live figures (fragment reads and '
      + 'writes per disk, FUSE operations, cache, metadata commits since it started); offline, event counters are '
      + 'empty and the pool\'s state (disk states and space, extents by health, repair queue) is what they show.')
    .argument('<pool>', 'pool directory')
    .action(async (pool: string, _o: unknown, cmd: Command) => {
      const d = await invoke(pool, 'metrics', { format: jsonOf(cmd) ? 'json' : 'text' });
      ctx.emit(d, (x) => (x.format === 'text' ? x.text : JSON.stringify(x.metrics)));
    });
}
