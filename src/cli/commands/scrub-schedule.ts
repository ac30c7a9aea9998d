/**
 * `dynamicfs scrub-schedule POOL [--frequency F] [--intensity I] [--auto-repair|--no-auto-repair] [--dry-run]`:
 * show or set the background scrub schedule (admin/ops/scrub-schedule.ts).
 */
import type { Command } from 'commander';
import { invoke } from '../../admin/client';
import type { ScrubScheduleData } from '../../admin/ops';
import { FREQUENCIES } from '../../engine/scrub-scheduler';
import { DfsError } from '../../errors';
import { keyValues } from '../format';
import type { CliContext } from '../verb';
import { ageText, intensityText, INTENSITY_HELP, parseIntensity } from './scrub';

function render(d: ScrubScheduleData): string {
  const s = d.schedule;
  const head = d.stored ? 'schedule stored' : d.dryRun ? 'dry run: this schedule would be stored (nothing was)' : 'current schedule';
  const next = d.next.held ? `held: ${d.next.reason}` : d.next.nextDueMs === null ? d.next.reason
    : d.next.due ? 'due now (a coordinator starts it within seconds)' : `in ${ageText((d.next.nextDueMs - Date.now()) / 1000)}`;
  const pairs: [string, string | number][] = [
    ['frequency', s.frequency],
    ['intensity', intensityText(s.intensity)],
    ['auto-repair', s.autoRepair ? 'yes' : 'no'],
    ['set', s.updatedMs === null ? 'never (defaults)' : new Date(s.updatedMs).toISOString()],
    ['next pass', next],
  ];
  if (d.appliedToJob !== null) pairs.push(['applied', `the running background scrub (job ${d.appliedToJob}) now uses this intensity`]);
  return [head, keyValues(pairs, '  ')].join('\n');
}

export function register(program: Command, ctx: CliContext): void {
  program.command('scrub-schedule')
    .summary('show or set when the coordinator scrubs in the background')
    .description('Show, or with options set, the background scrub schedule of POOL, which its coordinator follows: '
      + 'manual (never by itself: the default), nightly (a pass when the last finished scrub is older than 24 h), or '
      + 'continuous (a new pass whenever none is active, at least a minute after the last). Options not given keep '
      + 'their stored values. A new intensity also applies at once to a running background scrub.')
    .argument('<pool>', 'pool directory')
    .option('--frequency <frequency>', FREQUENCIES.join('|'))
    .option('--intensity <level>', `I/O rate limit of background passes: ${INTENSITY_HELP}`)
    .option('--auto-repair', 'background passes repair what they find on the spot')
    .option('--no-auto-repair', 'background passes only report and queue repairs')
    .option('--dry-run', 'show the schedule that would be stored; store nothing')
    .action(async (pool: string, o: { frequency?: string; intensity?: string; autoRepair?: boolean; dryRun?: boolean }, cmd: Command) => {
      if (o.frequency !== undefined && !(FREQUENCIES as readonly string[]).includes(o.frequency)) {
        throw new DfsError('EINVAL', `--frequency "${o.frequency}" is not one of ${FREQUENCIES.join(', ')}`);
      }
      const intensity = o.intensity === undefined ? undefined : parseIntensity(o.intensity, '--intensity');
      const autoRepair = cmd.getOptionValueSource('autoRepair') === 'cli' ? o.autoRepair : undefined;
      ctx.emit(await invoke(pool, 'scrub-schedule', { frequency: o.frequency, intensity, autoRepair, dryRun: !!o.dryRun }), render);
    });
}
