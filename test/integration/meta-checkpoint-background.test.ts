/**
 * A coordinator writes a checkpoint of the metadata off its JavaScript thread: held open
 * inside its worker (DYNAMICFS_HOLD_AT, src/log/fault-points.ts), the coordinator still
 * answers `status`, a stat through the mount and an fsync'd write; released, the new
 * disk's copy is current and holds the generations committed meanwhile in its log.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { writeCommitted } from '../helpers/files';
import { ok, type Json } from '../helpers/cli';
import { makePool, startCoordinator, stopCoordinator } from '../helpers/mount';
import { Rng } from '../helpers/random';
import { rmrf, tmpDir } from '../helpers/tmp';


async function until(cond: () => boolean, what: string): Promise<void> {
  const end = Date.now() + 120_000;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('a checkpoint of a large store held open in its worker: the coordinator answers status, stat and fsync meanwhile', async () => {
  const root = tmpDir('dfs-ckptbg-');
  const mnt = path.join(root, 'mnt');
  const held = path.join(root, 'checkpoint-held');
  try {
    const { pool, disks } = makePool(root, 6, 'rs:4+2', '1M');
    const added = path.join(root, 'disk6');
    fs.mkdirSync(added);
    const rng = new Rng(1408);
    const during = rng.bytes(3000);
    const c = await startCoordinator(pool, mnt, [], { DYNAMICFS_HOLD_AT: `meta-checkpoint-copied:${held}` });
    try {
      // A large store: 2,000 files of 12 KiB, whose bytes live inline in it.
      for (let i = 0; i < 2000; i++) fs.writeFileSync(path.join(mnt, `s-${i}`), rng.bytes(12 * 1024));
      writeCommitted(path.join(mnt, 'synced'), rng.bytes(100));
      assert.ok(fs.statSync(path.join(pool, 'meta.db')).size + fs.statSync(path.join(pool, 'meta.db-wal')).size > 24 * 1024 * 1024);

      // The new disk's first checkpoint is written in the background; it stops, held, in its worker.
      ok('add-disk', pool, added);
      await until(() => fs.existsSync(held), 'the checkpoint to reach its hold');
      try {
        const copies = ok('status', pool).metaCopies.disks as Json[];
        assert.deepEqual(copies.map((d) => d.state), [...disks.map(() => 'current'), 'stale'], 'the new disk has no checkpoint yet');
        assert.equal(fs.statSync(path.join(mnt, 's-1999')).size, 12 * 1024);
        // Committed after the checkpoint's copy was made: the new disk's log must carry it.
        writeCommitted(path.join(mnt, 'during'), during);
        assert.equal(fs.existsSync(held), true, 'all of it answered while the checkpoint was held');
      } finally {
        fs.rmSync(held, { force: true });
      }
      await until(() => (ok('status', pool).metaCopies.disks as Json[])[6]!.state === 'current', 'the new disk to be current');
      assert.deepEqual(ok('check', pool).problems, []);
    } finally {
      await stopCoordinator(mnt, c.child);
    }
    // Its checkpoint was switched in with the records of the generations committed while it was held.
    const written = fs.readFileSync(path.join(pool, 'run', 'coordinator.log'), 'utf8').split('\n')
      .filter((l) => l.includes('"msg":"metadata checkpoint written"')).map((l) => JSON.parse(l) as { disk: number; records: number });
    assert.equal(written.length, 1, JSON.stringify(written));
    assert.equal(written[0]!.disk, 7);
    assert.ok(written[0]!.records >= 1, `the new log started with ${written[0]!.records} records`);
    // The new disk's copy: a checkpoint older than the newest generation, and the records after it.
    const scan = ok('import', '--scan', root).pools[0].disks as Json[];
    const newest = scan[0]!.generation as number;
    assert.deepEqual(scan.map((d) => d.generation), [...disks, added].map(() => newest));
    const head = JSON.parse(fs.readFileSync(path.join(added, 'meta', 'head'), 'utf8')) as { checkpoint: { generation: number } };
    assert.ok(head.checkpoint.generation < newest, `checkpoint ${head.checkpoint.generation}, newest ${newest}: the log holds what came after`);
    const out = path.join(root, 'out');
    ok('get', pool, '/during', out);
    assert.ok(fs.readFileSync(out).equals(during));
  } finally {
    rmrf(root);
  }
});
