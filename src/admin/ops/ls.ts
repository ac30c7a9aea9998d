/** `ls`: the entries of a directory of the pool, or one file. */
import { lookupPath, Namespace, type EntryInfo } from '../../fs/namespace';
import type { InodeKind } from '../../meta/records';
import { str } from '../args';
import type { AdminOp } from '../context';

export interface LsArgs {
  path: string;
}

export interface LsData {
  path: string;
  kind: InodeKind;
  entries: EntryInfo[];
}

export const ls: AdminOp<LsArgs, LsData> = async (engine, args) => {
  const path = str('ls', args, 'path');
  const ns = new Namespace(engine.meta, engine);
  const self = ns.entry(path);
  const canonical = lookupPath(engine.meta, path).path;
  if (self.kind !== 'dir') return { path: canonical, kind: self.kind, entries: [self] };
  return { path: canonical, kind: 'dir', entries: ns.readdir(path) };
};
