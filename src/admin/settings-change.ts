/**
 * Changing the pool's settings (`config --set`, `--preset`, `config import`): the changes
 * are checked against the declaration (config/values.ts), then stored in ONE metadata
 * transaction and applied to the running engine at once — the commit settings to the
 * transaction groups, the heat classifiers' interval and rate to the access history, a
 * new scrub intensity to a running background scrub. Nothing is
 * stored unless every change is valid. The coordinator re-applies the admin socket's
 * access and the mount's cache and read-ahead after a change (daemon/coordinator.ts); a
 * running rebuild reads rebuild.concurrency at each extent.
 */
import { currentSettings, applyChanges, diffSettings, type Settings } from '../config/values';
import { splitKey, type SettingValue } from '../config/settings';
import type { Engine } from '../engine/engine';
import { heatSettings } from '../engine/tier-access';
import { groupSettings } from '../engine/txg';
import { intensityRate, type IntensitySetting, type ScrubParams } from '../engine/scrub-params';
import { DfsError } from '../errors';

export interface SettingChange {
  key: string;
  from: SettingValue;
  to: SettingValue;
}

export interface ChangePlan {
  before: Settings;
  after: Settings;
  changes: SettingChange[];
}

/** What `changes` would do; EINVAL (prefixed with `prefix`) naming the first bad key or value. */
export function planChanges(engine: Engine, changes: Record<string, unknown>, prefix: string): ChangePlan {
  const before = currentSettings(engine.meta);
  const after = applyChanges(before, changes, prefix);
  const group = after.get('admin.monitorGroup');
  if (typeof group === 'number' && group !== before.get('admin.monitorGroup') && !mayGiveGroup(group)) {
    throw new DfsError('EINVAL', `${prefix}admin.monitorGroup=${group}: uid ${process.geteuid?.()} is neither root nor a member of group ${group}, so the coordinator `
      + 'could not give it the admin socket; run the coordinator as root or as a member of that group');
  }
  return { before, after, changes: diffSettings(before, after) };
}

/** Store a plan's changes in one transaction and apply them to the running engine. */
export function applyPlan(engine: Engine, plan: ChangePlan): void {
  if (plan.changes.length === 0) return;
  const sections = new Map<string, Record<string, unknown>>();
  for (const c of plan.changes) {
    const { section, name } = splitKey(c.key);
    if (!sections.has(section)) sections.set(section, { ...(engine.meta.getConfig<Record<string, unknown>>(section) ?? {}) });
    sections.get(section)![name] = c.to;
  }
  // The scheduler compares this with the end of a stopped background pass (scrub-scheduler.ts).
  if (sections.has('scrub')) sections.get('scrub')!.updatedMs = Date.now();
  engine.meta.transact((tx) => {
    for (const [section, value] of sections) tx.setConfig(section, value);
  });
  engine.txg.configure(groupSettings(engine.meta));
  engine.access.configure(heatSettings(engine.meta));
  const intensity = plan.changes.find((c) => c.key === 'scrub.intensity');
  const active = engine.jobs.active('scrub');
  if (intensity && active && (active.params as ScrubParams).background) {
    engine.jobs.setRate(active.id, intensityRate(intensity.to as IntensitySetting), { intensity: intensity.to as IntensitySetting });
  }
}

/** Whether this process (the coordinator, or the offline CLI of its owner) may chown a file to group `gid`. */
function mayGiveGroup(gid: number): boolean {
  return process.geteuid?.() === 0 || process.getegid?.() === gid || (process.getgroups?.() ?? []).includes(gid);
}
