/**
 * The pool's metadata durable on its disks (issue 14): the pool directory lost whole, or
 * meta.db damaged, loses nothing that was committed; `import` recreates the pool from its
 * disks; stale copies never win. Through the CLI and the mount.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { fails, ok } from '../helpers/cli';
import { makePool, startCoordinator, stopCoordinator } from '../helpers/mount';
import { Rng } from '../helpers/random';
import { rmrf, tmpDir } from '../helpers/tmp';

type Tree = Map<string, Buffer>;

/** Write a tree of small (inline and packed) and large (erasure-coded) files through the mount; the last ones fsync'd. */
function writeTree(mnt: string, rng: Rng): Tree {
  const tree: Tree = new Map();
  for (const dir of ['a', 'a/b', 'c']) fs.mkdirSync(path.join(mnt, dir));
  const put = (name: string, data: Buffer, sync: boolean): void => {
    const fd = fs.openSync(path.join(mnt, name), 'w');
    try {
      fs.writeSync(fd, data);
      if (sync) fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    tree.set(name, data);
  };
  for (let i = 0; i < 40; i++) put(`${rng.pick(['a', 'a/b', 'c'])}/small-${i}`, rng.bytes(rng.int(1, 20_000)), false);
  put('a/large-1', rng.bytes(3_000_000), false);
  put('c/large-2', rng.bytes(9_500_000), false);
  put('a/b/last-large', rng.bytes(1_200_000), true);
  put('last-small', rng.bytes(700), true);
  return tree;
}

async function checkTreeMounted(pool: string, mnt: string, tree: Tree): Promise<string> {
  const c = await startCoordinator(pool, mnt);
  try {
    for (const [name, data] of tree) assert.ok(fs.readFileSync(path.join(mnt, name)).equals(data), `${name} reads back identical`);
    return c.output();
  } finally {
    await stopCoordinator(mnt, c.child);
  }
}

/** A pool of 6 disks (rs:4+2) holding the tree, written through a mount and unmounted. */
async function poolWithTree(root: string, seed: number): Promise<{ pool: string; disks: string[]; mnt: string; tree: Tree }> {
  const { pool, disks } = makePool(root, 6, 'rs:4+2', '1M');
  const mnt = path.join(root, 'mnt');
  const c = await startCoordinator(pool, mnt);
  try {
    return { pool, disks, mnt, tree: writeTree(mnt, new Rng(seed)) };
  } finally {
    await stopCoordinator(mnt, c.child);
  }
}

function generation(pool: string): number {
  const db = new Database(path.join(pool, 'meta.db'), { readonly: true });
  try {
    return Number((db.prepare("SELECT value FROM meta WHERE key = 'generation'").get() as { value: number }).value);
  } finally {
    db.close();
  }
}

test('rm -rf POOL after writing through the mount: import from the disks, every file reads back identical', async () => {
  const root = tmpDir('dfs-metacopies-');
  try {
    const { pool, disks, mnt, tree } = await poolWithTree(root, 1401);
    const before = generation(pool);
    rmrf(pool);
    const scan = ok('import', '--scan', root);
    assert.equal(scan.pools.length, 1);
    assert.deepEqual(scan.pools[0].disks.map((d: { path: string }) => d.path).sort(), [...disks].sort());
    assert.equal(scan.pools[0].generation, before);
    const imported = ok('import', pool, ...disks);
    assert.equal(imported.generation, before, 'the newest generation on the disks is the last committed one');
    assert.deepEqual(imported.disks.map((d: { found: boolean }) => d.found), [true, true, true, true, true, true]);
    fails('EPOOLEXISTS', ['import', pool, ...disks]);
    await checkTreeMounted(pool, mnt, tree);
  } finally {
    rmrf(root);
  }
});
