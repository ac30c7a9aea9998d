/**
 * `import`: recreate a lost pool directory from its disks alone, like `zpool import`.
 * Each disk's label names its pool; each disk's metadata area holds the superblock and a
 * checkpoint and log of the metadata, so the pool's pool.json and meta.db are rebuilt
 * from the newest generation that verifies on the disks given. `scan` lists the pools
 * whose disks sit under some directories.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DfsError } from '../errors';
import type { OpenMetaStore } from '../meta/store';
import { checkFormat } from './features';
import { openHealed } from './heal';
import { readLabel } from './label';
import { readArea, type Area } from './meta-area';
import { Pool } from './pool';
import { PoolLock } from './pool-lock';
import { parsePolicy } from './policy';
import { superblockPath, writeSuperblock, type Superblock } from './superblock';

export interface ImportResult {
  pool: string;
  uuid: string;
  policy: string;
  /** The generation the metadata was rebuilt at (the newest that verifies on the disks given). */
  generation: number;
  /** The pool's registered disks at that generation, and whether each was found. */
  disks: { id: number; path: string; found: boolean }[];
}

/** A disk's area, or an error naming the disk and what it lacks. */
function diskArea(root: string): Area {
  let label;
  try {
    label = readLabel(root);
  } catch (err) {
    throw new DfsError('EFORMAT', `${root}: its DynamicFS label is damaged (${(err as Error).message}); leave it out of the import`, root);
  }
  if (!label) throw new DfsError('ENOTPOOL', `${root} is not a DynamicFS disk (no dynamicfs.label); name the pool's disk directories`, root);
  const area = readArea(root, label.poolUuid);
  if (!area) {
    throw new DfsError('EMETACORRUPT', `${root} is a disk of pool ${label.poolUuid} but holds no metadata copy that verifies `
      + '(DISK/meta/head); name the pool\'s other disks', root);
  }
  return area;
}

export function importPool(dir: string, diskDirs: string[], openStore: OpenMetaStore): ImportResult {
  const result = rebuild(dir, diskDirs, openStore);
  // Opened once as any pool is: disks whose copies are behind (or were not named) get a checkpoint now.
  Pool.open(result.pool, openStore).close();
  return result;
}

function rebuild(dir: string, diskDirs: string[], openStore: OpenMetaStore): ImportResult {
  const abs = path.resolve(dir);
  if (fs.existsSync(superblockPath(abs))) throw new DfsError('EPOOLEXISTS', `${abs} is already a pool; open it, or import into a new directory`, abs);
  if (fs.existsSync(abs) && fs.readdirSync(abs).length > 0) throw new DfsError('EEXIST', `${abs} is not empty; import into an empty or new directory`, abs);
  if (diskDirs.length === 0) throw new DfsError('EUSAGE', 'name at least one disk directory of the pool to import');
  const areas = diskDirs.map((d) => diskArea(path.resolve(d)));
  const pools = new Map<string, string[]>();
  for (const a of areas) pools.set(a.head.poolUuid, [...(pools.get(a.head.poolUuid) ?? []), a.root]);
  if (pools.size > 1) {
    throw new DfsError('EDISKINUSE', `the disks belong to different pools: ${[...pools].map(([u, ds]) => `${u} (${ds.join(', ')})`).join('; ')}; `
      + 'import one pool at a time, naming only its disks');
  }
  const newest = areas.reduce((a, b) => (b.newest > a.newest ? b : a));
  const head = newest.head;
  // A pool of a newer format, or with an active feature this code does not know, is refused before anything is written.
  const features = checkFormat(head.superblock.format, head.superblock.features, `${newest.root}/meta/head`);
  fs.mkdirSync(path.join(abs, 'run'), { recursive: true });
  const lock = PoolLock.acquire(abs);
  let done = false;
  try {
    const { meta, healed } = openHealed(abs, head.poolUuid, openStore, () => areas.map((a) => a.root));
    try {
      const registered = meta.listDisks();
      const disks = registered.map((d) => ({ id: d.id, path: d.path, found: labelOf(d.path) === d.uuid }));
      const missing = disks.filter((d) => !d.found);
      const m = parsePolicy(head.superblock.policy).m;
      if (missing.length > m) {
        throw new DfsError('ETOOMANYLOST', `pool ${head.poolUuid}: ${missing.length} of its ${registered.length} disks are missing, more than `
          + `its ${head.superblock.policy} parity (${m}) can do without: ${missing.map((d) => `disk ${d.id} (${d.path})`).join(', ')}; `
          + 'attach them at those paths and import again', abs, { missing: missing.map((d) => d.path) });
      }
      const sb: Superblock = { ...head.superblock, features, diskPaths: registered.map((d) => d.path) };
      // Written last, as by init: until then the directory is no pool.
      writeSuperblock(abs, sb);
      done = true;
      return { pool: abs, uuid: sb.uuid, policy: sb.policy, generation: healed?.generation ?? meta.generation(), disks };
    } finally {
      meta.close();
    }
  } finally {
    lock.release();
    if (!done) fs.rmSync(abs, { recursive: true, force: true });
  }
}

function labelOf(root: string): string | undefined {
  try {
    return readLabel(root)?.diskUuid;
  } catch {
    return undefined;
  }
}

export interface ScannedPool {
  uuid: string;
  policy: string | null;
  /** The newest generation whose copy verifies on the disks found. */
  generation: number | null;
  disks: { path: string; diskUuid: string; generation: number | null }[];
}

/** The pools whose disks are `dirs` or directly under them. */
export function scanPools(dirs: string[]): ScannedPool[] {
  const found = new Map<string, ScannedPool>();
  for (const dir of dirs) {
    const abs = path.resolve(dir);
    let children: string[] = [];
    try {
      children = fs.readdirSync(abs, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => path.join(abs, e.name));
    } catch (err) {
      throw new DfsError('ENOENT', `cannot scan ${abs}: ${(err as Error).message}`, abs);
    }
    for (const root of [abs, ...children]) {
      let label;
      try {
        label = readLabel(root);
      } catch {
        continue;
      }
      if (!label) continue;
      const area = readArea(root, label.poolUuid);
      const p = found.get(label.poolUuid) ?? { uuid: label.poolUuid, policy: null, generation: null, disks: [] };
      if (area) {
        p.policy = area.head.superblock.policy;
        p.generation = Math.max(p.generation ?? -1, area.newest);
      }
      if (!p.disks.some((d) => d.path === root)) p.disks.push({ path: root, diskUuid: label.diskUuid, generation: area?.newest ?? null });
      found.set(label.poolUuid, p);
    }
  }
  return [...found.values()];
}
