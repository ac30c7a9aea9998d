/**
 * `dynamicfs tier-policy POOL [PRESET] [--path PATH] [--dry-run]`: the tier policy presets
 * and what each sets; with PRESET, set it as the pool's tier settings or, with --path, as
 * that directory's (or file's) user.dynamicfs.tier (admin/ops/tier-policy.ts).
 */
import type { Command } from 'commander';
import { invoke } from '../../admin/client';
import type { TierPolicyData } from '../../admin/ops';
import { table } from '../format';
import type { CliContext } from '../verb';

const show = (v: unknown): string => (v === null ? 'none' : String(v));

function render(d: TierPolicyData): string {
  const a = d.applied;
  if (!a) return table(['PRESET', 'SETS', 'FOR'], d.presets.map((p) => [p.name, p.text, p.summary]));
  const verb = a.dryRun ? 'would set' : 'set';
  if (a.on === 'path') return `${a.dryRun ? 'dry run: ' : ''}${a.preset} ${verb} user.dynamicfs.tier=${a.value} on ${a.path}`;
  if (a.changes.length === 0) return `${a.preset}: the pool's tier settings already are ${d.presets.find((p) => p.name === a.preset)!.text}`;
  return [`${a.dryRun ? 'dry run: ' : ''}${a.preset} ${verb} the pool's tier settings${a.dryRun ? ' (nothing was changed)' : ''}`,
    ...a.changes.map((c) => `  ${c.key}: ${show(c.from)} → ${show(c.to)}`)].join('\n');
}

export function register(program: Command, ctx: CliContext): void {
  program.command('tier-policy')
    .summary('tier policy presets: list them, or set one on the pool or a directory')
    .description('Without PRESET: the presets and the policy each sets (performance: written hot, never moved; balanced: moved to warm '
      + 'after 7 days without a read; aggressive: moved to cold after a day). With PRESET: set it as the pool\'s tier.foreground, '
      + 'tier.background and tier.demoteAfterSeconds, or with --path as that directory\'s or file\'s user.dynamicfs.tier (inherited by what '
      + 'is created under it). Moving extents is `dynamicfs tier migrate`\'s.')
    .argument('<pool>', 'pool directory')
    .argument('[preset]', 'aggressive, balanced or performance')
    .option('--path <path>', 'a directory or file in the pool (default: the pool\'s settings)')
    .option('--dry-run', 'say what would change; change nothing')
    .action(async (pool: string, preset: string | undefined, o: { path?: string; dryRun?: boolean }) => {
      ctx.emit(await invoke(pool, 'tier-policy', { ...(preset === undefined ? {} : { preset }), ...(o.path === undefined ? {} : { path: o.path }),
        ...(o.dryRun ? { dryRun: true } : {}) }), render);
    });
}
