/**
 * `config`: the pool's settings (declared in config/settings.ts). Shows every setting with
 * its value, default, ranges and reason; `set` changes some, `preset` puts the pool on a
 * named preset (config/presets.ts). Either is all-or-nothing, stored in one transaction and
 * applied by a running coordinator at once (admin/settings-change.ts); with `dryRun` the
 * changes are only shown. Looking (and a dry run) is read-only; a change is audited.
 */
import { presetChanges, presetOf } from '../../config/presets';
import { SETTINGS, safeRange, splitKey, unsafe, type SettingValue } from '../../config/settings';
import { currentSettings, type Settings } from '../../config/values';
import type { Engine } from '../../engine/engine';
import { readSchedule, type ScrubSchedule } from '../../engine/scrub-scheduler';
import { DfsError } from '../../errors';
import { bool, optStr } from '../args';
import type { AdminOp } from '../context';
import { applyPlan, planChanges, type SettingChange } from '../settings-change';

export interface ConfigArgs {
  /** KEY → value, each of its setting's type ("health.failedErrors": 20, "scrub.frequency": "nightly"). */
  set?: Record<string, unknown>;
  /** A preset's name (PRESET_NAMES). */
  preset?: string;
  /** Show what `set` or `preset` would change, change nothing. */
  dryRun?: boolean;
}

/** One setting as `config` shows it (a stable shape for scripts). */
export interface SettingRow {
  key: string;
  value: SettingValue;
  default: SettingValue;
  /** The value differs from the default. */
  changed: boolean;
  /** The valid range, in words. */
  range: string;
  /** Where narrower than the valid range (null: every valid value is safe). */
  safeRange: string | null;
  unsafe: boolean;
  reason: string;
  /** When a running coordinator starts using a new value. */
  applies: string;
}

export interface ConfigData {
  pool: string;
  settings: SettingRow[];
  /** The same values by section, as the readers see them. */
  health: Record<string, SettingValue>;
  commit: Record<string, SettingValue>;
  cache: Record<string, SettingValue>;
  read: Record<string, SettingValue>;
  admin: Record<string, SettingValue>;
  scrub: ScrubSchedule;
  rebuild: Record<string, SettingValue>;
  gc: Record<string, SettingValue>;
  compact: Record<string, SettingValue>;
  metrics: Record<string, SettingValue>;
  mount: Record<string, SettingValue>;
  snapshots: Record<string, SettingValue>;
  tier: Record<string, SettingValue>;
  audit: Record<string, SettingValue>;
  /** The preset asked for (null: none). */
  preset: string | null;
  /** What `set` or `preset` changed (or, in a dry run, would change). */
  changes: SettingChange[];
  dryRun: boolean;
  /** Changes were stored. */
  applied: boolean;
}

export const config: AdminOp<ConfigArgs, ConfigData> = async (engine, args) => {
  const dryRun = bool('config', args, 'dryRun');
  const presetName = optStr('config', args, 'preset');
  const given = args.set !== undefined && args.set !== null;
  if (given && (typeof args.set !== 'object' || Array.isArray(args.set))) {
    throw new DfsError('EINVAL', 'config: argument "set" must be an object of KEY: value (e.g. {"health.failedErrors": 20})');
  }
  if (given && presetName !== undefined) throw new DfsError('EINVAL', 'config: give --set or --preset, not both (apply the preset, then --set)');
  let changes: SettingChange[] = [];
  let applied = false;
  if (given || presetName !== undefined) {
    const wanted = presetName !== undefined ? presetChanges(presetOf(presetName)) : args.set as Record<string, unknown>;
    const plan = planChanges(engine, wanted, 'config: ');
    changes = plan.changes;
    if (!dryRun) {
      applyPlan(engine, plan);
      applied = changes.length > 0;
    }
  }
  return { ...showSettings(engine), preset: presetName ?? null, changes, dryRun, applied };
};

/** Every setting with its value, and the values by section. */
export function showSettings(engine: Engine): Pick<ConfigData, 'pool' | 'settings' | 'health' | 'commit' | 'cache' | 'read' | 'admin' | 'scrub' | 'rebuild' | 'gc' | 'compact' | 'metrics' | 'mount' | 'snapshots' | 'tier' | 'audit'> {
  const values = currentSettings(engine.meta);
  return { pool: engine.pool.dir, settings: rows(values), health: section(values, 'health'), commit: section(values, 'commit'),
    cache: section(values, 'cache'), read: section(values, 'read'), admin: section(values, 'admin'), scrub: readSchedule(engine.meta),
    rebuild: section(values, 'rebuild'), gc: section(values, 'gc'), compact: section(values, 'compact'),
    metrics: section(values, 'metrics'), mount: section(values, 'mount'),
    snapshots: section(values, 'snapshots'), tier: section(values, 'tier'), audit: section(values, 'audit') };
}

function rows(values: Settings): SettingRow[] {
  return SETTINGS.map((s) => {
    const value = values.get(s.key)!;
    return { key: s.key, value, default: s.default, changed: !Object.is(value, s.default), range: s.range, safeRange: safeRange(s),
      unsafe: unsafe(s, value), reason: s.reason, applies: s.applies };
  });
}

function section(values: Settings, name: string): Record<string, SettingValue> {
  return Object.fromEntries([...values].filter(([k]) => splitKey(k).section === name).map(([k, v]) => [splitKey(k).name, v]));
}


