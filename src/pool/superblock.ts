/** POOL/pool.json: the pool's identity and defaults, sealed with BLAKE3. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DfsError, fromOsCode } from '../errors';
import { openJson, sealJson, writeFileDurable } from './durable-file';
import { parsePolicy } from './policy';

export const POOL_FORMAT = 1;

export interface SuperblockDisk {
  uuid: string;
  path: string;
  tier: string;
}

export interface Superblock {
  format: number;
  uuid: string;
  createdMs: number;
  /** Default redundancy for new extents, "rs:4+2" or "mirror:3". */
  policy: string;
  /** Bytes of file data per extent (the unit of encoding and placement). */
  extentSize: number;
  /** Extents up to this many bytes live inside the metadata store, not on disks. */
  inlineMax: number;
  disks: SuperblockDisk[];
}

export const superblockPath = (pool: string): string => path.join(pool, 'pool.json');

export function writeSuperblock(pool: string, sb: Superblock): void {
  const body = { format: sb.format, uuid: sb.uuid, createdMs: sb.createdMs, policy: sb.policy, extentSize: sb.extentSize,
    inlineMax: sb.inlineMax, disks: sb.disks.map((d) => ({ uuid: d.uuid, path: d.path, tier: d.tier })) };
  writeFileDurable(superblockPath(pool), sealJson(body));
}

export function readSuperblock(pool: string): Superblock {
  const file = superblockPath(pool);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new DfsError('ENOTPOOL', `${pool} is not a DynamicFS pool (no pool.json); create one with \`dynamicfs init ${pool}\``, pool);
    }
    throw fromOsCode(code, `cannot read ${file}: ${(err as Error).message}`, file);
  }
  const b = openJson(text, 'superblock', file);
  if (b.format !== POOL_FORMAT) {
    throw new DfsError('EFORMAT', `pool ${pool} has format ${String(b.format)}; this DynamicFS reads format ${POOL_FORMAT} (upgrade DynamicFS)`, file);
  }
  parsePolicy(String(b.policy));
  return b as unknown as Superblock;
}
