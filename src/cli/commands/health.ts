/** `dynamicfs health POOL`: healthy, degraded or critical, and why (what GET /health answers). */
import type { Command } from 'commander';
import { invoke } from '../../admin/client';
import type { HealthData } from '../../admin/ops';
import { CAPACITY_WARN_FRACTION } from '../../admin/health';
import { plural, table } from '../format';
import { EXIT_CRITICAL } from '../output';
import type { CliContext } from '../verb';

function render(d: HealthData): string {
  const x = d.extents;
  const lines = [`pool ${d.pool} is ${d.health === 'healthy' ? 'healthy' : d.health.toUpperCase()} (GET /health answers ${d.httpStatus})`];
  if (d.reasons.length > 0) lines.push(table(['SEVERITY', 'REASON', 'DETAIL'], d.reasons.map((r) => [r.severity, r.code, r.message])));
  lines.push(`${plural(d.disks.total, 'disk')} (${d.disks.missing} missing); ${plural(x.total, 'extent')}: ${x.healthy} healthy, ${x.degraded} degraded, `
    + `${x.unrecoverable} unrecoverable; repair queue ${d.repairQueue}; space ${(100 * d.capacity.usedFraction).toFixed(1)}% used`);
  if (d.findings.length > 0) {
    lines.push(`also (dynamicfs diagnose ${d.pool} says what to do):`, table(['SEVERITY', 'FINDING', 'DETAIL'], d.findings.map((f) => [f.severity, f.code, f.message])));
  }
  return lines.join('\n');
}

export function register(program: Command, ctx: CliContext): void {
  program.command('health')
    .summary('is the pool healthy, degraded or critical, and why')
    .description('Judge POOL and say why: critical when extents are unrecoverable (fewer than K fragments readable); '
      + 'degraded when disks are failed, missing or not healthy, extents have lost redundancy, or the disks\' '
      + `filesystems are more than ${Math.round(CAPACITY_WARN_FRACTION * 100)}% full; healthy otherwise. The same verdict `
      + 'and reasons as GET /health on a coordinator started with --metrics-port (which answers 200, 202 or 503), '
      + 'followed by diagnose\'s warnings that are not reasons (slow or nearly full disks, a tier filling up, disks sharing a device): '
      + 'they do not change the verdict.')
    .argument('<pool>', 'pool directory')
    .addHelpText('after', `\nExit status: 0 healthy or degraded, ${EXIT_CRITICAL} critical (the verdict is still printed, `
      + 'with "ok":true under --json), 1 when the pool cannot be judged (an error), 2 for a usage error.')
    .action(async (pool: string) => {
      const d = await invoke(pool, 'health', {});
      ctx.emit(d, render, d.health === 'critical' ? EXIT_CRITICAL : undefined);
    });
}
