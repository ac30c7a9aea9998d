/** `dynamicfs jobs POOL`: long operations (rebuild, drain, scrub) with state, progress, rate and ETA. */
import type { Command } from 'commander';
import { invoke } from '../../admin/client';
import type { JobsData } from '../../admin/ops';
import type { JobView } from '../../engine/jobs';
import { DfsError } from '../../errors';
import { humanBytes, table } from '../format';
import type { CliContext } from '../verb';

function seconds(s: number | null): string {
  if (s === null) return '?';
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  return `${(s / 3600).toFixed(1)}h`;
}

/** One line for a job: "3 rebuild running 40/100 extents, 1.2 GiB of 3 GiB, 80 MiB/s, ETA 25s". */
export function jobLine(j: JobView): string {
  const p = j.progress as { extentsDone?: number; extentsTotal?: number; bytesDone?: number; bytesTotal?: number };
  // A restore from a backup counts the backup's entries it has applied, not extents.
  const unit = j.kind === 'backup-restore' ? 'entries' : 'extents';
  const parts = [`${j.id} ${j.kind} ${j.state}`, `${p.extentsDone ?? 0}/${p.extentsTotal ?? 0} ${unit}`,
    `${humanBytes(p.bytesDone ?? 0)} of ${humanBytes(p.bytesTotal ?? 0)}`];
  if (typeof j.progress.backupId === 'string') parts.push(`backup ${j.progress.backupId}`);
  if (j.rateBytesPerSec !== null) parts.push(`${humanBytes(j.rateBytesPerSec)}/s`);
  if (j.state === 'running') {
    parts.push(`ETA ${seconds(j.etaSeconds)}`);
    if (j.timeToSafetySeconds !== null && j.timeToSafetySeconds > 0) parts.push(`safe in ${seconds(j.timeToSafetySeconds)}`);
  }
  if (j.kind === 'upgrade') parts.push(`upgrade ${String(j.progress.upgrade ?? 'not-started')}`);
  // A rebuild or drain with rebuild.concurrency above 1: how many extents it has had in repair at once.
  if (typeof j.progress.peakConcurrency === 'number' && j.progress.peakConcurrency > 1) parts.push(`up to ${j.progress.peakConcurrency} extents at once`);
  if (j.error) parts.push(`error: ${j.error}`);
  // The request that started it: `dynamicfs events POOL --request ID` shows what it did.
  if (typeof j.params.reqId === 'string') parts.push(`request ${j.params.reqId}`);
  return parts.join(', ');
}

function render(d: JobsData): string {
  if (d.jobs.length === 0) return `no jobs in pool ${d.pool}`;
  const rows = d.jobs.map((j) => {
    const p = j.progress as { extentsDone?: number; extentsTotal?: number; bytesDone?: number; bytesTotal?: number };
    const state = j.kind === 'upgrade' ? `${j.state} (upgrade ${String(j.progress.upgrade ?? 'not-started')})` : j.state;
    return [j.id, j.kind, state, `${p.extentsDone ?? 0}/${p.extentsTotal ?? 0}`, `${humanBytes(p.bytesDone ?? 0)}/${humanBytes(p.bytesTotal ?? 0)}`,
      j.rateBytesPerSec === null ? '-' : `${humanBytes(j.rateBytesPerSec)}/s`, j.state === 'running' ? seconds(j.etaSeconds) : '-',
      new Date(j.createdMs).toISOString().replace('T', ' ').slice(0, 19), j.error ?? ''];
  });
  return table(['ID', 'KIND', 'STATE', 'EXTENTS', 'BYTES', 'RATE', 'ETA', 'CREATED', 'ERROR'], rows, ['ID']);
}

export function register(program: Command, ctx: CliContext): void {
  program.command('jobs')
    .summary('list long-running jobs (rebuild, drain, scrub)')
    .description('List the jobs of POOL — rebuilds, drains, scrubs, compactions, upgrades — with their state (queued, running, paused, done, '
      + 'failed, cancelled; an upgrade also shows its own: not-started, in-progress, completed, rolled-back, failed), progress in extents and bytes, rate over the last 30 seconds and ETA. Jobs survive '
      + 'restarts: a coordinator resumes the unfinished ones. --pause, --resume and --cancel act on one job first.')
    .argument('<pool>', 'pool directory')
    .option('--pause <id>', 'pause job ID (it resumes where it stopped)')
    .option('--resume <id>', 'resume paused job ID')
    .option('--cancel <id>', 'cancel job ID and wait for it to stop (work already committed stays; an upgrade rolls back, and refuses after its final commit; an ended job refuses)')
    .action(async (pool: string, o: { pause?: string; resume?: string; cancel?: string }) => {
      const given = (['pause', 'resume', 'cancel'] as const).filter((a) => o[a] !== undefined);
      if (given.length > 1) throw new DfsError('EUSAGE', 'give one of --pause, --resume, --cancel');
      const action = given[0];
      const id = action ? Number(o[action]) : undefined;
      if (action && (!Number.isInteger(id) || id! < 1)) throw new DfsError('EUSAGE', `--${action} ${o[action]}: give a job id from \`dynamicfs jobs\``);
      ctx.emit(await invoke(pool, 'jobs', action ? { action, id } : {}), render);
    });
}
