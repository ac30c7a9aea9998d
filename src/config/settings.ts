/**
 * Every pool setting, declared once: key, schema (valibot: type and valid range), default, the
 * safe range where it is narrower than the valid one, a one-line reason and when a change
 * takes effect. The readers (pool/health.ts, engine/txg.ts, engine/scrub-scheduler.ts,
 * engine/rebuild.ts, engine/placement.ts, fs/read-tuning.ts, fs/snapshot-dir.ts, admin/access.ts, admin/audit.ts,
 * daemon/serve-settings.ts, the gc and check operations),
 * `config --set`/`--preset`/`import`, diagnose's `setting-unsafe` check and the README's
 * settings table all come from here.
 *
 * A setting `section.name` is stored in the JSON object under meta key `config.<section>`
 * (meta/sqlite/config.ts), so a pool written before this declaration reads the same.
 */
import * as v from 'valibot';

export type SettingValue = number | string | boolean | null;

/** What an operator may type for it, and the valid range in words (messages, the README). */
export interface SettingSpec {
  key: string;
  schema: v.GenericSchema<unknown, SettingValue>;
  default: SettingValue;
  /** e.g. "100..60000" or "nightly | continuous | manual". */
  range: string;
  /** What it takes, for messages: "a whole number in 100..60000", "one of nightly | continuous | manual". */
  takes: string;
  /** Whole-number settings: the valid bounds. */
  bounds?: { min: number; max: number };
  /** Numbers only: the values outside this are valid but risky, with the risk. */
  safe?: { min?: number; max?: number; risk: string };
  reason: string;
  /** When a running coordinator starts using a new value. */
  applies: string;
}

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
/** Group ids a setting may name (0 clears it: root's group needs no setting). */
export const MAX_GID = 4294967294;
export const MAX_PORT = 65535;
export const SCRUB_FREQUENCIES = ['nightly', 'continuous', 'manual'] as const;
export const SCRUB_INTENSITIES = ['low', 'medium', 'high'] as const;
export const TIERS = ['hot', 'warm', 'cold'] as const;
/** How extents are judged hot or cold from their reads per interval (engine/heat.ts). */
export const HEAT_CLASSIFIERS = ['hmm', 'decayed'] as const;

/** rs:K+M (1 <= K, 1 <= M <= 8, K+M <= 32) or mirror:N (2..8): pool/policy.ts's grammar, checked here for the settings. */
function redundancyText(t: string): boolean {
  const rs = /^rs:(\d+)\+(\d+)$/.exec(t);
  if (rs) {
    const k = Number(rs[1]), m = Number(rs[2]);
    return k >= 1 && m >= 1 && m <= 8 && k + m <= 32;
  }
  const mirror = /^mirror:(\d+)$/.exec(t);
  return mirror !== null && Number(mirror[1]) >= 2 && Number(mirror[1]) <= 8;
}

function tierRedundancy(tier: string, example: string): SettingSpec {
  return { key: `tier.${tier}.redundancy`, schema: v.union([v.null(), v.pipe(v.string(), v.check(redundancyText))]), default: null,
    range: 'rs:K+M | mirror:N, or none', takes: `a redundancy such as ${example} (rs:K+M with K+M <= 32 and M <= 8, or mirror:2..8), or none for the file's own`,
    applies: 'at once (the next extent written)',
    reason: `the redundancy of extents placed on ${tier} disks (none: the file's policy, user.dynamicfs.policy or the pool's)` };
}

function int(min: number, max: number): Pick<SettingSpec, 'schema' | 'range' | 'takes' | 'bounds'> {
  return { schema: v.pipe(v.number(), v.integer(), v.minValue(min), v.maxValue(max)), range: `${min}..${max}`, takes: `a whole number in ${min}..${max}`, bounds: { min, max } };
}

function fraction(): Pick<SettingSpec, 'schema' | 'range' | 'takes'> {
  return { schema: v.pipe(v.number(), v.finite(), v.minValue(0), v.maxValue(1)), range: '0..1', takes: 'a fraction in 0..1' };
}

function bool(): Pick<SettingSpec, 'schema' | 'range' | 'takes'> {
  return { schema: v.boolean(), range: 'true | false', takes: 'true or false' };
}

function oneOf(values: readonly [string, ...string[]]): Pick<SettingSpec, 'schema' | 'range' | 'takes'> {
  return { schema: v.picklist(values), range: values.join(' | '), takes: `one of ${values.join(' | ')}` };
}

const ON_CHECK = 'at the next error counted or probe';
const ON_START = 'when the coordinator next starts (mount, serve)';
const ON_MOUNT = 'at the next mount';

function tierPrice(tier: string, price: number): SettingSpec {
  return { key: `tier.${tier}.pricePerGiBMonth`, schema: v.pipe(v.number(), v.finite(), v.minValue(0), v.maxValue(1_000_000)), default: price, range: '0..1000000',
    takes: 'a price (any currency) of one GiB for a month, 0..1000000', applies: 'at once (the next tier status or scrape)',
    reason: `what one GiB stored on ${tier} disks costs a month (fragments as they lie on the disks, parity included), for tier status's cost estimate` };
}

/** The declaration, in the order `config` shows it. */
export const SETTINGS: readonly SettingSpec[] = [
  { key: 'health.degradedErrors', ...int(1, 1_000_000), default: 3, applies: ON_CHECK,
    reason: 'I/O errors (read + checksum + write) at which a healthy disk turns degraded' },
  { key: 'health.suspectErrors', ...int(1, 1_000_000), default: 10, applies: ON_CHECK,
    reason: 'I/O errors at which a disk turns suspect (it gets no new fragments)' },
  { key: 'health.failedErrors', ...int(1, 1_000_000), default: 50, applies: ON_CHECK,
    reason: 'I/O errors at which a disk turns failed and its extents are rebuilt elsewhere' },
  { key: 'health.suspectLatencyMs', ...int(1, 600_000), default: 5000, applies: ON_CHECK,
    safe: { min: 100, risk: 'a busy but healthy disk\'s probe (write + fsync + read-back) can take this long, so healthy disks turn suspect' },
    reason: 'a probe slower than this makes a disk suspect' },
  { key: 'health.monitorIntervalMs', ...int(100, 3_600_000), default: 2000, applies: 'when the coordinator next starts',
    safe: { max: 60_000, risk: 'a vanished disk goes unnoticed, and its extents unrebuilt, for this long' },
    reason: 'how often a running coordinator checks that every disk is present and writable' },
  { key: 'commit.intervalMs', ...int(100, 60_000), default: 5000, applies: 'at once',
    safe: { max: 30_000, risk: 'a file written and closed without fsync can be lost for this long after a crash' },
    reason: 'the longest a change waits for a transaction group to make it durable (fsync never waits)' },
  { key: 'commit.dirtyMaxBytes', ...int(16 * MiB, 16 * GiB), default: 256 * MiB, applies: 'at once',
    safe: { max: 4 * GiB, risk: 'this much written data can sit between commits, in memory and at risk' },
    reason: 'bytes written since the last commit that force one and hold writers back' },
  { key: 'cache.extentBytes', ...int(MiB, 256 * GiB), default: 64 * MiB, applies: 'at once (a smaller budget evicts at once)',
    safe: { min: 16 * MiB, risk: 'a sequential reader needs read.aheadExtents + 1 extents (4 MiB each by default) cached: with less, a read-ahead is evicted before its read comes, and each extent is fetched again and again' },
    reason: 'bytes of verified extents the mount keeps in memory, for re-reads and read-ahead (least recently used out first)' },
  { key: 'read.aheadExtents', ...int(0, 64), default: 2, applies: 'at once (the mount\'s next read, the next get)',
    safe: { max: 16, risk: 'each sequential reader holds this many extents in memory (gigabytes with large extents), and in the mount they push out what others re-read' },
    reason: 'extents fetched ahead of a sequential reader, by the mount (into its cache) and by get (0: one extent at a time)' },
  { key: 'admin.monitorGroup', schema: v.pipe(v.union([v.null(), v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(MAX_GID))]), v.transform((g) => (g === 0 ? null : g))),
    range: `1..${MAX_GID}, or 0 / none`, takes: `a group id in 1..${MAX_GID}, or 0 or none for none`, default: null, applies: 'at once (the admin socket\'s group and mode)',
    reason: 'a group whose members may run read-only commands over the admin socket (getent group NAME shows its id)' },
  { key: 'metrics.port', schema: v.union([v.null(), v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(MAX_PORT))]), bounds: { min: 0, max: MAX_PORT },
    range: `0..${MAX_PORT}, or none`, takes: `a port in 0..${MAX_PORT} (0: any free one), or none for no endpoint`, default: null, applies: ON_START,
    reason: 'the coordinator serves /metrics, /metrics/json and /health over HTTP on this port (--metrics-port wins)' },
  { key: 'metrics.bind', schema: v.pipe(v.string(), v.regex(/^[^\s/]+$/)), range: 'an IP address or host name', takes: 'an IP address or a host name (no spaces or slashes)',
    default: '127.0.0.1', applies: ON_START,
    reason: 'the address the metrics endpoint binds, 0.0.0.0 for every interface (--metrics-bind wins)' },
  { key: 'mount.suid', ...bool(), default: false, applies: ON_MOUNT,
    reason: 'mounts honour set-user-ID and set-group-ID bits (false: nosuid, as a pool\'s files may come from anyone; --suid / --no-suid win)' },
  { key: 'mount.dev', ...bool(), default: false, applies: ON_MOUNT,
    reason: 'device files in mounts open as devices (false: nodev; --dev / --no-dev win)' },
  { key: 'mount.allowOther', ...bool(), default: false, applies: ON_MOUNT,
    reason: 'mounts let other users in (for non-root needs user_allow_other in /etc/fuse.conf, as --allow-other; --no-allow-other wins)' },
  { key: 'snapshots.visible', ...bool(), default: false, applies: 'at once (the mount\'s next readdir of /)',
    reason: 'readdir of a mount\'s root lists .snapshots (false: hidden, as ZFS\'s snapdir; /.snapshots/NAME opens either way)' },
  { key: 'audit.lookups', ...bool(), default: false, applies: 'at once (the admin socket\'s next request)',
    reason: 'the audit log records read-only requests too (status, health, jobs, ...; never ping), not only changes' },
  { key: 'scrub.frequency', ...oneOf(SCRUB_FREQUENCIES), default: 'manual', applies: 'at the scheduler\'s next look (2 s)',
    reason: 'when background scrubs start: nightly (a day after the last), continuous, or manual (never by themselves)' },
  { key: 'scrub.intensity', schema: v.union([v.picklist(SCRUB_INTENSITIES), v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(Number.MAX_SAFE_INTEGER))]),
    range: `${SCRUB_INTENSITIES.join(' | ')} | 0..${Number.MAX_SAFE_INTEGER} (bytes/s, 0 unlimited)`, default: 'low',
    takes: `${SCRUB_INTENSITIES.join(', ')} or a rate in bytes per second, 0..${Number.MAX_SAFE_INTEGER} (0: unlimited)`,
    applies: 'at once, to a running background scrub too',
    reason: 'the I/O rate a background scrub may use: low 32 MiB/s, medium 128 MiB/s, high unlimited, or a rate' },
  { key: 'scrub.autoRepair', ...bool(), default: false, applies: 'at the next background scrub',
    reason: 'background scrubs repair the damage they find on the spot rather than queueing it' },
  { key: 'rebuild.concurrency', ...int(1, 64), default: 1, applies: 'at once (a running rebuild or drain, at its next extent)',
    safe: { max: 16, risk: 'each extent in repair holds its fragments in memory (over 1 GiB with 256 MiB extents), and the rebuild takes that much more of the disks\' time from the mount' },
    reason: 'extents a rebuild or drain repairs at once (1: one at a time, strictly riskiest first; more finish sooner on pools with many disks)' },
  { key: 'gc.minAgeSeconds', ...int(0, 7 * 86_400), default: 900, applies: 'at the next gc or check --repair',
    safe: { min: 60, risk: 'a fragment of a write still in flight in another process is younger than this and could be taken for an orphan' },
    reason: 'gc and check --repair remove only unreferenced fragments and temp files at least this old (unless given --min-age)' },
  { key: 'compact.belowFraction', ...fraction(), default: 0.5, applies: 'at the next compact',
    reason: 'compact rewrites packs whose live bytes are at most this fraction of their size (unless given --below)' },
  { key: 'tier.foreground', ...oneOf(TIERS), default: 'hot', applies: 'at once (the next extent written)',
    reason: 'the tier new extents go to unless their directory or file says otherwise (user.dynamicfs.tier); a tier without disks is skipped, a full or short one falls back with an event' },
  { key: 'tier.background', schema: v.union([v.null(), v.picklist(TIERS)]), default: null, range: 'hot | warm | cold, or none',
    takes: 'one of hot | warm | cold, or none', applies: 'at the next tier migrate',
    reason: 'the tier extents move to once not read for tier.demoteAfterSeconds, by `tier migrate` (none: they stay; a directory\'s user.dynamicfs.tier may say otherwise)' },
  { key: 'tier.demoteAfterSeconds', ...int(1, 10 * 365 * 86_400), default: 30 * 86_400, applies: 'at the next tier migrate',
    reason: 'seconds without a read after which an extent moves to its background tier, unless the heat classifier calls it hot (or its user.dynamicfs.tier says otherwise)' },
  { key: 'tier.promote', ...bool(), default: false, applies: 'at the next tier migrate',
    reason: 'extents the heat classifier (tier.classifier) calls hot while off their foreground tier move back to it, by `tier migrate` (a directory\'s user.dynamicfs.tier promote=on|off wins)' },
  { key: 'tier.promoteReads', ...int(1, 16), default: 4, applies: 'at once (the intervals that end from then on)',
    reason: 'reads per tier.promoteWindowSeconds that make an extent hot: the decayed count\'s threshold, the HMM\'s read rate of a hot extent (tier.classifier)' },
  { key: 'tier.promoteWindowSeconds', ...int(1, 30 * 86_400), default: 3600, applies: 'at once (the intervals that end from then on)',
    reason: 'the interval in which reads are counted for the heat classifier: an extent is judged on whole intervals, so a promotion waits for the end of the one it is read in' },
  { key: 'tier.classifier', ...oneOf(HEAT_CLASSIFIERS), default: 'hmm', applies: 'at once (the next tier migrate or tier status)',
    reason: 'what judges an extent hot (promoted; never demoted) from its reads per interval: hmm, a two-state hidden Markov model, or decayed, a read count halved every interval (bench:tier compares them)' },
  { key: 'tier.migrateEvery', ...int(0, 366 * 86_400), default: 3600, applies: 'at the scheduler\'s next look (2 s)',
    reason: 'seconds after the last tier migration ended at which the coordinator starts one by itself when some extent is due (0: never; a pool whose disks are all of one tier has nothing to move)' },
  { key: 'tier.migrateRate', ...int(0, Number.MAX_SAFE_INTEGER), default: 32 * MiB, applies: 'at the next tier migrate',
    reason: 'bytes per second a migration may move unless `tier migrate --rate` says otherwise (0: unlimited); a limited one slows to a quarter of it while the mount or a get reads or writes' },
  tierRedundancy('hot', 'mirror:2'),
  tierRedundancy('warm', 'rs:4+2'),
  tierRedundancy('cold', 'rs:8+3'),
  tierPrice('hot', 0.1),
  tierPrice('warm', 0.03),
  tierPrice('cold', 0.01),
];

const BY_KEY = new Map(SETTINGS.map((s) => [s.key, s]));

export function settingOf(key: string): SettingSpec | undefined {
  return BY_KEY.get(key);
}

export const SETTING_KEYS: readonly string[] = SETTINGS.map((s) => s.key);

/** The section (meta key config.<section>) and name of a key. */
export function splitKey(key: string): { section: string; name: string } {
  const dot = key.indexOf('.');
  return { section: key.slice(0, dot), name: key.slice(dot + 1) };
}

/** Every key of a section with its default, as the section's readers see it. */
export function sectionDefaults(section: string): Record<string, SettingValue> {
  return Object.fromEntries(SETTINGS.filter((s) => splitKey(s.key).section === section).map((s) => [splitKey(s.key).name, s.default]));
}

/** Rules across settings, checked on the whole set after a change (null: it holds). */
export const CROSS_CHECKS: readonly ((v: ReadonlyMap<string, SettingValue>) => string | null)[] = [
  (v) => {
    const [d, s, f] = ['health.degradedErrors', 'health.suspectErrors', 'health.failedErrors'].map((k) => v.get(k) as number);
    return d! <= s! && s! <= f! ? null
      : `thresholds must rise: degradedErrors (${d}) <= suspectErrors (${s}) <= failedErrors (${f})`;
  },
];

/** Whether `value` is outside the setting's safe range (always false for settings without one). */
export function unsafe(spec: SettingSpec, value: SettingValue): boolean {
  if (!spec.safe || typeof value !== 'number') return false;
  return (spec.safe.min !== undefined && value < spec.safe.min) || (spec.safe.max !== undefined && value > spec.safe.max);
}

/** The safe range in words ("100..30000"), null where it is the valid range. */
export function safeRange(spec: SettingSpec): string | null {
  if (!spec.safe || !spec.bounds) return null;
  return `${spec.safe.min ?? spec.bounds.min}..${spec.safe.max ?? spec.bounds.max}`;
}
