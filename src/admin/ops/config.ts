/**
 * `config`: the pool's settings. Shows the health thresholds (with defaults filled in)
 * and any other stored section; `set` changes health thresholds, each checked before
 * anything is written.
 */
import { DfsError } from '../../errors';
import { DEFAULT_HEALTH, healthConfig, type HealthConfig } from '../../pool/health';
import type { AdminOp } from '../context';

export interface ConfigArgs {
  /** "health.KEY" → value. */
  set?: Record<string, number>;
}

export interface ConfigData {
  pool: string;
  health: HealthConfig;
  scrub: unknown;
}

export const config: AdminOp<ConfigArgs, ConfigData> = async (engine, args) => {
  if (args.set !== undefined && args.set !== null) {
    if (typeof args.set !== 'object') throw new DfsError('EINVAL', 'config: argument "set" must be an object of health.KEY: number');
    const next: HealthConfig = { ...healthConfig(engine.meta) };
    for (const [key, value] of Object.entries(args.set)) {
      const name = key.replace(/^health\./, '') as keyof HealthConfig;
      if (!key.startsWith('health.') || !(name in DEFAULT_HEALTH)) {
        throw new DfsError('EINVAL', `config: unknown setting "${key}"; settable: ${Object.keys(DEFAULT_HEALTH).map((k) => `health.${k}`).join(', ')}`);
      }
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) throw new DfsError('EINVAL', `config: ${key} must be a whole number, 1 or more`);
      next[name] = value;
    }
    if (!(next.degradedErrors <= next.suspectErrors && next.suspectErrors <= next.failedErrors)) {
      throw new DfsError('EINVAL', `config: thresholds must rise: degradedErrors (${next.degradedErrors}) <= suspectErrors (${next.suspectErrors}) <= failedErrors (${next.failedErrors})`);
    }
    engine.meta.transact((tx) => tx.setConfig('health', next));
  }
  return { pool: engine.pool.dir, health: healthConfig(engine.meta), scrub: engine.meta.getConfig('scrub') ?? null };
};
