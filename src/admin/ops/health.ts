/**
 * `health`: the pool's verdict (healthy, degraded, critical) with the reasons, as GET
 * /health serves it: the verdict `status` computed (admin/health.ts judges), never a
 * second judgement. Read-only; runs offline or in the coordinator with the same answer.
 */
import { HTTP_STATUS, type HealthReason, type HealthLevel } from '../health';
import type { AdminOp } from '../context';
import { status, type ExtentHealth, type StatusData } from './status';

export interface HealthData {
  pool: string;
  health: HealthLevel;
  /** What GET /health answers: 200 healthy, 202 degraded, 503 critical. */
  httpStatus: number;
  reasons: HealthReason[];
  generation: number;
  disks: { total: number; missing: number; byState: StatusData['disks']['byState'] };
  extents: ExtentHealth;
  repairQueue: number;
  capacity: { capacityBytes: number; usedBytes: number; usedFraction: number };
}

/** The verdict from a status already computed (the metrics collector shares one). */
export function healthFromStatus(s: StatusData): HealthData {
  return {
    pool: s.pool, health: s.health, httpStatus: HTTP_STATUS[s.health], reasons: s.reasons, generation: s.generation,
    disks: { total: s.disks.total, missing: s.disks.missing, byState: s.disks.byState },
    extents: s.extents,
    repairQueue: s.repairQueue,
    capacity: { capacityBytes: s.disks.capacityBytes, usedBytes: s.disks.usedBytes,
      usedFraction: s.disks.capacityBytes > 0 ? s.disks.usedBytes / s.disks.capacityBytes : 0 },
  };
}

export const health: AdminOp<Record<string, never>, HealthData> = async (engine, args, ctx) => healthFromStatus(await status(engine, args, ctx));
