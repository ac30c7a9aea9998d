/** `disk-events`: the history of disk state transitions (from, to, when, who, why). */
import type { DiskEvent } from '../../meta/records';
import type { AdminOp } from '../context';
import { diskOf } from '../disk-arg';

export interface DiskEventsArgs {
  /** One disk (id, path or uuid); all when absent. */
  disk?: string;
}

export interface DiskEventsData {
  pool: string;
  events: (DiskEvent & { path: string | null })[];
}

export const diskEvents: AdminOp<DiskEventsArgs, DiskEventsData> = async (engine, args) => {
  const only = args.disk === undefined || args.disk === null ? undefined : diskOf(engine, 'disk-events', args.disk).id;
  const paths = new Map(engine.pool.disks().map((d) => [d.id, d.path]));
  return {
    pool: engine.pool.dir,
    events: engine.meta.diskEvents(only).map((e) => ({ ...e, path: paths.get(e.diskId) ?? null })),
  };
};
