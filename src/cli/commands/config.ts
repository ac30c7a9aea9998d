/** `dynamicfs config POOL [--set health.KEY=N ...]`: show or change the pool's settings. */
import type { Command } from 'commander';
import { invoke } from '../../admin/client';
import type { ConfigData } from '../../admin/ops';
import { DfsError } from '../../errors';
import { keyValues } from '../format';
import type { CliContext } from '../verb';

function render(d: ConfigData): string {
  return [`pool ${d.pool}`, keyValues(Object.entries(d.health).map(([k, v]) => [`health.${k}`, v as number]), '  '),
    keyValues(Object.entries(d.commit).map(([k, v]) => [`commit.${k}`, v as number]), '  '),
    `  admin.monitorGroup  ${d.admin.monitorGroup ?? 'none (only root and the pool owner use the admin socket)'}`,
    `  scrub schedule: ${d.scrub === null ? 'none (manual)' : JSON.stringify(d.scrub)}`].join('\n');
}

export function register(program: Command, ctx: CliContext): void {
  program.command('config')
    .summary('show or change the pool\'s settings (health thresholds, transaction groups, admin access)')
    .description('Show POOL\'s settings: the disk health thresholds — I/O errors at which a disk turns degraded, '
      + 'suspect and failed, the probe latency that makes it suspect, how often a running coordinator checks its '
      + 'disks — the transaction-group settings — commit.intervalMs, the longest a change waits before it is '
      + 'durable (default 5000; fsync never waits for it), and commit.dirtyMaxBytes, the bytes written since the '
      + 'last commit that force one and hold writers back (default 268435456) — and the scrub schedule (set with '
      + 'scrub-schedule) — and admin.monitorGroup, a group id whose members may run read-only commands (status, '
      + 'health, diagnose, metrics, disks, ls, stat, jobs, config) through a running coordinator\'s admin socket (0 for none; '
      + 'only root and the pool\'s owner may do more). --set changes a setting; a running coordinator applies health '
      + 'thresholds at its next check (the monitor interval at its next start), commit and admin settings at once.')
    .argument('<pool>', 'pool directory')
    .option('--set <key=value...>', 'e.g. --set health.failedErrors=20 commit.intervalMs=2000 admin.monitorGroup=998')
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
