/**
 * `add-disk`: label a directory and register it as a disk. The pool refuses anything
 * that is not a usable, empty slot (and changes nothing then).
 */
import type { Tier } from '../../meta/records';
import { width } from '../../pool/policy';
import { localPath, str } from '../args';
import type { AdminOp } from '../context';

export interface AddDiskArgs {
  /** Absolute path of the directory to add. */
  dir: string;
  tier: string;
}

export interface AddDiskData {
  pool: string;
  disk: { id: number; uuid: string; path: string; tier: Tier; state: string };
  /** Disks in the pool now. */
  disks: number;
  /** Disks the default policy needs to place an extent. */
  needed: number;
}

export const addDisk: AdminOp<AddDiskArgs, AddDiskData> = async (engine, args, ctx) => {
  const dir = localPath('add-disk', args, 'dir');
  const tier = str('add-disk', args, 'tier') as Tier; // Pool.addDisk checks it is a tier
  const row = engine.pool.addDisk(dir, tier, ctx.reqId);
  return {
    pool: engine.pool.dir,
    disk: { id: row.id, uuid: row.uuid, path: row.path, tier: row.tier, state: row.state },
    disks: engine.pool.disks().length,
    needed: width(engine.pool.policy),
  };
};
