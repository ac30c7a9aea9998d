/**
 * `config`: the pool's settings. Shows the health thresholds and the transaction-group
 * settings (with defaults filled in) and any other stored section; `set` changes them,
 * each checked before anything is written, and a running coordinator applies them.
 */
import { DfsError } from '../../errors';
import { GROUP_SETTING_RANGES, DEFAULT_GROUP_SETTINGS, groupSettings, type GroupSettings } from '../../engine/txg';
import { DEFAULT_HEALTH, healthConfig, type HealthConfig } from '../../pool/health';
import { adminSettings, MAX_GID, type AdminSettings } from '../access';
import type { AdminOp } from '../context';

export interface ConfigArgs {
  /** "health.KEY", "commit.KEY" or "admin.monitorGroup" → value. */
  set?: Record<string, number>;
}

export interface ConfigData {
  pool: string;
  health: HealthConfig;
  commit: GroupSettings;
  admin: AdminSettings;
  scrub: unknown;
}

const SETTABLE = [...Object.keys(DEFAULT_HEALTH).map((k) => `health.${k}`), ...Object.keys(DEFAULT_GROUP_SETTINGS).map((k) => `commit.${k}`),
  'admin.monitorGroup'];

export const config: AdminOp<ConfigArgs, ConfigData> = async (engine, args) => {
  if (args.set !== undefined && args.set !== null) {
    if (typeof args.set !== 'object') throw new DfsError('EINVAL', 'config: argument "set" must be an object of health.KEY: number');
    const next: HealthConfig = { ...healthConfig(engine.meta) };
    const commit: GroupSettings = { ...groupSettings(engine.meta) };
    const admin: AdminSettings = { ...adminSettings(engine.meta) };
    for (const [key, value] of Object.entries(args.set)) {
      if (!SETTABLE.includes(key)) throw new DfsError('EINVAL', `config: unknown setting "${key}"; settable: ${SETTABLE.join(', ')}`);
      if (key === 'admin.monitorGroup') {
        if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_GID) {
          throw new DfsError('EINVAL', `config: admin.monitorGroup must be a group id from 1 to ${MAX_GID} (getent group NAME shows it), or 0 for none`);
        }
        if (value !== 0 && !mayGiveGroup(value)) {
          throw new DfsError('EINVAL', `config: admin.monitorGroup=${value}: uid ${process.geteuid?.()} is neither root nor a member of group ${value}, so the coordinator `
            + `could not give it the admin socket; run the coordinator as root or as a member of that group`);
        }
        admin.monitorGroup = value === 0 ? null : value;
        continue;
      }
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) throw new DfsError('EINVAL', `config: ${key} must be a whole number, 1 or more`);
      const [section, name] = key.split('.') as [string, string];
      if (section === 'commit') {
        const range = GROUP_SETTING_RANGES[name as keyof GroupSettings];
        if (value < range.min || value > range.max) throw new DfsError('EINVAL', `config: ${key}=${value} is outside ${range.min}..${range.max}`);
        commit[name as keyof GroupSettings] = value;
      } else {
        next[name as keyof HealthConfig] = value;
      }
    }
    if (!(next.degradedErrors <= next.suspectErrors && next.suspectErrors <= next.failedErrors)) {
      throw new DfsError('EINVAL', `config: thresholds must rise: degradedErrors (${next.degradedErrors}) <= suspectErrors (${next.suspectErrors}) <= failedErrors (${next.failedErrors})`);
    }
    engine.meta.transact((tx) => {
      tx.setConfig('health', next);
      tx.setConfig('commit', commit);
      tx.setConfig('admin', admin);
    });
    engine.txg.configure(commit);
  }
  return { pool: engine.pool.dir, health: healthConfig(engine.meta), commit: groupSettings(engine.meta), admin: adminSettings(engine.meta),
    scrub: engine.meta.getConfig('scrub') ?? null };
};

/** Whether this process (the coordinator, or the offline CLI of its owner) may chown a file to group `gid`. */
function mayGiveGroup(gid: number): boolean {
  return process.geteuid?.() === 0 || process.getegid?.() === gid || (process.getgroups?.() ?? []).includes(gid);
}
