/** `dynamicfs config POOL [--set health.KEY=N ...]`: show or change the pool's settings. */
import type { Command } from 'commander';
import { invoke } from '../../admin/client';
import type { ConfigData } from '../../admin/ops';
import { DfsError } from '../../errors';
import { keyValues } from '../format';
import type { CliContext } from '../verb';

function render(d: ConfigData): string {
  return [`pool ${d.pool}`, keyValues(Object.entries(d.health).map(([k, v]) => [`health.${k}`, v as number]), '  '),
    `  scrub schedule: ${d.scrub === null ? 'none (manual)' : JSON.stringify(d.scrub)}`].join('\n');
}

export function register(program: Command, ctx: CliContext): void {
  program.command('config')
    .summary('show or change the pool\'s settings (health thresholds)')
    .description('Show POOL\'s settings: the disk health thresholds — I/O errors at which a disk turns degraded, '
      + 'suspect and failed, the probe latency that makes it suspect, how often a running coordinator checks its '
      + 'disks — and the scrub schedule (set with scrub-schedule). --set changes a threshold; a running coordinator '
      + 'applies it at its next check (the monitor interval at its next start).')
    .argument('<pool>', 'pool directory')
    .option('--set <key=value...>', 'e.g. --set health.failedErrors=20 health.suspectLatencyMs=2000')
    .action(async (pool: string, o: { set?: string[] }) => {
      let set: Record<string, number> | undefined;
      if (o.set) {
        set = {};
        for (const pair of o.set) {
          const m = /^([\w.]+)=(\d+)$/.exec(pair);
          if (!m) throw new DfsError('EUSAGE', `--set ${pair}: write KEY=NUMBER, e.g. health.failedErrors=20`);
          set[m[1]!] = Number(m[2]);
        }
      }
      ctx.emit(await invoke(pool, 'config', set ? { set } : {}), render);
    });
}
