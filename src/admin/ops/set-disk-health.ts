/**
 * `set-disk-health`: the operator moves a disk to any state. Back to healthy also zeroes
 * its error counters (a fresh count); to failed makes a coordinator rebuild what it held.
 * The event (and that rebuild) carry the request's id.
 */
import type { DiskState } from '../../meta/records';
import { parseDiskState } from '../../pool/health';
import { optStr, str } from '../args';
import type { AdminOp } from '../context';
import { diskOf } from '../disk-arg';

export interface SetDiskHealthArgs {
  disk: string;
  state: string;
  reason?: string;
}

export interface SetDiskHealthData {
  disk: { id: number; path: string };
  from: DiskState;
  to: DiskState;
  reason: string;
  changed: boolean;
}

export const setDiskHealth: AdminOp<SetDiskHealthArgs, SetDiskHealthData> = async (engine, args, ctx) => {
  const d = diskOf(engine, 'set-disk-health', args.disk);
  const to = parseDiskState(str('set-disk-health', args, 'state'));
  const reason = optStr('set-disk-health', args, 'reason') ?? 'set by the operator';
  const t = engine.health.set(d.id, to, 'operator', reason, ctx.reqId);
  return { disk: { id: d.id, path: d.path }, from: d.state, to, reason, changed: !!t };
};
