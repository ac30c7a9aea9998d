/** `mv`: move or rename an entry inside the pool, with POSIX rename semantics (see Namespace.mv). */
import { Namespace, type MoveResult } from '../../fs/namespace';
import { str } from '../args';
import type { AdminOp } from '../context';

export interface MvArgs {
  from: string;
  to: string;
}

export type MvData = MoveResult;

export const mv: AdminOp<MvArgs, MvData> = async (engine, args) =>
  new Namespace(engine.meta, engine).mv(str('mv', args, 'from'), str('mv', args, 'to'));
