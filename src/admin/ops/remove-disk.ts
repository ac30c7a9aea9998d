/** `remove-disk`: unregister a disk that holds no fragment (refuses, changing nothing, otherwise). */
import type { AdminOp } from '../context';
import { diskOf } from '../disk-arg';

export interface RemoveDiskArgs {
  disk: string;
}

export interface RemoveDiskData {
  pool: string;
  removed: { id: number; path: string; uuid: string };
  disks: number;
}

export const removeDisk: AdminOp<RemoveDiskArgs, RemoveDiskData> = async (engine, args, ctx) => {
  const d = diskOf(engine, 'remove-disk', args.disk);
  engine.pool.removeDisk(d.id, ctx.reqId);
  return { pool: engine.pool.dir, removed: { id: d.id, path: d.path, uuid: d.uuid }, disks: engine.pool.disks().length };
};
