/**
 * The pool's health verdict — the ONE function deciding it: `status` computes it once and
 * `health`, GET /health and the dynamicfs_pool_health gauge pass that result on, so they
 * cannot disagree. Healthy, degraded or critical, with the reasons:
 *
 *   critical   unrecoverable extents (fewer than k fragments readable: data cannot be read)
 *   degraded   failed disks (even with all their extents rebuilt elsewhere: the operator
 *              must remove-disk or replace-disk them), missing disks, disks not healthy
 *              (degraded, suspect, draining), degraded extents (a fragment on a failed or
 *              missing disk, or known bad: queued for repair or failed its last check),
 *              the pool's filesystems over 85% full
 *
 * HTTP: 200 healthy, 202 degraded, 503 critical.
 */
import type { DiskState } from '../meta/records';

export type HealthLevel = 'healthy' | 'degraded' | 'critical';

/** Used space above this fraction of the pool's capacity makes it degraded. */
export const CAPACITY_WARN_FRACTION = 0.85;

export const HTTP_STATUS: Record<HealthLevel, number> = { healthy: 200, degraded: 202, critical: 503 };

export interface HealthReason {
  /** Stable, for scripts: unrecoverable-extents, failed-disks, missing-disks, unhealthy-disks, degraded-extents, capacity. */
  code: string;
  severity: Exclude<HealthLevel, 'healthy'>;
  message: string;
}

export interface HealthVerdict {
  health: HealthLevel;
  httpStatus: number;
  reasons: HealthReason[];
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** What the verdict is judged from: the extent counts and disk view `status` computes. */
export interface VerdictInput {
  extents: { degraded: number; unrecoverable: number };
  perDisk: { id: number; path: string; state: DiskState; present: boolean }[];
  disks: { capacityBytes: number; usedBytes: number };
  repairQueue: number;
}

function diskList(disks: VerdictInput['perDisk']): string {
  const shown = disks.slice(0, 5).map((d) => `${d.id} (${d.path})`).join(', ');
  return disks.length > 5 ? `${shown} and ${disks.length - 5} more` : shown;
}

/** Judge the pool. Pure: the same input always gives the same verdict. */
export function judgeHealth(s: VerdictInput, capacityWarnFraction = CAPACITY_WARN_FRACTION): HealthVerdict {
  const reasons: HealthReason[] = [];
  const x = s.extents;
  if (x.unrecoverable > 0) {
    reasons.push({ code: 'unrecoverable-extents', severity: 'critical',
      message: `${plural(x.unrecoverable, 'extent is', 'extents are')} unrecoverable (fewer than k fragments readable): the files holding them cannot be read` });
  }
  const failed = s.perDisk.filter((d) => d.state === 'failed');
  if (failed.length > 0) {
    reasons.push({ code: 'failed-disks', severity: 'degraded', message: `${failed.length === 1 ? 'disk' : 'disks'} ${diskList(failed)} failed: nothing is read from or written to ${failed.length === 1 ? 'it' : 'them'}; `
      + `once the rebuild has moved everything off, retire ${failed.length === 1 ? 'it' : 'them'} with \`dynamicfs remove-disk\`, or swap in a new disk with \`dynamicfs replace-disk\`` });
  }
  const missing = s.perDisk.filter((d) => !d.present && d.state !== 'failed');
  if (missing.length > 0) {
    reasons.push({ code: 'missing-disks', severity: 'degraded', message: `${missing.length === 1 ? 'disk' : 'disks'} ${diskList(missing)} missing: the directory or its label vanished` });
  }
  const unhealthy = s.perDisk.filter((d) => d.present && d.state !== 'healthy' && d.state !== 'failed');
  if (unhealthy.length > 0) {
    reasons.push({ code: 'unhealthy-disks', severity: 'degraded',
      message: unhealthy.map((d) => `disk ${d.id} (${d.path}) is ${d.state}`).slice(0, 5).join('; ') + (unhealthy.length > 5 ? `; and ${unhealthy.length - 5} more` : '') });
  }
  if (x.degraded > 0) {
    reasons.push({ code: 'degraded-extents', severity: 'degraded',
      message: `${plural(x.degraded, 'extent has', 'extents have')} lost redundancy (a fragment on a failed or missing disk, or found bad and not repaired yet; `
        + `still readable from k fragments); ${plural(s.repairQueue, 'extent')} queued for repair` });
  }
  const cap = s.disks.capacityBytes;
  if (cap > 0 && s.disks.usedBytes / cap > capacityWarnFraction) {
    reasons.push({ code: 'capacity', severity: 'degraded',
      message: `the disks' filesystems are ${(100 * s.disks.usedBytes / cap).toFixed(1)}% full (warning above ${Math.round(capacityWarnFraction * 100)}%)` });
  }
  const health: HealthLevel = reasons.some((r) => r.severity === 'critical') ? 'critical' : reasons.length > 0 ? 'degraded' : 'healthy';
  return { health, httpStatus: HTTP_STATUS[health], reasons };
}
