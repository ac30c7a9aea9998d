/**
 * A running coordinator heals by itself (issue 12): corruption that a read through the
 * mount met is repaired (the fragment file is good again, not only queued), and the
 * start-up scan finds one fragment file missing on a present disk and rebuilds it.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { extentsOf, fragmentFile, until } from '../helpers/claims';
import { dfs, makePool, ok, type Json } from '../helpers/cli';
import { cleanupPool, startServe, stopChild } from '../helpers/daemon';
import { startCoordinator, stopCoordinator } from '../helpers/mount';
import { Rng } from '../helpers/random';
import { rmrf, tmpDir, withTmpDir } from '../helpers/tmp';
import { runFiles } from '../../src/rpc/run-files';

const EXTENT = 65536;

function diskOf(pool: string, id: number): Json {
  return (ok('disks', pool).disks as Json[]).find((d) => d.id === id)!;
}

/** The scrub finds nothing: exit 0, no findings. */
function assertScrubClean(pool: string): void {
  const r = dfs('scrub', pool);
  assert.equal(r.code, 0, r.stdout);
}

describe('self-healing in a running coordinator', () => {
  it('a corrupt fragment met by a read through the mount is rewritten good by the coordinator, on its own', async () => {
    const rng = new Rng();
    const root = tmpDir('dfs-heal-read-');
    const mnt = path.join(root, 'mnt');
    let child: Awaited<ReturnType<typeof startCoordinator>>['child'] | undefined;
    try {
      const { pool } = makePool(root, 6, '--extent-size', String(EXTENT));
      const src = path.join(root, 'src');
      const data = rng.bytes(3 * EXTENT);
      fs.writeFileSync(src, data);
      ok('put', pool, src, '/f');
      // Bit rot in data fragment 0 of the second extent: the first fragment a read takes.
      const e = extentsOf(pool, '/f')[1]!;
      const file = fragmentFile(e, 0);
      const good = fs.readFileSync(file);
      const bad = Buffer.from(good);
      bad[4096 + 77] ^= 0x10;
      fs.writeFileSync(file, bad);
      const diskId = (e.fragments as Json[]).find((f) => f.index === 0)!.diskId as number;

      child = (await startCoordinator(pool, mnt)).child;
      assert.ok(fs.readFileSync(path.join(mnt, 'f')).equals(data), `seed ${rng.seed}: the read is right despite the rot`);
      // No one asks for a repair: the coordinator's rebuild puts the good bytes back.
      await until('the fragment to be rewritten', () => fs.existsSync(file) && fs.readFileSync(file).equals(good));
      const job = await until('the rebuild to finish', () => (ok('jobs', pool).jobs as Json[]).find((j) => j.kind === 'rebuild' && j.state === 'done'));
      assert.deepEqual([job.progress.extentsDone, job.progress.extentsTotal], [1, 1]);
      assert.equal(ok('status', pool).jobs.length, 0);
      const after = extentsOf(pool, '/f')[1]!;
      assert.deepEqual(after.fragments, e.fragments, 'rewritten in place: same disks, same hashes');
      assert.equal(diskOf(pool, diskId).checksumErrors, 1, 'the one corruption is counted once');
      assertScrubClean(pool);
    } finally {
      if (child) await stopCoordinator(mnt, child);
      rmrf(root);
    }
  });

  it('the start-up scan finds one fragment file missing on a present disk and rebuilds it', async () => {
    await withTmpDir(async (root) => {
      const rng = new Rng();
      const { pool } = makePool(root, 6, '--extent-size', String(EXTENT));
      try {
        const src = path.join(root, 'src');
        const data = rng.bytes(4 * EXTENT);
        fs.writeFileSync(src, data);
        ok('put', pool, src, '/f');
        const e = extentsOf(pool, '/f')[2]!;
        const file = fragmentFile(e, 3);
        const good = fs.readFileSync(file);
        fs.rmSync(file);
        const served = await startServe(pool);
        try {
          await until('the missing fragment to be rebuilt', () => fs.existsSync(file) && fs.readFileSync(file).equals(good));
          const job = await until('the rebuild to finish', () => (ok('jobs', pool).jobs as Json[]).find((j) => j.kind === 'rebuild' && j.state === 'done'));
          assert.deepEqual([job.progress.extentsDone, job.progress.extentsTotal, job.params.reason], [1, 1, 'start-up scan']);
          const scan = fs.readFileSync(runFiles(pool).log, 'utf8').split('\n').filter((l) => l.includes('start-up scan queued'))
            .map((l) => JSON.parse(l) as Json);
          assert.deepEqual(scan.map((l) => l.extents), [1], 'the scan queued exactly the one extent');
          assert.deepEqual(extentsOf(pool, '/f')[2]!.fragments, e.fragments, 'rebuilt where it was');
          assertScrubClean(pool);
        } finally {
          await stopChild(served.child);
        }
        const out = path.join(root, 'out');
        ok('get', pool, '/f', out);
        assert.ok(fs.readFileSync(out).equals(data), `seed ${rng.seed}`);
      } finally {
        await cleanupPool(pool);
      }
    });
  });
});
