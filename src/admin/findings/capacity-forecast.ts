/**
 * diagnose's capacity forecast, per tier: the growth of used space over the last
 * FORECAST_DAYS of the coordinator's hourly samples (usage-history.ts; a least-squares
 * line, so one odd sample does not swing it), and the days until the tier's free space
 * runs out at that rate. No finding without two samples an hour apart, or when the tier
 * is not growing.
 */
import type { Tier } from '../../meta/records';
import type { TierSpace, UsageSample } from '../usage-history';
import { formatBytes, formatDays } from './disk-findings';
import type { Finding } from './finding';

const DAY_MS = 86_400_000;
export const FORECAST_DAYS = 7;
/** Full within this many days: a warning; later: info. */
export const FULL_SOON_DAYS = 30;
/** Beyond this the line says nothing worth reporting. */
const HORIZON_DAYS = 3650;

export interface Growth {
  bytesPerDay: number;
  samples: number;
  spanDays: number;
}

/** Least-squares growth of a tier's used bytes over the samples at or after `sinceMs`. */
export function growthOf(samples: readonly UsageSample[], tier: Tier, sinceMs: number): Growth | undefined {
  const pts = samples.filter((s) => s.atMs >= sinceMs && typeof s.tiers[tier]?.usedBytes === 'number')
    .map((s) => ({ x: s.atMs / DAY_MS, y: s.tiers[tier]!.usedBytes }));
  if (pts.length < 2) return undefined;
  const spanDays = pts[pts.length - 1]!.x - pts[0]!.x;
  if (spanDays < 1 / 24) return undefined;
  const mx = pts.reduce((a, p) => a + p.x, 0) / pts.length;
  const my = pts.reduce((a, p) => a + p.y, 0) / pts.length;
  let num = 0;
  let den = 0;
  for (const p of pts) {
    num += (p.x - mx) * (p.y - my);
    den += (p.x - mx) ** 2;
  }
  return { bytesPerDay: num / den, samples: pts.length, spanDays };
}

export function capacityFindings(pool: string, samples: readonly UsageSample[], now: Map<Tier, TierSpace>, nowMs: number): Finding[] {
  const out: Finding[] = [];
  for (const [tier, space] of now) {
    const g = growthOf(samples, tier, nowMs - FORECAST_DAYS * DAY_MS);
    if (!g || g.bytesPerDay <= 0) continue;
    const days = space.freeBytes / g.bytesPerDay;
    if (days > HORIZON_DAYS) continue;
    out.push({ code: 'capacity-forecast', severity: days < FULL_SOON_DAYS ? 'warning' : 'info',
      message: `the ${tier} tier (disks ${space.disks.join(', ')}) is full in about ${formatDays(days)} at the last ${formatDays(g.spanDays)}' growth `
        + `(${formatBytes(Math.round(g.bytesPerDay))} a day; ${formatBytes(space.freeBytes)} free)`,
      evidence: { tier, disks: space.disks, freeBytes: space.freeBytes, capacityBytes: space.capacityBytes, growthBytesPerDay: Math.round(g.bytesPerDay),
        daysToFull: Math.round(days * 1000) / 1000, samples: g.samples, spanDays: Math.round(g.spanDays * 1000) / 1000 },
      fix: `dynamicfs add-disk ${pool} <dir> --tier ${tier}, or free space (dynamicfs gc ${pool}, dynamicfs compact ${pool})` });
  }
  return out;
}
