/** `probe-disks`: label, write + fsync + read-back latency and space of every disk; findings move disk states. */
import { probeDisks, type ProbeResult } from '../../engine/probe';
import type { AdminOp } from '../context';

export interface ProbeDisksData {
  pool: string;
  disks: ProbeResult[];
}

export const probeDisksOp: AdminOp<Record<string, never>, ProbeDisksData> = async (engine, _args, ctx) => ({
  pool: engine.pool.dir,
  disks: await probeDisks(engine, ctx.reqId),
});
