/**
 * diagnose's findings about single disks, from what the pool already counts: I/O errors
 * against a disk's age (a rough time to its failed threshold: the error rate so far,
 * extrapolated), how full its filesystem is, and how slow its fragment I/O has been
 * compared with the pool's other disks (the latency histogram of the process that
 * answers: a running coordinator's since it started; an offline run has none).
 */
import type { HealthConfig } from '../../pool/health';
import type { DiskRow } from '../../meta/records';
import type { DiskReport } from '../disk-report';
import type { Finding } from './finding';

const DAY_MS = 86_400_000;
/** A disk this full is a warning: placement soon skips it, and with it the pool's spread. */
export const DISK_FULL_WARN = 0.9;
/** Below this many timed fragment operations a disk's mean says nothing. */
export const SLOW_MIN_OPS = 8;
/** Slow: its mean fragment I/O time at least this many times the other disks' median... */
export const SLOW_FACTOR = 3;
/** ...and at least this much slower in absolute terms (fast disks differ by fractions of a millisecond). */
export const SLOW_MIN_EXTRA_MS = 10;
/** A projected failure within this many days is a warning, later ones are info. */
const FAILURE_SOON_DAYS = 30;

/** Fragment reads and writes per disk: how many and their total time. */
export type DiskLatency = Map<number, { ops: number; seconds: number }>;

export interface DiskFindingInput {
  pool: string;
  reports: readonly DiskReport[];
  rows: readonly DiskRow[];
  health: HealthConfig;
  latency: DiskLatency;
  nowMs: number;
}

export function diskFindings(input: DiskFindingInput): Finding[] {
  return [...errorFindings(input), ...fullFindings(input), ...slowFindings(input)];
}

/**
 * Errors against age: healthy disks counting errors (each error brings the degraded
 * threshold nearer), and any disk not yet failed, the days until its errors reach the
 * failed threshold at its rate so far. The disk's age is floored at an hour so a burst on
 * a new disk gives a short estimate, not a division by zero.
 */
function errorFindings({ pool, reports, rows, health, nowMs }: DiskFindingInput): Finding[] {
  const out: Finding[] = [];
  for (const d of reports) {
    const errors = d.readErrors + d.checksumErrors + d.writeErrors;
    if (errors === 0 || d.state === 'failed') continue;
    const row = rows.find((r) => r.id === d.id);
    const ageDays = Math.max(1 / 24, (nowMs - (row?.addedMs ?? nowMs)) / DAY_MS);
    const perDay = errors / ageDays;
    const daysToFailed = Math.max(0, (health.failedErrors - errors) / perDay);
    const forecast = `at its rate so far (${errors} in ${formatDays(ageDays)} since it was added) it reaches the failed threshold (health.failedErrors = ${health.failedErrors}) in about ${formatDays(daysToFailed)}`;
    const evidence = { disk: d.id, readErrors: d.readErrors, checksumErrors: d.checksumErrors, writeErrors: d.writeErrors,
      ageDays: round(ageDays, 3), errorsPerDay: round(perDay, 3), daysToFailed: round(daysToFailed, 3), failedErrors: health.failedErrors };
    const fix = `dynamicfs probe-disks ${pool}; dynamicfs disk-events ${pool} ${d.id}`;
    if (d.state === 'healthy') {
      out.push({ code: 'disk-errors', severity: 'warning', evidence, fix,
        message: `disk ${d.id} (${d.path}) is healthy but has counted ${errors} I/O ${errors === 1 ? 'error' : 'errors'} (${d.readErrors} read, ${d.checksumErrors} checksum, ${d.writeErrors} write); `
          + `at ${health.degradedErrors} it turns degraded; ${forecast}` });
    } else {
      out.push({ code: 'disk-failure-forecast', severity: daysToFailed < FAILURE_SOON_DAYS ? 'warning' : 'info', evidence,
        fix: `dynamicfs replace-disk ${pool} ${d.id} <new dir> before it fails (or dynamicfs drain ${pool} ${d.id})`,
        message: `disk ${d.id} (${d.path}, ${d.state}): ${forecast}` });
    }
  }
  return out;
}

function fullFindings({ pool, reports }: DiskFindingInput): Finding[] {
  return reports.filter((d) => d.present && d.capacityBytes > 0 && d.usedBytes / d.capacityBytes >= DISK_FULL_WARN).map((d) => ({
    code: 'disk-nearly-full', severity: 'warning' as const,
    message: `disk ${d.id} (${d.path}): its filesystem is ${(100 * d.usedBytes / d.capacityBytes).toFixed(1)}% full (${formatBytes(d.freeBytes)} free); `
      + 'fragments go to other disks once it has no room, and writes fail (ENOSPC) when too few disks have room for a whole extent',
    evidence: { disk: d.id, capacityBytes: d.capacityBytes, usedBytes: d.usedBytes, freeBytes: d.freeBytes, usedFraction: round(d.usedBytes / d.capacityBytes, 4), warnAt: DISK_FULL_WARN },
    fix: `free space on ${d.path}'s filesystem, or dynamicfs add-disk ${pool} <dir> and dynamicfs drain ${pool} ${d.id}`,
  }));
}

/** Each disk's mean fragment I/O time against the median of the other disks' means. */
function slowFindings({ pool, reports, latency }: DiskFindingInput): Finding[] {
  const means = new Map<number, number>();
  for (const d of reports) {
    const l = latency.get(d.id);
    if (l && l.ops >= SLOW_MIN_OPS) means.set(d.id, (1000 * l.seconds) / l.ops);
  }
  const out: Finding[] = [];
  for (const [id, mean] of means) {
    const others = [...means].filter(([o]) => o !== id).map(([, m]) => m);
    if (others.length < 2) continue; // no crowd to compare with
    const median = medianOf(others);
    if (mean < SLOW_FACTOR * median || mean - median < SLOW_MIN_EXTRA_MS) continue;
    const d = reports.find((r) => r.id === id)!;
    out.push({ code: 'disk-slow', severity: 'warning',
      message: `disk ${id} (${d.path}) is slow: its fragment reads and writes took ${mean.toFixed(1)} ms on average over ${latency.get(id)!.ops} operations, `
        + `${(mean / Math.max(median, 1e-3)).toFixed(0)}x the other disks' median (${median.toFixed(2)} ms); a disk that turns slow often fails next`,
      evidence: { disk: id, meanMs: round(mean, 3), ops: latency.get(id)!.ops, othersMedianMs: round(median, 3), factor: SLOW_FACTOR },
      fix: `dynamicfs probe-disks ${pool}; check the device's kernel log and SMART data (smartctl -a); dynamicfs drain ${pool} ${id} to move its data off` });
  }
  return out;
}

function medianOf(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

export function formatDays(days: number): string {
  if (days < 1) return `${Math.max(1, Math.round(days * 24))} h`;
  return `${days < 10 ? days.toFixed(1) : Math.round(days)} days`;
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}
