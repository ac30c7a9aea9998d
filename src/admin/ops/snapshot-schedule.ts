/**
 * `snapshot-schedule`: list, add (or replace, by prefix) and remove the snapshot schedules
 * a coordinator follows (snapshot-schedules.ts, snapshot-scheduler.ts). Without `every`
 * or `remove` it only lists. A change is one transaction of the pool's config; `remove`
 * answers once no run of that schedule is in flight.
 */
import { DfsError } from '../../errors';
import { SnapshotScheduler } from '../snapshot-scheduler';
import {
  checkKeep, checkPrefix, defaultPrefix, everyText, parseEvery, planOf, readSchedules, SCHEDULES_CONFIG, schedulesValue, toPrune, type SnapshotSchedule,
} from '../snapshot-schedules';
import type { AdminOp } from '../context';

export interface SnapshotScheduleArgs {
  /** An interval such as 2s, 15m, 1h, 1d, 1w: add or replace the schedule of `prefix`. */
  every?: string;
  keep?: number;
  /** Default: from the interval (auto-hourly, auto-daily, auto-weekly, auto-<every>). */
  prefix?: string;
  /** The prefix whose schedule to remove. */
  remove?: string;
}

export interface ScheduleRow {
  prefix: string;
  every: string;
  everyMs: number;
  keep: number;
  setMs: number;
  /** Its snapshots now (held ones included) and how many of them are held. */
  snapshots: number;
  held: number;
  /** The newest one's time (null: none yet). */
  lastMs: number | null;
  /** When a coordinator takes the next one (now or earlier: at once). */
  nextDueMs: number;
  /** Snapshots the next run prunes besides the one it takes (the prefix already over keep). */
  overKeep: number;
}

export interface SnapshotScheduleData {
  pool: string;
  schedules: ScheduleRow[];
  /** What this request changed. */
  added: ScheduleRow | null;
  /** The schedule the new one replaced, or the one removed. */
  replaced: SnapshotSchedule | null;
  removed: SnapshotSchedule | null;
  /** A coordinator in this process follows the schedules (false: they wait for `mount` or `serve`). */
  running: boolean;
}

export const snapshotSchedule: AdminOp<SnapshotScheduleArgs, SnapshotScheduleData> = async (engine, args) => {
  const a = (args ?? {}) as Record<string, unknown>;
  const given = (k: string): boolean => a[k] !== undefined && a[k] !== null;
  if (given('remove') && (given('every') || given('keep') || given('prefix'))) {
    throw new DfsError('EINVAL', '--remove PREFIX takes no --every, --keep or --prefix: remove a schedule, or add one, in one command');
  }
  if (!given('every') && (given('keep') || given('prefix'))) {
    throw new DfsError('EINVAL', '--keep and --prefix go with --every: give the interval too (snapshot schedule POOL --every 1h --keep 24)');
  }
  const before = readSchedules(engine.meta);
  let added: SnapshotSchedule | null = null;
  let replaced: SnapshotSchedule | null = null;
  let removed: SnapshotSchedule | null = null;
  if (given('every')) {
    const everyMs = parseEvery(a.every);
    if (!given('keep')) throw new DfsError('EINVAL', `--every ${String(a.every)} needs --keep N: how many of its snapshots to keep (such as --keep 24)`);
    const keep = checkKeep(a.keep);
    const prefix = given('prefix') ? checkPrefix(a.prefix) : defaultPrefix(everyMs);
    added = { prefix, everyMs, keep, setMs: Date.now() };
    replaced = before.find((s) => s.prefix === prefix) ?? null;
    const next = [...before.filter((s) => s.prefix !== prefix), added];
    engine.meta.transact((tx) => tx.setConfig(SCHEDULES_CONFIG, schedulesValue(next)));
  } else if (given('remove')) {
    const prefix = checkPrefix(a.remove);
    removed = before.find((s) => s.prefix === prefix) ?? null;
    if (!removed) {
      const have = before.map((s) => s.prefix).join(', ');
      throw new DfsError('ENOENT', `no snapshot schedule with prefix ${JSON.stringify(prefix)}; ${have ? `the schedules are ${have}` : 'there are none'} (snapshot schedule POOL --list)`);
    }
    engine.meta.transact((tx) => tx.setConfig(SCHEDULES_CONFIG, schedulesValue(before.filter((s) => s.prefix !== prefix))));
    // The run in flight may be this schedule's: once it ends, none can start (the next tick reads the new list).
    await SnapshotScheduler.of(engine)?.idle();
  }
  const snapshots = engine.meta.snapshots();
  const now = Date.now();
  const rows = readSchedules(engine.meta).map((s): ScheduleRow => {
    const plan = planOf(s, snapshots, now);
    return { prefix: s.prefix, every: everyText(s.everyMs), everyMs: s.everyMs, keep: s.keep, setMs: s.setMs, snapshots: plan.owned.length,
      held: plan.owned.filter((o) => o.snapshot.held).length, lastMs: plan.lastMs, nextDueMs: plan.nextDueMs, overKeep: toPrune(s, plan.owned).length };
  });
  return { pool: engine.pool.dir, schedules: rows, added: added && (rows.find((r) => r.prefix === added!.prefix) ?? null), replaced, removed,
    running: SnapshotScheduler.of(engine) !== undefined };
};
