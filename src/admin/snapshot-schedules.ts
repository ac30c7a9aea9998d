/**
 * Snapshot schedules, like sanoid's: each takes a snapshot named `PREFIX-YYYYMMDD-HHMMSS`
 * (UTC) every so often and keeps the newest `keep` of its prefix. The schedules are kept
 * in the pool's config under one name (a list does not fit the scalar settings of
 * config/settings.ts), set by `snapshot schedule` and followed by a coordinator
 * (snapshot-scheduler.ts).
 *
 * Everything here is a pure function of the schedules, the snapshots and the clock, so
 * `snapshot schedule --list` can show what is due and tests can move the clock:
 * - a schedule is due when its newest snapshot (by the time in its name) is `every` old,
 *   or when it has none: runs missed while no coordinator ran are one run, not a burst;
 * - a snapshot belongs to a schedule only when its whole name is PREFIX, a dash and the
 *   14-digit time; manual snapshots and other prefixes are never its to prune;
 * - held snapshots are outside the rotation: never pruned and not counted in `keep`,
 *   so a hold never costs the schedule one of its `keep` recent snapshots. Released, a
 *   snapshot counts again (and, being old, goes at the next run).
 */
import { DfsError } from '../errors';
import type { Snapshot } from '../meta/records';
import type { MetaStore } from '../meta/store';

/** The config name the schedules are stored under. */
export const SCHEDULES_CONFIG = 'snapshot-schedules';

export interface SnapshotSchedule {
  prefix: string;
  /** Milliseconds between snapshots (whole seconds, at least one). */
  everyMs: number;
  /** Unheld snapshots of the prefix kept (the newest). */
  keep: number;
  /** When this schedule was added or last replaced. */
  setMs: number;
}

/** Schedules run at most this often; a name's time has whole seconds. */
export const MIN_EVERY_MS = 1000;
export const MAX_EVERY_MS = 366 * 86_400_000;
export const MAX_KEEP = 100_000;
/** `-YYYYMMDD-HHMMSS` */
const SUFFIX_LEN = 16;
/** Prefixes are snapshot names (fs/snapshots.ts) short enough for the suffix. */
const PREFIX = new RegExp(`^[A-Za-z0-9_][A-Za-z0-9._:+-]{0,${127 - SUFFIX_LEN}}$`);
const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** `2s`, `15m`, `1h`, `1d`, `1w` as milliseconds; EINVAL naming --every and the fix. */
export function parseEvery(text: unknown): number {
  const m = typeof text === 'string' ? /^(\d+)([smhdw])$/.exec(text.trim()) : null;
  if (!m) {
    throw new DfsError('EINVAL', `--every ${JSON.stringify(text)} is not an interval: give a whole number and a unit s, m, h, d or w (such as 30s, 15m, 1h, 1d, 1w)`);
  }
  const ms = Number(m[1]) * UNIT_MS[m[2]!]!;
  if (ms < MIN_EVERY_MS || ms > MAX_EVERY_MS) {
    throw new DfsError('EINVAL', `--every ${text} is outside 1s..366d: a schedule takes at most one snapshot a second (use 1s or more) and at least one a year`);
  }
  return ms;
}

export function checkKeep(v: unknown): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1 || v > MAX_KEEP) {
    throw new DfsError('EINVAL', `--keep ${JSON.stringify(v)} is not a count from 1 to ${MAX_KEEP}: how many of the schedule's newest snapshots to keep (to stop taking them, --remove the schedule)`);
  }
  return v;
}

export function checkPrefix(v: unknown): string {
  if (typeof v !== 'string' || !PREFIX.test(v)) {
    throw new DfsError('EINVAL', `--prefix ${JSON.stringify(v)}: use 1 to ${128 - SUFFIX_LEN} letters, digits and . _ : + - (not starting with . or -), `
      + 'such as auto-hourly; snapshots are named PREFIX-YYYYMMDD-HHMMSS');
  }
  return v;
}

/** The interval as the largest unit it is a whole number of: `90s`, `15m`, `6h`, `2d`, `1w`. */
export function everyText(ms: number): string {
  for (const u of ['w', 'd', 'h', 'm'] as const) if (ms % UNIT_MS[u]! === 0) return `${ms / UNIT_MS[u]!}${u}`;
  return `${ms / 1000}s`;
}

/** The prefix a schedule gets unless given one: auto-hourly, auto-daily, auto-weekly, else auto-<interval>. */
export function defaultPrefix(everyMs: number): string {
  const named: Record<number, string> = { [UNIT_MS.h!]: 'hourly', [UNIT_MS.d!]: 'daily', [UNIT_MS.w!]: 'weekly' };
  return `auto-${named[everyMs] ?? everyText(everyMs)}`;
}

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

/** `PREFIX-YYYYMMDD-HHMMSS` of `ms` in UTC. */
export function snapshotNameFor(prefix: string, ms: number): string {
  const d = new Date(ms);
  return `${prefix}-${pad(d.getUTCFullYear(), 4)}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}-${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}`;
}

const STAMP = /^-(\d{4})(\d{2})(\d{2})-(\d{2})(\d{2})(\d{2})$/;

/** The time in a snapshot name of `prefix`'s schedule, or undefined when the name is not one. */
export function scheduledTime(prefix: string, name: string): number | undefined {
  if (name.length !== prefix.length + SUFFIX_LEN || !name.startsWith(prefix)) return undefined;
  const m = STAMP.exec(name.slice(prefix.length));
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  const ms = Date.UTC(y, mo - 1, d, h, mi, s);
  // 20261399-... parses to another day: not a name this code made.
  return snapshotNameFor(prefix, ms) === name ? ms : undefined;
}

/** The stored schedules, by prefix; entries this version cannot read are left out (reading is forgiving, as for settings). */
export function readSchedules(meta: Pick<MetaStore, 'getConfig'>): SnapshotSchedule[] {
  const raw = meta.getConfig<unknown>(SCHEDULES_CONFIG);
  const list = raw !== null && typeof raw === 'object' && Array.isArray((raw as { schedules?: unknown }).schedules) ? (raw as { schedules: unknown[] }).schedules : [];
  const out: SnapshotSchedule[] = [];
  for (const s of list) {
    try {
      const r = s as Record<string, unknown>;
      const everyMs = r.everyMs;
      if (typeof everyMs !== 'number' || !Number.isSafeInteger(everyMs) || everyMs < MIN_EVERY_MS) continue;
      out.push({ prefix: checkPrefix(r.prefix), everyMs, keep: checkKeep(r.keep), setMs: typeof r.setMs === 'number' ? r.setMs : 0 });
    } catch {
      // not a schedule this version reads
    }
  }
  return out.sort((a, b) => (a.prefix < b.prefix ? -1 : 1));
}

/** The value to store for `schedules`. */
export function schedulesValue(schedules: readonly SnapshotSchedule[]): { schedules: SnapshotSchedule[] } {
  return { schedules: [...schedules].sort((a, b) => (a.prefix < b.prefix ? -1 : 1)) };
}

/** One snapshot of a schedule, with the time its name gives. */
export interface Owned {
  snapshot: Snapshot;
  timeMs: number;
}

export interface SchedulePlan {
  /** The schedule's snapshots, oldest first (by the time in their names, then generation). */
  owned: Owned[];
  /** The newest one's time (null: none yet). */
  lastMs: number | null;
  /** When the next snapshot is due (now or earlier: due). */
  nextDueMs: number;
  due: boolean;
}

/** Where `schedule` stands among `snapshots` at `nowMs`. */
export function planOf(schedule: SnapshotSchedule, snapshots: readonly Snapshot[], nowMs: number): SchedulePlan {
  const owned: Owned[] = [];
  for (const snapshot of snapshots) {
    const timeMs = scheduledTime(schedule.prefix, snapshot.name);
    if (timeMs !== undefined) owned.push({ snapshot, timeMs });
  }
  owned.sort((a, b) => a.timeMs - b.timeMs || a.snapshot.gen - b.snapshot.gen);
  const lastMs = owned.length === 0 ? null : owned[owned.length - 1]!.timeMs;
  const nextDueMs = lastMs === null ? nowMs : lastMs + schedule.everyMs;
  return { owned, lastMs, nextDueMs, due: nowMs >= nextDueMs };
}

/** The snapshots of a schedule to prune: its oldest unheld ones beyond the newest `keep` unheld. */
export function toPrune(schedule: SnapshotSchedule, owned: readonly Owned[]): Snapshot[] {
  const unheld = owned.filter((o) => !o.snapshot.held).map((o) => o.snapshot);
  return unheld.slice(0, Math.max(0, unheld.length - schedule.keep));
}
