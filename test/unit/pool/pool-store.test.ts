import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DfsError } from '../../../src/errors';
import { sqliteStore } from '../../../src/meta/sqlite/sqlite-store';
import type { MetaStore, OpenMetaStore } from '../../../src/meta/store';
import { Pool } from '../../../src/pool/pool';
import { withTmpDir } from '../../helpers/tmp';

/** An opener that records what the Pool asked for and hands out SQLite stores whose close() is counted. */
function recordingOpener(): { open: OpenMetaStore; calls: { poolDir: string; create: boolean }[]; stores: MetaStore[]; closed: number[] } {
  const calls: { poolDir: string; create: boolean }[] = [];
  const stores: MetaStore[] = [];
  const closed: number[] = [];
  const open: OpenMetaStore = (poolDir, opts) => {
    calls.push({ poolDir, create: opts.create });
    const store = sqliteStore(poolDir, opts);
    const n = stores.length;
    const close = store.close;
    store.close = () => { closed.push(n); close(); };
    stores.push(store);
    return store;
  };
  return { open, calls, stores, closed };
}

test('the pool uses the metadata store its caller opens: create, open and close go through it', async () => {
  await withTmpDir((dir) => {
    const poolDir = path.join(dir, 'pool');
    const rec = recordingOpener();
    const created = Pool.create(poolDir, rec.open);
    try {
      assert.deepEqual(rec.calls, [{ poolDir, create: true }]);
      assert.equal(created.meta, rec.stores[0], 'Pool.meta is the store the opener returned');
      const disk = path.join(dir, 'd1');
      fs.mkdirSync(disk);
      const row = created.addDisk(disk, 'hot');
      assert.deepEqual(rec.stores[0]!.listDisks().map((d) => [d.id, d.path, d.tier]), [[row.id, disk, 'hot']], 'the disk was registered in that store');
    } finally {
      created.close();
    }
    assert.deepEqual(rec.closed, [0], 'closing the pool closes its store');

    const opened = Pool.open(poolDir, rec.open);
    try {
      assert.deepEqual(rec.calls[1], { poolDir, create: false });
      assert.equal(opened.meta, rec.stores[1]);
      assert.deepEqual(opened.disks().map((d) => d.path), [path.join(dir, 'd1')]);
    } finally {
      opened.close();
    }
    assert.deepEqual(rec.closed, [0, 1]);
  });
});

test('a store that fails to open leaves the pool unlocked', async () => {
  await withTmpDir((dir) => {
    const poolDir = path.join(dir, 'pool');
    Pool.create(poolDir, sqliteStore).close();
    const failing: OpenMetaStore = () => { throw new DfsError('EFORMAT', 'no such store'); };
    assert.throws(() => Pool.open(poolDir, failing), (e: unknown) => e instanceof DfsError && e.code === 'EFORMAT');
    const again = Pool.open(poolDir, sqliteStore);
    again.close();
  });
});
