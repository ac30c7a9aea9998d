/**
 * Healing the working copy of the metadata (POOL/meta.db) from the disks when a pool is
 * opened or imported: if it is missing, cannot be opened, fails its structural check, has
 * a disk registry row failing its checksum (every open reads it first; other rows are
 * healed by `check --repair`), or is older than the newest generation that verifies on the disks, it is rebuilt from the
 * newest checkpoint that verifies and the log records after it (any good copy of a
 * generation will do), up to the first generation no disk holds.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DfsError } from '../errors';
import { replayGeneration } from '../meta/redo-log';
import { META_DB } from '../meta/sqlite/sqlite-store';
import type { MetaStore, OpenMetaStore } from '../meta/store';
import { fsyncDir } from './durable-file';
import { readArea, readCheckpoint, type Area } from './meta-area';
import { splitDiverged } from './meta-chain';

export interface HealReport {
  /** Why the working copy was rebuilt. */
  reason: string;
  /** The generation meta.db had (null: none usable). */
  from: number | null;
  generation: number;
  /** The disk whose checkpoint it was rebuilt from (null: only log records were replayed onto meta.db). */
  checkpointDisk: string | null;
  replayed: number;
}

/** The working copy as it is: open and sound, or why not. */
function openWorking(poolDir: string, openStore: OpenMetaStore): { meta: MetaStore } | { problem: string; error?: unknown } {
  if (!fs.existsSync(path.join(poolDir, META_DB))) return { problem: `${META_DB} is missing` };
  let meta: MetaStore;
  try {
    meta = openStore(poolDir, { create: false });
  } catch (err) {
    // A store of another format is not damage: rebuilding it from older copies would lose what a newer DynamicFS wrote.
    if (err instanceof DfsError && err.code === 'EFORMAT') throw err;
    return { problem: `${META_DB} cannot be opened (${(err as Error).message})`, error: err };
  }
  try {
    const problems = meta.checkStructure();
    if (problems.length > 0) {
      meta.close();
      return { problem: `${META_DB} fails its structural check (${problems.slice(0, 3).join('; ')})` };
    }
  } catch (err) {
    meta.close();
    return { problem: `${META_DB} fails its structural check (${(err as Error).message})` };
  }
  try {
    // The disk registry is read before anything else can be (it says where the copies are): a row of it failing its checksum is healed here.
    meta.listDisks();
    return { meta };
  } catch (err) {
    meta.close();
    if (err instanceof DfsError && err.code === 'EMETACORRUPT') return { problem: `${META_DB}'s disk registry: ${err.message.split('; run')[0]}` };
    throw err;
  }
}

/**
 * Open the pool's store, healed from the areas of `diskRoots` (the registry's disks when
 * meta.db opens, else the paths pool.json lists, or the disks `import` was given).
 */
export function openHealed(poolDir: string, poolUuid: string, openStore: OpenMetaStore, diskRoots: () => string[]):
  { meta: MetaStore; healed: HealReport | undefined; areas: Area[] } {
  const working = openWorking(poolDir, openStore);
  let meta = 'meta' in working ? working.meta : undefined;
  let roots: string[];
  try {
    roots = meta ? meta.listDisks().map((d) => d.path) : diskRoots();
  } catch {
    roots = diskRoots();
  }
  // A copy whose history differs from the others' (the hash chain) is not healed from.
  const { agreed: areas } = splitDiverged(roots.map((r) => readArea(r, poolUuid)).filter((a): a is Area => a !== undefined));
  const newest = Math.max(-1, ...areas.map((a) => a.newest));
  const from = meta ? meta.generation() : null;
  if (meta && from! >= newest) return { meta, healed: undefined, areas };
  if (areas.length === 0) {
    // Nothing to heal from (a pool without disks): the store's own error stands.
    if ('error' in working && working.error) throw working.error;
    throw new DfsError('EMETACORRUPT', `pool ${poolDir}: ${'problem' in working ? working.problem : 'meta.db'} and no disk of the pool `
      + `holds a metadata copy (looked at ${roots.length ? roots.join(', ') : 'no disks'}); if the disks are elsewhere, recreate the pool `
      + `directory from them with \`dynamicfs import ${poolDir} DISK...\``, poolDir);
  }
  const records = recordsOf(areas);
  let reason = 'problem' in working ? working.problem : `${META_DB} is at generation ${from}, the disks at ${newest}`;
  if (meta) {
    // Behind, but the logs hold every generation after it: replay them onto it.
    let g = from! + 1;
    while (records.has(g)) g += 1;
    if (g > newest) {
      for (let n = from! + 1; n <= newest; n++) replay(meta, n, records.get(n)!);
      return { meta, healed: { reason, from, generation: meta.generation(), checkpointDisk: null, replayed: newest - from! }, areas };
    }
    meta.close();
    meta = undefined;
    reason += ` (the logs lack generation ${from! + 1})`;
  }
  const rebuilt = rebuildFromCopies(poolDir, areas, openStore);
  if (rebuilt) return { meta: rebuilt.store, healed: { reason, from, generation: rebuilt.store.generation(), checkpointDisk: rebuilt.checkpointDisk, replayed: rebuilt.replayed }, areas };
  throw new DfsError('EMETACORRUPT', `pool ${poolDir}: ${reason}, and no metadata checkpoint on the disks verifies `
    + `(${areas.map((a) => a.root).join(', ')}); restore meta.db from a backup`, poolDir);
}

/** The log records of every area by generation (any good copy of a generation will do). */
export function recordsOf(areas: readonly Area[]): Map<number, Buffer> {
  const records = new Map<number, Buffer>();
  for (const a of areas) for (const r of a.records) records.set(r.generation, r.payload);
  return records;
}

export interface Rebuilt {
  store: MetaStore;
  /** The disk whose checkpoint it was built from. */
  checkpointDisk: string;
  checkpointGeneration: number;
  replayed: number;
}

/**
 * Make `dir`'s meta.db the newest checkpoint that verifies (of those at most `upTo`) plus
 * the log records after it, up to `upTo` or the first generation no disk holds; open it.
 * Undefined when no such checkpoint verifies.
 */
export function rebuildFromCopies(dir: string, areas: readonly Area[], openStore: OpenMetaStore, upTo = Infinity): Rebuilt | undefined {
  const records = recordsOf(areas);
  const byNewest = areas.filter((a) => a.head.checkpoint.generation <= upTo)
    .sort((a, b) => b.head.checkpoint.generation - a.head.checkpoint.generation);
  for (const a of byNewest) {
    const data = readCheckpoint(a);
    if (!data) continue;
    install(dir, data);
    const store = openStore(dir, { create: false });
    try {
      let replayed = 0;
      for (let g = a.head.checkpoint.generation + 1; g <= upTo && records.has(g); g++, replayed++) replay(store, g, records.get(g)!);
      return { store, checkpointDisk: a.root, checkpointGeneration: a.head.checkpoint.generation, replayed };
    } catch (err) {
      store.close();
      throw err;
    }
  }
  return undefined;
}

function replay(store: MetaStore, generation: number, payload: Buffer): void {
  const got = replayGeneration(store, payload);
  if (got !== generation) throw new DfsError('EINTERNAL', `replaying metadata generation ${generation} made generation ${got}`);
}

/** Make `data` the pool's meta.db: a temp file, synced, renamed over it (its old WAL and shared memory dropped first). */
function install(poolDir: string, data: Buffer): void {
  const file = path.join(poolDir, META_DB);
  const tmp = `${file}.heal-${process.pid}`;
  const fd = fs.openSync(tmp, 'w', 0o644);
  try {
    fs.writeSync(fd, data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  for (const side of ['-wal', '-shm', '-journal']) fs.rmSync(file + side, { force: true });
  fs.renameSync(tmp, file);
  fsyncDir(poolDir);
}
