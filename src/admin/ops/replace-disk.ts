/**
 * `replace-disk OLD NEW`: add NEW, rebuild everything OLD held onto it (reading OLD's
 * fragments while it still answers, reconstructing them when it does not), then take
 * OLD out of the pool.
 */
import { DfsError } from '../../errors';
import type { Tier } from '../../meta/records';
import { bool, localPath, optStr } from '../args';
import type { AdminOp } from '../context';
import { diskOf } from '../disk-arg';
import { runJob, type JobOutcome } from '../job-op';

export interface ReplaceDiskArgs {
  old: string;
  /** Absolute path of the new disk's directory. */
  dir: string;
  tier?: string;
  wait?: boolean;
}

export interface ReplaceDiskData extends JobOutcome {
  old: { id: number; path: string };
  new: { id: number; path: string };
}

export const replaceDisk: AdminOp<ReplaceDiskArgs, ReplaceDiskData> = async (engine, args, ctx) => {
  const old = diskOf(engine, 'replace-disk', args.old);
  const dir = localPath('replace-disk', args, 'dir');
  const wait = bool('replace-disk', args, 'wait');
  if (engine.jobs.active('drain')) throw new DfsError('EBUSY', 'a drain is running; wait for it (`dynamicfs jobs`) before replacing a disk');
  const added = engine.pool.addDisk(dir, (optStr('replace-disk', args, 'tier') ?? old.tier) as Tier, ctx.reqId);
  if (old.state !== 'failed') engine.health.set(old.id, 'draining', 'operator', `being replaced by disk ${added.id} (${added.path})`, ctx.reqId);
  const id = engine.jobs.submit('drain', { reason: `replace disk ${old.id} with disk ${added.id}`, evacuate: [old.id], prefer: added.id, removeAfter: old.id }, undefined, ctx.reqId);
  const outcome = await runJob(engine, ctx, id, wait, `replace disk ${old.id}`);
  return { ...outcome, old: { id: old.id, path: old.path }, new: { id: added.id, path: added.path } };
};
