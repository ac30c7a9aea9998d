/**
 * `health`: the pool's verdict (healthy, degraded, critical) with the reasons, as GET
 * /health serves it: the verdict `status` computed (admin/health.ts judges), never a
 * second judgement — plus diagnose's warnings beyond those reasons, which inform but do
 * not change the verdict. Read-only; runs offline or in the coordinator.
 */
import { HTTP_STATUS, type HealthReason, type HealthLevel } from '../health';
import type { AdminOp } from '../context';
import type { Engine } from '../../engine/engine';
import { diagnoseStatus, type Finding } from './diagnose';
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
  /**
   * diagnose's warnings and critical findings that are not among the reasons (slow or
   * nearly full disks, a tier filling up, disks sharing a device...): advice that does
   * not change the verdict, so a monitor sees it without a second request.
   */
  findings: Finding[];
}

/** The verdict from a status already computed, with diagnose's findings beyond its reasons. */
export async function healthFromStatus(engine: Engine, s: StatusData): Promise<HealthData> {
  const reasons = new Set(s.reasons.map((r) => r.code));
  const findings = (await diagnoseStatus(engine, s)).findings.filter((f) => f.severity !== 'info' && !reasons.has(f.code));
  return {
    pool: s.pool, health: s.health, httpStatus: HTTP_STATUS[s.health], reasons: s.reasons, generation: s.generation,
    disks: { total: s.disks.total, missing: s.disks.missing, byState: s.disks.byState },
    extents: s.extents,
    repairQueue: s.repairQueue,
    capacity: { capacityBytes: s.disks.capacityBytes, usedBytes: s.disks.usedBytes,
      usedFraction: s.disks.capacityBytes > 0 ? s.disks.usedBytes / s.disks.capacityBytes : 0 },
    findings,
  };
}

export const health: AdminOp<Record<string, never>, HealthData> = async (engine, args, ctx) => healthFromStatus(engine, await status(engine, args, ctx));
