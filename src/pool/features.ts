/**
 * The pool's format: a major version and feature flags, like zpool features. pool.json
 * (and every disk's metadata head, so `import` sees them) records the major version and,
 * from format 2 on, each feature the pool may use: `enabled` (this pool may use it) or
 * `active` (structures on the pool depend on it now; a DynamicFS that does not know it
 * must not open the pool). A feature not recorded is disabled: this code does not use it
 * on this pool until `dynamicfs upgrade` enables it.
 *
 * Format 1 (every pool made before the flags) records none: what its structures show in
 * use is inferred at open (legacyFeatures), and the rest stays disabled until upgrade.
 */
import { DfsError } from '../errors';

/** The newest format this code writes and reads; `init` creates it, `upgrade` moves older pools to it. */
export const POOL_FORMAT = 2;
/** Pools made before feature flags: no feature list, read by this code, upgradable. */
export const LEGACY_FORMAT = 1;

export type FeatureName = 'metadata-copies' | 'packed-extents' | 'intent-log';
/** As recorded in pool.json; a feature missing from the record is disabled. */
export type RecordedState = 'enabled' | 'active';
export type FeatureState = 'disabled' | RecordedState;

export interface FeatureInfo {
  name: FeatureName;
  /** What the pool's structures hold once it is active. */
  description: string;
  /** The pool format that records it (older pools gain it with `upgrade`). */
  sinceFormat: number;
  /** When it turns active. */
  activeWhen: string;
}

/** Every feature this code knows, in the order status lists them. */
export const FEATURES: readonly FeatureInfo[] = [
  { name: 'metadata-copies', sinceFormat: 2,
    description: 'each committed metadata generation is copied to the disks (DISK/meta/: checkpoint, log, head), so meta.db heals from them and `import` rebuilds the pool from its disks',
    activeWhen: 'a disk holds a metadata area' },
  { name: 'packed-extents', sinceFormat: 2,
    description: 'small files written through the mount share packs (one set of fragments for many files)',
    activeWhen: 'a pack extent exists' },
  { name: 'intent-log', sinceFormat: 2,
    description: 'an fsync through the mount appends records to DISK/intent.log on m+1 disks instead of committing the group; opening the pool replays them',
    activeWhen: 'an fsync has written intent-log records' },
];

export const FEATURE_NAMES: readonly FeatureName[] = FEATURES.map((f) => f.name);

export function isKnownFeature(name: string): name is FeatureName {
  return (FEATURE_NAMES as readonly string[]).includes(name);
}

/** Every known feature enabled, none active: a fresh pool (init). */
export function allEnabled(): Record<string, RecordedState> {
  return Object.fromEntries(FEATURE_NAMES.map((n) => [n, 'enabled' as const]));
}

/**
 * The recorded `format` and `features` of pool.json or a head, checked: a newer major
 * version, or an active feature this code does not know, is EFORMAT naming it; an
 * unknown feature that is only enabled is kept (nothing depends on it yet).
 */
export function checkFormat(format: unknown, features: unknown, file: string): Record<string, RecordedState> {
  if (!Number.isInteger(format) || (format as number) < LEGACY_FORMAT) {
    throw new DfsError('EFORMAT', `${file}: format ${String(format)} is not a DynamicFS pool format (damaged or edited by hand)`, file);
  }
  if ((format as number) > POOL_FORMAT) {
    throw new DfsError('EFORMAT', `${file}: the pool has format ${String(format)}, newer than this DynamicFS knows (formats ${LEGACY_FORMAT} to ${POOL_FORMAT}); `
      + 'open it with a newer DynamicFS', file, { format, supported: POOL_FORMAT });
  }
  if (format === LEGACY_FORMAT) return {};
  if (typeof features !== 'object' || features === null || Array.isArray(features)) {
    throw new DfsError('EFORMAT', `${file}: format ${String(format)} records no feature list (damaged or edited by hand)`, file);
  }
  const out: Record<string, RecordedState> = {};
  for (const [name, state] of Object.entries(features as Record<string, unknown>)) {
    if (state !== 'enabled' && state !== 'active') {
      throw new DfsError('EFORMAT', `${file}: feature "${name}" has state ${JSON.stringify(state)}; a recorded feature is "enabled" or "active"`, file);
    }
    if (state === 'active' && !isKnownFeature(name)) {
      throw new DfsError('EFORMAT', `${file}: the pool uses feature "${name}" (active), which this DynamicFS does not know; `
        + 'open it with a newer DynamicFS', file, { feature: name });
    }
    out[name] = state;
  }
  return out;
}

/** One feature as status shows it. */
export interface FeatureView {
  name: string;
  state: FeatureState;
  /** False for a feature recorded by a newer DynamicFS (enabled only, or the pool would not open). */
  known: boolean;
  sinceFormat: number | null;
  description: string;
}

/** The known features in table order, then the recorded ones this code does not know. */
export function featureViews(recorded: Readonly<Record<string, RecordedState>>): FeatureView[] {
  const known: FeatureView[] = FEATURES.map((f) => ({ name: f.name, state: recorded[f.name] ?? 'disabled', known: true, sinceFormat: f.sinceFormat, description: f.description }));
  const unknown: FeatureView[] = Object.keys(recorded).filter((n) => !isKnownFeature(n)).sort()
    .map((n) => ({ name: n, state: recorded[n]!, known: false, sinceFormat: null, description: 'unknown to this DynamicFS (recorded by a newer one)' }));
  return [...known, ...unknown];
}

/**
 * What a format-1 pool's structures show in use, inferred at open: a metadata area
 * written by pre-flag code means that code had copies, packs and the intent log too (they
 * came before the copies), so all three are taken as enabled; without one, each is
 * active only if its structures exist, disabled otherwise (until `upgrade`).
 */
export function legacyFeatures(evidence: { legacyAreas: boolean; packs: boolean; intentLogs: boolean }): Record<string, RecordedState> {
  const out: Record<string, RecordedState> = {};
  if (evidence.legacyAreas) Object.assign(out, allEnabled(), { 'metadata-copies': 'active' });
  if (evidence.packs) out['packed-extents'] = 'active';
  if (evidence.intentLogs) out['intent-log'] = 'active';
  return out;
}
