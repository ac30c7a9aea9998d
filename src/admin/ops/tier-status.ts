/** `tier status`: bytes and extents per tier, compliance with the tier policies, and the monthly cost estimate (admin/tier-report.ts). */
import type { AdminOp } from '../context';
import { tierReport, type TierReport } from '../tier-report';

export type TierStatusData = TierReport;

export const tierStatus: AdminOp<Record<string, never>, TierStatusData> = async (engine) => tierReport(engine);
