/**
 * `dynamicfs scrub POOL [--repair] [--dry-run] [--intensity I]`: verify every fragment of
 * every extent now and report what is damaged, per disk and per file. Exit 0 when the
 * pool is clean (nothing found, or everything found was repaired); otherwise EFINDINGS
 * (exit 1) carrying the whole report.
 *
 * Also the rendering of scrub reports and intensities the other scrub verbs share.
 */
import type { Command } from 'commander';
import { invoke } from '../../admin/client';
import type { ScrubData, ScrubSection } from '../../admin/ops';
import { INTENSITIES, INTENSITY_RATES, type IntensitySetting } from '../../engine/scrub-params';
import type { ScrubCoverage, ScrubReport } from '../../engine/scrub-report';
import { DfsError } from '../../errors';
import { humanBytes, keyValues, parseBytes, table } from '../format';
import { jsonOf, localContext, type CliContext } from '../verb';
import { requestIdOf, withRequestId } from '../request-id';

export const INTENSITY_HELP = `low (${INTENSITY_RATES.low / 1048576} MiB/s), medium (${INTENSITY_RATES.medium / 1048576} MiB/s), `
  + 'high (no limit), or a rate in bytes per second such as 8M';

/** "low" | "medium" | "high" | a size ("8M", "65536") taken as bytes per second. */
export function parseIntensity(text: string, option: string): IntensitySetting {
  if ((INTENSITIES as readonly string[]).includes(text)) return text as IntensitySetting;
  try {
    return parseBytes(text, option);
  } catch {
    throw new DfsError('EINVAL', `${option} "${text}" is not one of low, medium, high, nor a rate such as 8M (bytes per second)`);
  }
}

export function intensityText(i: IntensitySetting | null): string {
  if (i === null) return 'high (no limit)';
  if (typeof i === 'number') return i === 0 ? 'no limit' : `${humanBytes(i)}/s`;
  return i === 'high' ? 'high (no limit)' : `${i} (${humanBytes(INTENSITY_RATES[i])}/s)`;
}

export function ageText(seconds: number): string {
  if (seconds < 120) return `${Math.round(seconds)}s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)}m`;
  if (seconds < 172800) return `${+(seconds / 3600).toFixed(1)}h`;
  return `${+(seconds / 86400).toFixed(1)}d`;
}

export function coverageText(c: ScrubCoverage, nowMs = Date.now()): string {
  const pct = `${(c.fraction * 100).toFixed(c.fraction === 1 ? 0 : 1)}%`;
  const oldest = c.oldestVerifiedMs === null ? (c.extents === 0 ? 'no extents' : 'none verified')
    : `oldest verification ${ageText(Math.max(0, (nowMs - c.oldestVerifiedMs) / 1000))} ago`;
  const damaged = c.unverified > 0 ? `; ${c.unverified} damaged and unverified` : '';
  return `${pct} of ${c.extents} extents verified within ${ageText(c.periodSeconds)}; ${oldest}${damaged}`;
}

/** One line for `status`: schedule, coverage, and the active or last scrub. */
export function scrubStatusLine(s: ScrubSection): string {
  const parts = [`${s.schedule.frequency} at ${intensityText(s.schedule.intensity)}`, coverageText(s.coverage)];
  const j = s.active ?? s.last;
  if (j) {
    parts.push(`${s.active ? 'active' : 'last'}: job ${j.job} ${j.state}, ${j.extents.checked}/${j.extents.total} extents`
      + (j.extents.damaged ? `, ${j.extents.damaged} damaged (${j.remaining} unrepaired)` : ''));
  }
  return parts.join('; ');
}

/** A scrub report for people: totals, then findings per disk and per file. */
export function renderReport(r: ScrubReport): string {
  const x = r.extents;
  const lines = [
    `scrub job ${r.job} ${r.state}${r.dryRun ? ' (dry run)' : ''}${r.reqId ? ` (request ${r.reqId})` : ''}: ${x.checked} extents checked (${x.inline} inline), `
      + `${r.fragments.checked} fragments, ${humanBytes(r.bytesRead)} read`,
    x.damaged === 0 ? 'no damage found'
      : `damage: ${r.fragments.bad} fragments in ${x.damaged} extents; ${x.repaired} extents repaired, ${x.unrepaired} still damaged`,
  ];
  if (r.resumes.length) lines.push(`resumed ${r.resumes.length}x from its cursor (first at extent ${r.resumes[0]!.extentsDone})`);
  if (r.perDisk.length) {
    const codes = [...new Set(r.perDisk.flatMap((d) => Object.keys(d.counts)))].sort();
    lines.push('', 'per disk:', table(['DISK', 'PATH', 'FINDINGS', ...codes],
      r.perDisk.map((d) => [d.diskId, d.path, d.total, ...codes.map((c) => d.counts[c] ?? 0)]), ['DISK', 'FINDINGS', ...codes]));
  }
  if (r.files.length) {
    lines.push('', 'per file:');
    for (const f of r.files) {
      const where = f.index === null ? 'extent' : `fragment ${f.index}${f.diskId === null ? '' : ` on disk ${f.diskId}`}`;
      lines.push(`  ${f.path} @ ${f.offset}: ${where}: ${f.code}${f.repaired ? ` (repaired${f.repair ? `: ${f.repair}` : ''})` : ''}  [extent ${f.extent}]`);
    }
    if (r.filesOmitted) lines.push(`  ... and ${r.filesOmitted} more findings (per disk counts include them)`);
  }
  return lines.join('\n');
}

function render(d: ScrubData): string {
  return [renderReport(d), '', keyValues([['coverage', coverageText(d.coverage)]])].join('\n');
}

export function register(program: Command, ctx: CliContext): void {
  withRequestId(program.command('scrub'))
    .summary('verify every fragment (checksums and placement); report or repair damage')
    .description('Read every fragment of every extent of POOL and verify it against its BLAKE3 checksum, and check '
      + 'placement (K+M fragments on distinct, registered disks, none on a failed or missing disk); report what is '
      + 'damaged per disk and per file. Damaged extents are queued for repair and counted against their disks '
      + '(a mounted pool then repairs them by itself); with --repair they are rebuilt on the spot from any K good '
      + 'fragments. Without a coordinator the scrub runs here (an interrupted one with the same options resumes '
      + 'where it stopped); with one it runs there and this waits for it.')
    .argument('<pool>', 'pool directory')
    .option('--repair', 'rebuild damaged extents now (from any K good fragments)')
    .option('--dry-run', 'report only: no repairs, nothing queued, no error counters or verification times recorded')
    .option('--intensity <level>', `I/O rate limit: ${INTENSITY_HELP} (default high)`)
    .addHelpText('after', '\nA rate-limited scrub (low, medium, a rate) yields to other I/O: while the mount or a repair reads or\n'
      + 'writes, it runs at a quarter of its rate.\n'
      + '\nExit status: 0 when the pool is clean (nothing found, or everything found was repaired);\n'
      + '1 with error code EFINDINGS when damage remains (the report is printed; with --json it is in the error object);\n'
      + '1 with another code when the scrub itself could not run.')
    .action(async (pool: string, o: { repair?: boolean; dryRun?: boolean; intensity?: string; requestId?: string }, cmd: Command) => {
      const json = jsonOf(cmd);
      const intensity = o.intensity === undefined ? undefined : parseIntensity(o.intensity, '--intensity');
      const data = await invoke(pool, 'scrub', { repair: !!o.repair, dryRun: !!o.dryRun, intensity }, { local: localContext(json), ...requestIdOf(o) });
      if (!data.clean) {
        // The report is the point even though the exit status is not 0: print it, then the error.
        if (!json) process.stdout.write(`${render(data)}\n`);
        const fix = data.dryRun ? `run \`dynamicfs scrub ${pool} --repair\`` : data.repair ? 'see the findings: what remains could not be rebuilt'
          : `run \`dynamicfs scrub ${pool} --repair\` (or let a mounted pool repair it)`;
        throw new DfsError('EFINDINGS', `scrub found ${data.fragments.bad} damaged fragments in ${data.extents.damaged} extents; `
          + `${data.remaining} extents remain damaged: ${fix}`, undefined, { ...data });
      }
      ctx.emit(data, render);
    });
}
