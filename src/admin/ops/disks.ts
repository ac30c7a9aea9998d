/** `disks`: every registered disk with what the operator needs to judge it. */
import type { AdminOp } from '../context';
import { diskReports, type DiskReport, type SpaceTotals } from '../disk-report';

export interface DisksData {
  pool: string;
  disks: DiskReport[];
  totals: SpaceTotals;
}

export const disks: AdminOp<Record<string, never>, DisksData> = async (engine) => ({ pool: engine.pool.dir, ...(await diskReports(engine)) });
