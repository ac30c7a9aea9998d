/** POOL/pool.json: the pool's identity and defaults, sealed with BLAKE3. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DfsError, fromOsCode } from '../errors';
import { openJson, sealJson, writeFileDurable } from './durable-file';
import { checkFormat, LEGACY_FORMAT, type RecordedState } from './features';
import { parsePolicy } from './policy';

export { POOL_FORMAT } from './features';

export interface Superblock {
  /** The pool's format major version (features.ts): 1 before feature flags, 2 with them. */
  format: number;
  uuid: string;
  createdMs: number;
  /** Default redundancy for new extents, "rs:4+2" or "mirror:3". */
  policy: string;
  /** Bytes of file data per extent (the unit of encoding and placement). */
  extentSize: number;
  /** Extents up to this many bytes live inside the metadata store, not on disks. */
  inlineMax: number;
  /**
   * The registered disks' directories, kept in step with the registry: where to find the
   * metadata copies when meta.db is lost or damaged (heal.ts). Not part of a disk's head copy.
   */
  diskPaths: string[];
  /**
   * Features the pool may use (enabled) or depends on (active); absent: disabled. Format 2
   * records them; for format 1 Pool.open infers them from the structures and never writes them.
   */
  features: Record<string, RecordedState>;
}

export const superblockPath = (pool: string): string => path.join(pool, 'pool.json');

export function writeSuperblock(pool: string, sb: Superblock): void {
  const body = { format: sb.format, uuid: sb.uuid, createdMs: sb.createdMs, policy: sb.policy, extentSize: sb.extentSize,
    inlineMax: sb.inlineMax, ...(sb.format === LEGACY_FORMAT ? {} : { features: sb.features }), diskPaths: sb.diskPaths };
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
  // A newer major version, or an active feature this code does not know: refused before anything else is read.
  const features = checkFormat(b.format, b.features, file);
  parsePolicy(String(b.policy));
  // Superblocks written before the disk registry moved wholly to meta.db carry a `disks`
  // list; it is covered by their checksum (verified above) and otherwise ignored. Those
  // written before metadata copies have no `diskPaths` (Pool.open adds it).
  return { format: b.format as number, uuid: b.uuid as string, createdMs: b.createdMs as number, policy: b.policy as string,
    extentSize: b.extentSize as number, inlineMax: b.inlineMax as number,
    diskPaths: Array.isArray(b.diskPaths) ? (b.diskPaths as unknown[]).map(String) : [], features };
}
