/**
 * `dynamicfs snapshot schedule POOL [--every D --keep N [--prefix P] | --remove P | --list]`:
 * the snapshot schedules a coordinator follows (admin/ops/snapshot-schedule.ts); a
 * subcommand of `snapshot` (snapshot.ts registers it).
 */
import type { Command } from 'commander';
import { invoke } from '../../admin/client';
import type { ScheduleRow, SnapshotScheduleData } from '../../admin/ops';
import { DfsError } from '../../errors';
import { table, timeString } from '../format';
import type { CliContext } from '../verb';
import { ageText } from './scrub';

function nextText(r: ScheduleRow, now: number): string {
  return r.nextDueMs <= now ? 'due now' : `in ${ageText((r.nextDueMs - now) / 1000)}`;
}

function render(d: SnapshotScheduleData): string {
  const now = Date.now();
  const lines: string[] = [];
  if (d.added) lines.push(`${d.replaced ? 'replaced' : 'added'} schedule ${d.added.prefix}: a snapshot every ${d.added.every}, keeping ${d.added.keep}`);
  if (d.removed) lines.push(`removed schedule ${d.removed.prefix} (its snapshots stay; delete them with snapshot delete)`);
  if (d.schedules.length === 0) {
    lines.push('no snapshot schedules');
  } else {
    lines.push(table(['PREFIX', 'EVERY', 'KEEP', 'SNAPSHOTS', 'HELD', 'LAST', 'NEXT'], d.schedules.map((r) => [r.prefix, r.every, r.keep, r.snapshots, r.held,
      r.lastMs === null ? '-' : timeString(r.lastMs), nextText(r, now)]), ['KEEP', 'SNAPSHOTS', 'HELD']));
    if (!d.running) lines.push('(schedules run while a coordinator serves the pool: dynamicfs mount or serve)');
  }
  return lines.join('\n');
}

/** `--keep 24` as a number; anything else goes on as text for the operation to refuse, naming it. */
function keepArg(v: string | undefined): number | string | undefined {
  return v !== undefined && /^\d+$/.test(v) ? Number(v) : v;
}

export function registerSchedule(snap: Command, ctx: CliContext): void {
  snap.command('schedule')
    .summary('list, add or remove the schedules that take and prune snapshots')
    .description('A running coordinator (mount, serve) follows each schedule: when one is due it takes snapshot PREFIX-YYYYMMDD-HHMMSS (UTC), '
      + 'then deletes that prefix\'s oldest snapshots until KEEP unheld ones are left. Held snapshots are never pruned and do not count in KEEP; '
      + 'manual snapshots and other prefixes are never touched. Runs missed while no coordinator ran are one run at its start. '
      + 'Several schedules at once (hourly keep 24, daily keep 7, weekly keep 4), one per prefix; --every with a prefix that has one replaces it. '
      + 'Without options: --list.')
    .argument('<pool>', 'pool directory')
    .option('--every <interval>', 'add or replace a schedule: a snapshot this often (s, m, h, d, w: 30s, 15m, 1h, 1d, 1w; at least 1s)')
    .option('--keep <n>', 'with --every: keep the newest N of its snapshots (1 or more)')
    .option('--prefix <prefix>', 'with --every: name its snapshots PREFIX-... (default auto-hourly, auto-daily, auto-weekly, else auto-<interval>)')
    .option('--remove <prefix>', 'remove the schedule of PREFIX (its snapshots stay)')
    .option('--list', 'list the schedules (the default)')
    .action(async (pool: string, o: { every?: string; keep?: string; prefix?: string; remove?: string; list?: boolean }) => {
      if (o.list && (o.every !== undefined || o.remove !== undefined)) {
        throw new DfsError('EINVAL', '--list only lists: leave out --every and --remove, or --list');
      }
      ctx.emit(await invoke(pool, 'snapshot-schedule', { every: o.every, keep: keepArg(o.keep) as number | undefined, prefix: o.prefix, remove: o.remove }), render);
    });
}
