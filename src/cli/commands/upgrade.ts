/** `dynamicfs upgrade POOL [--dry-run]`: move the pool to the current format (admin/ops/upgrade.ts). */
import type { Command } from 'commander';
import { invoke } from '../../admin/client';
import type { UpgradeData } from '../../admin/ops';
import { localContext, jsonOf, type CliContext } from '../verb';
import { requestIdOf, withRequestId } from '../request-id';
import { jobLine } from './jobs';

function render(d: UpgradeData): string {
  const p = d.plan;
  if (p.upToDate && d.job === null) return `pool ${d.pool} is at format ${p.to.format} with every feature this DynamicFS knows: nothing to upgrade`;
  const lines = [
    `pool ${d.pool}: format ${p.from.format} -> ${p.to.format}${d.dryRun ? ' (dry run: nothing changed)' : ''}`,
    `  enable: ${p.enable.length > 0 ? p.enable.join(', ') : 'none'}`,
    ...p.work.map((w, i) => `  ${i + 1}. ${w}`),
    `upgrade ${d.state}`,
  ];
  if (d.job) lines.push(`job ${jobLine(d.job)}`);
  return lines.join('\n');
}

export function register(program: Command, ctx: CliContext): void {
  withRequestId(program.command('upgrade'))
    .summary('move the pool to the current format and enable every feature')
    .description('Move POOL from an older format to the one this DynamicFS writes, as a persistent job (upgrade state: '
      + 'not-started, in-progress, completed, rolled-back, failed): a pool that kept no metadata copies gets one on every disk, '
      + 'then pool.json records the format and features (the final commit); packs and the intent log are used from then on. '
      + 'A failure before the final commit rolls the pool back as it was, and so does `jobs --cancel ID` (refused after the final commit); '
      + 'a killed upgrade resumes when a coordinator starts or `upgrade` runs again. Through a running coordinator it runs there. '
      + '--dry-run lists what would change and changes nothing.')
    .argument('<pool>', 'pool directory')
    .option('--dry-run', 'list the features to enable and the work, change nothing')
    .action(async (pool: string, o: { dryRun?: boolean; requestId?: string }, cmd: Command) => {
      ctx.emit(await invoke(pool, 'upgrade', { dryRun: !!o.dryRun }, { local: localContext(jsonOf(cmd)), ...requestIdOf(o) }), render);
    });
}
