/**
 * Rebuild order through the CLI (issue 12): extents with the fewest surviving fragments
 * are rebuilt first, and the bytes at zero margin (what "safe in" counts down) reach zero
 * while work is still left.
 *
 * The order is observed without a test hook: the rebuild runs in the CLI and is killed
 * by the pool's named crash point right after its Nth committed extent, so `stat` shows
 * exactly which extents the first N commits rebuilt and `jobs` the progress they saved.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { extentsOf, onDisks, rebuildJob, rebuildKilledAfter } from '../helpers/claims';
import { makePool, ok, type Json } from '../helpers/cli';
import { Rng } from '../helpers/random';
import { withTmpDir } from '../helpers/tmp';

const EXTENT = 65536;

describe('rebuild order and safety', () => {
  it('extents at zero margin are rebuilt first, and atRiskBytes reaches 0 with work still left', async () => {
    await withTmpDir((root) => {
      const rng = new Rng();
      const { pool } = makePool(root, 8, '--redundancy', 'rs:2+2', '--extent-size', String(EXTENT));
      const src = path.join(root, 'src');
      const data = rng.bytes(24 * EXTENT);
      fs.writeFileSync(src, data);
      ok('put', pool, src, '/f');
      const before = extentsOf(pool, '/f');
      const ids = (ok('disks', pool).disks as Json[]).map((d) => d.id as number);
      // Two disks to fail such that some extents lose two fragments (margin 0: exactly k
      // left) and some lose one (margin 1).
      let pair: number[] | undefined;
      for (let a = 0; a < ids.length && !pair; a++) {
        for (let b = a + 1; b < ids.length && !pair; b++) {
          const lost = before.map((e) => onDisks(e, [ids[a]!, ids[b]!]));
          if (lost.filter((n) => n === 2).length >= 2 && lost.filter((n) => n === 1).length >= 2) pair = [ids[a]!, ids[b]!];
        }
      }
      assert.ok(pair, `seed ${rng.seed}: no two disks share two extents`);
      const zero = new Set(before.filter((e) => onDisks(e, pair!) === 2).map((e) => e.id as string));
      const one = new Set(before.filter((e) => onDisks(e, pair!) === 1).map((e) => e.id as string));
      for (const id of pair) ok('set-disk-health', pool, String(id), 'failed', '--reason', 'test: pulled');

      const rebuilt = (): Set<string> => new Set(extentsOf(pool, '/f')
        .filter((e) => (zero.has(e.id) || one.has(e.id)) && onDisks(e, pair!) === 0).map((e) => e.id as string));

      // All but one of the zero-margin extents: nothing else was touched, one extent still at risk.
      rebuildKilledAfter(pool, zero.size - 1);
      const first = rebuilt();
      assert.equal(first.size, zero.size - 1);
      for (const id of first) assert.ok(zero.has(id), `extent ${id} (margin 1) was rebuilt before a margin-0 one`);
      let job = rebuildJob(pool);
      assert.equal(job.state, 'running', 'the killed job is left running');
      assert.deepEqual([job.progress.extentsDone, job.progress.extentsTotal, job.progress.atRiskBytes, job.timeToSafetySeconds],
        [zero.size - 1, zero.size + one.size, EXTENT, null], 'at risk, and no rate to say when it is safe');

      // The same job resumed in a second CLI run, killed after its first commit: the last
      // zero-margin extent, so nothing is at risk any more though the margin-1 ones remain.
      rebuildKilledAfter(pool, 1);
      assert.deepEqual(rebuilt(), zero);
      job = rebuildJob(pool);
      assert.deepEqual([job.state, job.progress.extentsDone, job.progress.extentsTotal, job.progress.atRiskBytes, job.timeToSafetySeconds, job.etaSeconds],
        ['running', zero.size, zero.size + one.size, 0, 0, null], '"safe in" is 0 before the job is done');
      assert.ok(job.progress.bytesDone < job.progress.bytesTotal);

      // To the end: done, "safe in" and ETA both 0, nothing left on the failed disks.
      job = ok('rebuild', pool).job as Json;
      assert.equal(job.state, 'done', JSON.stringify(job));
      assert.deepEqual([job.progress.extentsDone, job.progress.extentsTotal, job.progress.atRiskBytes, job.timeToSafetySeconds, job.etaSeconds],
        [zero.size + one.size, zero.size + one.size, 0, 0, 0]);
      assert.equal(rebuildJob(pool).id, job.id, 'one job throughout');
      assert.equal(extentsOf(pool, '/f').filter((e) => onDisks(e, pair!) > 0).length, 0);
      const out = path.join(root, 'out');
      ok('get', pool, '/f', out);
      assert.ok(fs.readFileSync(out).equals(data), `seed ${rng.seed}`);
    });
  });
});
