/** `rm`: remove a file (a directory only with `recursive`); its fragments are deleted after the commit. */
import { Namespace, type RemoveResult } from '../../fs/namespace';
import { bool, str } from '../args';
import type { AdminOp } from '../context';

export interface RmArgs {
  path: string;
  recursive?: boolean;
}

export type RmData = RemoveResult;

export const rm: AdminOp<RmArgs, RmData> = async (engine, args) =>
  new Namespace(engine.meta, engine).rm(str('rm', args, 'path'), { recursive: bool('rm', args, 'recursive') });
