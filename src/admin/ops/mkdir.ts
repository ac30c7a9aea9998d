/** `mkdir`: create a directory (with `parents`, its missing ancestors too). */
import { Namespace } from '../../fs/namespace';
import { bool, str } from '../args';
import type { AdminOp } from '../context';

export interface MkdirArgs {
  path: string;
  parents?: boolean;
}

export interface MkdirData {
  path: string;
  ino: number;
  /** Directories this run created, parents first (empty with `parents` on an existing directory). */
  created: string[];
}

export const mkdir: AdminOp<MkdirArgs, MkdirData> = async (engine, args) =>
  new Namespace(engine.meta, engine).mkdir(str('mkdir', args, 'path'), { parents: bool('mkdir', args, 'parents') });
