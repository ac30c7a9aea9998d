/**
 * Named sets of settings for common kinds of pool. A preset sets every setting it covers:
 * the declaration's default unless the preset overrides it, so `production` (no
 * overrides) puts a pool back on the defaults. Site-specific settings (who may watch the
 * pool, where its metrics are served, what its mounts let in and show, what the audit must
 * record, how its tiers of disks are used) are not a matter of kind, and no preset touches
 * them: switching presets must not close a scraped endpoint, change a mount's exposure or
 * stop an audit a site relies on.
 */
import { DfsError } from '../errors';
import { SETTINGS, type SettingValue } from './settings';

export interface Override {
  value: SettingValue;
  why: string;
}

export interface Preset {
  name: string;
  summary: string;
  overrides: Readonly<Record<string, Override>>;
}

/** Settings a preset leaves as they are. */
export const PRESET_KEEPS: readonly string[] = ['admin.monitorGroup', 'metrics.port', 'metrics.bind', 'mount.suid', 'mount.dev', 'mount.allowOther',
  'snapshots.visible', 'audit.lookups', 'tier.foreground', 'tier.background', 'tier.demoteAfterSeconds', 'tier.promote',
  'tier.promoteReads', 'tier.promoteWindowSeconds', 'tier.classifier', 'tier.migrateEvery', 'tier.migrateRate', 'tier.hot.redundancy', 'tier.warm.redundancy', 'tier.cold.redundancy',
  'tier.hot.pricePerGiBMonth', 'tier.warm.pricePerGiBMonth', 'tier.cold.pricePerGiBMonth'];

export const PRESETS: readonly Preset[] = [
  { name: 'production', summary: 'the defaults: a pool holding data that matters', overrides: {} },
  { name: 'development', summary: 'a small pool on a workstation, its disks directories on one busy device', overrides: {
    'commit.intervalMs': { value: 1000, why: 'edits are durable within a second; a small pool\'s commits are cheap' },
    'commit.dirtyMaxBytes': { value: 64 * 1024 * 1024, why: 'the coordinator holds less memory next to editors and compilers' },
    'cache.extentBytes': { value: 32 * 1024 * 1024, why: 'as dirtyMaxBytes: less memory held, still eight extents of the default size' },
    'health.suspectLatencyMs': { value: 20_000, why: 'the disks share one device: a probe slowed by a build is not a failing disk' },
  } },
  { name: 'testing', summary: 'a pool for fault drills and tests: failures show within seconds', overrides: {
    'health.degradedErrors': { value: 1, why: 'an injected error moves a disk at once, so a drill sees every state' },
    'health.suspectErrors': { value: 2, why: 'as degradedErrors: a few errors walk a disk to suspect' },
    'health.failedErrors': { value: 3, why: 'and to failed, starting its rebuild, without hundreds of planted errors' },
    'health.monitorIntervalMs': { value: 500, why: 'a disk pulled by a test is noticed within half a second' },
    'commit.intervalMs': { value: 500, why: 'a test that kills the coordinator finds closed files durable half a second later' },
    'cache.extentBytes': { value: 16 * 1024 * 1024, why: 'a re-read reaches the disks sooner, so a fault planted under a file read a moment ago shows (the safe minimum)' },
    'gc.minAgeSeconds': { value: 60, why: 'orphans a killed run left are collected a minute later (the safe minimum)' },
  } },
  { name: 'high-performance', summary: 'throughput first, on a machine with memory to spare', overrides: {
    'commit.intervalMs': { value: 15_000, why: 'fewer, larger groups: each commit syncs every disk written (still under the 30 s safe bound)' },
    'commit.dirtyMaxBytes': { value: 2 * 1024 * 1024 * 1024, why: 'writers are held back later; needs 2 GiB of memory to spare (under the 4 GiB safe bound)' },
    'cache.extentBytes': { value: 1024 * 1024 * 1024, why: 're-reads of a working set up to 1 GiB come from memory, and many sequential readers keep their read-ahead' },
    'read.aheadExtents': { value: 8, why: 'a sequential reader keeps more disks busy at once (32 MiB ahead with 4 MiB extents)' },
    'rebuild.concurrency': { value: 4, why: 'redundancy comes back sooner after a disk fails, at the cost of the mount\'s share of the disks' },
  } },
];

export const PRESET_NAMES: readonly string[] = PRESETS.map((p) => p.name);

export function presetOf(name: unknown): Preset {
  const p = PRESETS.find((x) => x.name === name);
  if (!p) throw new DfsError('EINVAL', `config: unknown preset ${JSON.stringify(name) ?? String(name)}; the presets are ${PRESET_NAMES.join(', ')}`);
  return p;
}

/** The changes a preset makes: every setting it covers, to its default or override. */
export function presetChanges(p: Preset): Record<string, SettingValue> {
  return Object.fromEntries(SETTINGS.filter((s) => !PRESET_KEEPS.includes(s.key)).map((s) => [s.key, p.overrides[s.key]?.value ?? s.default]));
}
