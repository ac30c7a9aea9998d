/** `dynamicfs diagnose POOL`: what is wrong or risky, the figures behind it, and the command that fixes it. */
import type { Command } from 'commander';
import { invoke } from '../../admin/client';
import type { DiagnoseData } from '../../admin/ops';
import { EXIT_CRITICAL } from '../output';
import type { CliContext } from '../verb';

function render(d: DiagnoseData): string {
  if (d.findings.length === 0) return `pool ${d.pool}: nothing found`;
  const lines = [`pool ${d.pool}: ${d.findings.length} finding${d.findings.length === 1 ? '' : 's'}, the worst ${d.verdict}`];
  for (const f of d.findings) lines.push('', `${f.severity.toUpperCase()} ${f.code}: ${f.message}`, `  evidence: ${JSON.stringify(f.evidence)}`, `  fix: ${f.fix}`);
  return lines.join('\n');
}

export function register(program: Command, ctx: CliContext): void {
  program.command('diagnose')
    .summary('what is wrong or risky with the pool, and the command that fixes it')
    .description('Look POOL over and report each finding with its severity (critical: data cannot be read; warning: '
      + 'redundancy or durability is less than it looks; info), the figures it rests on and the command that fixes or '
      + 'investigates it: the health verdict\'s reasons (unrecoverable or degraded extents, failed, missing or unhealthy '
      + 'disks, space), healthy disks counting I/O errors, disks sharing one device (more than the pool can lose on one '
      + 'device is a warning), the pool directory on a disk\'s device, scrub coverage behind with nothing scheduled, '
      + 'stale metadata copies, and a commit interval long enough to lose more than a few seconds of closed files. '
      + 'Read-only; through a running coordinator or offline.')
    .argument('<pool>', 'pool directory')
    .addHelpText('after', `\nExit status: 0 (findings or not), ${EXIT_CRITICAL} when a finding is critical, 1 on an error, 2 for a usage error.`)
    .action(async (pool: string) => {
      const d = await invoke(pool, 'diagnose', {});
      ctx.emit(d, render, d.verdict === 'critical' ? EXIT_CRITICAL : undefined);
    });
}
