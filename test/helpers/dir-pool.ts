/** An offline pool on directory disks, with its engine: the unit tests' usual starting point. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { attachEngine } from '../../src/engine/open';
import type { Engine } from '../../src/engine/engine';
import { sqliteStore } from '../../src/meta/sqlite/sqlite-store';
import { Pool } from '../../src/pool/pool';

/**
 * Create `dir`/pool and add the directory disks `dir`/d<n> for each n of `disks`, in order
 * (the pool numbers them 1, 2, ...); then attach an engine. The caller closes the engine.
 */
export function dirPool(dir: string, disks: readonly number[], opts: { extentSize: number; policy: string }): { pool: Pool; engine: Engine } {
  const pool = Pool.create(path.join(dir, 'pool'), sqliteStore, opts);
  for (const i of disks) {
    fs.mkdirSync(path.join(dir, `d${i}`));
    pool.addDisk(path.join(dir, `d${i}`));
  }
  return { pool, engine: attachEngine(pool) };
}
