/**
 * `dynamicfs scrub-daemon POOL start|stop|status|pause|resume|set-intensity LEVEL`: the
 * background scrub of a pool served by its coordinator (admin/ops/scrub-daemon.ts).
 */
import type { Command } from 'commander';
import { invoke } from '../../admin/client';
import type { ScrubDaemonData } from '../../admin/ops';
import { DAEMON_ACTIONS, type DaemonAction } from '../../admin/ops/scrub-daemon';
import { DfsError } from '../../errors';
import { humanBytes, keyValues } from '../format';
import type { CliContext } from '../verb';
import { ageText, coverageText, intensityText, INTENSITY_HELP, parseIntensity, renderReport } from './scrub';

function render(d: ScrubDaemonData): string {
  const s = d.schedule;
  const next = d.next.held ? `held: ${d.next.reason}` : d.next.nextDueMs === null ? d.next.reason
    : d.next.due ? 'due now' : `in ${ageText((d.next.nextDueMs - Date.now()) / 1000)} (${d.next.reason})`;
  const pairs: [string, string | number][] = [
    ['schedule', `${s.frequency}, intensity ${intensityText(s.intensity)}${s.autoRepair ? ', auto-repair' : ''}`],
    ['next pass', next],
    ['coverage', coverageText(d.coverage)],
  ];
  const a = d.active;
  if (a) {
    const pct = a.extents.total ? Math.floor((a.extents.checked / a.extents.total) * 100) : 0;
    pairs.push(['active', `job ${a.job} ${a.state}${a.background ? ' (background)' : ''}: ${a.extents.checked}/${a.extents.total} extents (${pct}%), `
      + `${humanBytes(a.bytesRead)} read, intensity ${intensityText(a.intensity)}`
      + `${a.rateBytesPerSec === null ? '' : `, ${humanBytes(a.rateBytesPerSec)}/s`}${a.etaSeconds === null || a.state !== 'running' ? '' : `, ETA ${ageText(a.etaSeconds)}`}`]);
    if (a.extents.damaged) pairs.push(['found so far', `${a.fragments.bad} fragments in ${a.extents.damaged} extents`]);
  } else {
    pairs.push(['active', 'none']);
  }
  const out = [d.message, keyValues(pairs, '  ')];
  if (d.last) out.push('', `last scrub (ended ${d.last.finishedMs ? `${ageText((Date.now() - d.last.finishedMs) / 1000)} ago` : '?'}):`, renderReport(d.last));
  return out.join('\n');
}

export function register(program: Command, ctx: CliContext): void {
  program.command('scrub-daemon')
    .summary('start, stop, pause, resume or throttle the background scrub of a mounted pool')
    .description('Drive the background scrub run by the coordinator that serves POOL (`dynamicfs mount` or `serve`): '
      + 'start one now (with the schedule\'s intensity and auto-repair unless given), stop it (a stopped background '
      + 'scrub holds a nightly or continuous schedule until the next start), pause or resume it, change its intensity '
      + '(its I/O rate limit, applied at once), or show its status: schedule, next pass, coverage (extents verified '
      + 'within 24 h, oldest verification), the active scrub and the last one. Its cursor is persisted: a restarted '
      + 'coordinator resumes it where it stopped. Without a coordinator this fails with ENOCOORDINATOR.')
    .argument('<pool>', 'pool directory')
    .argument('<action>', DAEMON_ACTIONS.join('|'))
    .argument('[level]', `set-intensity: ${INTENSITY_HELP}`)
    .option('--intensity <level>', 'start: intensity instead of the schedule\'s')
    .option('--repair', 'start: repair what it finds on the spot')
    .option('--no-repair', 'start: only report and queue repairs (the default unless the schedule auto-repairs)')
    .action(async (pool: string, action: string, level: string | undefined, o: { intensity?: string; repair?: boolean }, cmd: Command) => {
      if (!(DAEMON_ACTIONS as readonly string[]).includes(action)) {
        throw new DfsError('EUSAGE', `action "${action}" is not one of ${DAEMON_ACTIONS.join(', ')}`);
      }
      if (action === 'set-intensity' && level === undefined) throw new DfsError('EUSAGE', 'set-intensity needs a level: low, medium, high or a rate such as 8M');
      if (action !== 'set-intensity' && level !== undefined) throw new DfsError('EUSAGE', `unexpected argument "${level}" after ${action}`);
      const text = action === 'set-intensity' ? level : o.intensity;
      const intensity = text === undefined ? undefined : parseIntensity(text, action === 'set-intensity' ? 'level' : '--intensity');
      // Commander sets repair to true by default because of --no-repair; only an explicit flag counts.
      const src = cmd.getOptionValueSource('repair');
      const repair = src === 'cli' ? o.repair : undefined;
      ctx.emit(await invoke(pool, 'scrub-daemon', { action: action as DaemonAction, intensity, repair }), render);
    });
}
