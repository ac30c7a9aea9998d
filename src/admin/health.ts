/**
 * The pool's health verdict, as `dynamicfs health`, GET /health and the
 * dynamicfs_pool_health gauge give it: healthy, degraded or critical, with the reasons.
 * It refines the `status` operation's `health` (same extent classification, same disk
 * view) by naming each cause and adding one status does not judge: space.
 *
 *   critical   unrecoverable extents (fewer than k fragments readable: data cannot be read)
 *   degraded   failed or missing disks, disks not healthy (degraded, suspect, draining),
 *              degraded extents (redundancy reduced), the pool's filesystems over 85% full
 *
 * HTTP: 200 healthy, 202 degraded, 503 critical.
 */
import type { StatusData } from './ops/status';

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

function diskList(disks: StatusData['perDisk']): string {
  const shown = disks.slice(0, 5).map((d) => `${d.id} (${d.path})`).join(', ');
  return disks.length > 5 ? `${shown} and ${disks.length - 5} more` : shown;
}

/** Judge a `status` result. Pure: the same status always gives the same verdict. */
export function judgeHealth(s: StatusData, capacityWarnFraction = CAPACITY_WARN_FRACTION): HealthVerdict {
  const reasons: HealthReason[] = [];
  const x = s.extents;
  if (x.unrecoverable > 0) {
    reasons.push({ code: 'unrecoverable-extents', severity: 'critical',
      message: `${plural(x.unrecoverable, 'extent is', 'extents are')} unrecoverable (fewer than k fragments readable): the files holding them cannot be read` });
  }
  const failed = s.perDisk.filter((d) => d.state === 'failed');
  if (failed.length > 0) {
    reasons.push({ code: 'failed-disks', severity: 'degraded', message: `${failed.length === 1 ? 'disk' : 'disks'} ${diskList(failed)} failed: nothing is read from or written to ${failed.length === 1 ? 'it' : 'them'}` });
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
      message: `${plural(x.degraded, 'extent has', 'extents have')} lost redundancy (still readable from k fragments); ${plural(s.repairQueue, 'extent')} queued for repair` });
  }
  const cap = s.disks.capacityBytes;
  if (cap > 0 && s.disks.usedBytes / cap > capacityWarnFraction) {
    reasons.push({ code: 'capacity', severity: 'degraded',
      message: `the disks' filesystems are ${(100 * s.disks.usedBytes / cap).toFixed(1)}% full (warning above ${Math.round(capacityWarnFraction * 100)}%)` });
  }
  const health: HealthLevel = reasons.some((r) => r.severity === 'critical') ? 'critical' : reasons.length > 0 ? 'degraded' : 'healthy';
  return { health, httpStatus: HTTP_STATUS[health], reasons };
}
