/** `stat`: an inode, its extents and where every fragment lives, with the pool default policy filled in. */
import { Namespace, type StatInfo } from '../../fs/namespace';
import { str } from '../args';
import type { AdminOp } from '../context';

export interface StatArgs {
  path: string;
}

export interface StatData extends StatInfo {
  /** The policy new extents of this file get: its own, or the pool default. */
  effectivePolicy: string;
  fragments: number;
}

export const stat: AdminOp<StatArgs, StatData> = async (engine, args) => {
  const s = new Namespace(engine.meta, engine).stat(str('stat', args, 'path'));
  return { ...s, effectivePolicy: s.policy ?? engine.pool.superblock.policy,
    fragments: s.extents.reduce((n, e) => n + e.fragments.length, 0) };
};
