/**
 * `tier-policy`: the presets (aggressive, balanced, performance) and what each sets; with
 * a preset, set it as the pool's tier settings (tier.foreground, tier.background,
 * tier.demoteAfterSeconds, tier.promote, as `config --set` would) or, with a path, as that directory's
 * or file's user.dynamicfs.tier. `--dry-run` says what would change and changes nothing.
 */
import { DfsError } from '../../errors';
import { setTierPolicy } from '../../fs/tier-xattr';
import { formatTierPolicy, TIER_PRESETS, tierPresetOf, type TierPreset } from '../../pool/tier-policy';
import { bool, optStr } from '../args';
import type { AdminOp } from '../context';
import { applyPlan, planChanges, type SettingChange } from '../settings-change';

export interface TierPolicyArgs {
  preset?: string;
  /** A directory or file in the pool; absent: the pool's settings. */
  path?: string;
  dryRun?: boolean;
}

export interface TierPolicyData {
  presets: (TierPreset & { text: string })[];
  /** What a preset was set on, and how. */
  applied: { preset: string; dryRun: boolean } & ({ on: 'pool'; changes: SettingChange[] } | { on: 'path'; path: string; value: string }) | null;
}

export const tierPolicy: AdminOp<TierPolicyArgs, TierPolicyData> = async (engine, args) => {
  const presets = TIER_PRESETS.map((p) => ({ ...p, text: formatTierPolicy(p.policy) }));
  const name = optStr('tier-policy', args, 'preset');
  const dryRun = bool('tier-policy', args, 'dryRun');
  const path = optStr('tier-policy', args, 'path');
  if (name === undefined) {
    if (path !== undefined || dryRun) throw new DfsError('EUSAGE', 'tier-policy: name a preset to set (aggressive, balanced or performance)');
    return { presets, applied: null };
  }
  const preset = tierPresetOf(name);
  if (path !== undefined) {
    const value = formatTierPolicy(preset.policy);
    if (!dryRun) setTierPolicy(engine, path, preset.policy);
    return { presets, applied: { preset: name, dryRun, on: 'path', path, value } };
  }
  const changes: Record<string, unknown> = { 'tier.foreground': preset.policy.foreground, 'tier.background': preset.policy.background,
    'tier.promote': preset.policy.promote,
    ...(preset.policy.demoteAfterSeconds === undefined ? {} : { 'tier.demoteAfterSeconds': preset.policy.demoteAfterSeconds }) };
  const plan = planChanges(engine, changes, 'tier-policy: ');
  if (!dryRun) applyPlan(engine, plan);
  return { presets, applied: { preset: name, dryRun, on: 'pool', changes: plan.changes } };
};
