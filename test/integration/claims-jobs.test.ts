/**
 * A live rebuild in a running coordinator, driven through the CLI (issue 12): `jobs
 * --pause` holds it, `--resume` continues it, `rebuild --rate` changes its rate,
 * `--cancel` ends it, and `rebuild --wait` then finishes the work.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { extentsOf, onDisks, rebuildJob, rebuildKilledAfter, until } from '../helpers/claims';
import { fails, makePool, ok, type Json } from '../helpers/cli';
import { cleanupPool, sleep, startServe, stopChild } from '../helpers/daemon';
import { Rng } from '../helpers/random';
import { withTmpDir } from '../helpers/tmp';

const EXTENT = 65536;

describe('a live rebuild in a running coordinator', () => {
  it('jobs --pause holds it, --resume continues it, rebuild --rate changes its rate, --cancel ends it; rebuild --wait finishes the work', async () => {
    await withTmpDir(async (root) => {
      const rng = new Rng();
      const { pool, disks } = makePool(root, 5, '--redundancy', 'rs:2+1', '--extent-size', String(EXTENT));
      try {
        const src = path.join(root, 'src');
        const data = rng.bytes(40 * EXTENT);
        fs.writeFileSync(src, data);
        ok('put', pool, src, '/f');
        ok('set-disk-health', pool, disks[1]!, 'failed', '--reason', 'test: pulled');
        const failedId = (ok('disks', pool).disks as Json[]).find((d) => d.path === disks[1])!.id as number;
        const todo = extentsOf(pool, '/f').filter((e) => onDisks(e, [failedId]) === 1).length;
        assert.ok(todo >= 10, `seed ${rng.seed}: only ${todo} extents on the failed disk`);
        // A slow rebuild (64 KiB/s: each extent reads two 32 KiB fragments and writes one)
        // started in the foreground and killed after its first extent; the coordinator
        // resumes it, at its rate, instead of starting one of its own.
        assert.match(fails('EINVAL', ['rebuild', pool, '--rate', 'fast']).message, /--rate "fast" is not a size/);
        rebuildKilledAfter(pool, 1, '--rate', '64k');
        const id = rebuildJob(pool).id as number;
        assert.equal(rebuildJob(pool).params.rateBytesPerSec, 65536);
        const served = await startServe(pool);
        try {
          let job = ok('jobs', pool, '--pause', String(id)).jobs.find((j: Json) => j.id === id) as Json;
          assert.equal(job.state, 'paused');
          const pausedAt = job.progress.extentsDone as number;
          // A pause lands at the job's next step: the extent in flight (at most one, ~1.5 s
          // at this rate) still commits, then nothing moves and no second job starts.
          await sleep(5000);
          job = rebuildJob(pool);
          const held = job.progress.extentsDone as number;
          assert.equal(job.state, 'paused');
          assert.ok(held === pausedAt || held === pausedAt + 1, `paused at ${pausedAt}, then ${held}`);
          assert.ok(held < todo, `paused at ${held} of ${todo}`);
          await sleep(3000);
          job = rebuildJob(pool);
          assert.deepEqual([job.state, job.progress.extentsDone], ['paused', held]);

          job = ok('jobs', pool, '--resume', String(id)).jobs.find((j: Json) => j.id === id) as Json;
          assert.equal(job.state, 'running');
          await until('the resumed job to make progress', () => rebuildJob(pool).progress.extentsDone > held);

          // `rebuild --rate` joins the running job and changes its rate.
          const joined = ok('rebuild', pool, '--rate', '32k');
          assert.deepEqual([joined.job.id, joined.finished, joined.job.params.rateBytesPerSec], [id, false, 32768]);

          ok('jobs', pool, '--cancel', String(id));
          job = await until('the cancel to land', () => { const j = rebuildJob(pool); return j.state === 'cancelled' ? j : undefined; });
          assert.ok(job.progress.extentsDone < todo, `cancelled at ${job.progress.extentsDone as number} of ${todo}`);
          assert.ok(extentsOf(pool, '/f').some((e) => onDisks(e, [failedId]) === 1), 'work is left after the cancel');

          // A new rebuild, waited for, does the rest.
          const r = ok('rebuild', pool, '--wait');
          assert.notEqual(r.job.id, id);
          assert.deepEqual([r.finished, r.job.state, r.job.progress.extentsDone, r.job.progress.extentsTotal],
            [true, 'done', r.job.progress.extentsTotal, todo - (job.progress.extentsDone as number)]);
          assert.equal(extentsOf(pool, '/f').filter((e) => onDisks(e, [failedId]) > 0).length, 0);
          const states = (ok('jobs', pool).jobs as Json[]).map((j) => [j.id, j.kind, j.state]);
          assert.deepEqual(states, [[id, 'rebuild', 'cancelled'], [r.job.id, 'rebuild', 'done']]);
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
