/** Naming a disk on the command line: by id, by path, or by uuid. */
import * as path from 'node:path';
import type { Engine } from '../engine/engine';
import { DfsError } from '../errors';
import type { DiskRow } from '../meta/records';

export function diskOf(engine: Engine, op: string, spec: unknown): DiskRow {
  if (typeof spec !== 'string' && typeof spec !== 'number') throw new DfsError('EINVAL', `${op}: argument "disk" must be a disk id, path or uuid`);
  const text = String(spec);
  const disks = engine.pool.disks();
  const found = /^\d+$/.test(text) ? disks.find((d) => d.id === Number(text))
    : disks.find((d) => d.uuid === text || (path.isAbsolute(text) && d.path === path.resolve(text)));
  if (!found) {
    throw new DfsError('ENODISK', `${op}: no disk "${text}" in pool ${engine.pool.dir}; name it by id, path or uuid as \`dynamicfs disks\` lists them`,
      undefined, { disk: text });
  }
  return found;
}
