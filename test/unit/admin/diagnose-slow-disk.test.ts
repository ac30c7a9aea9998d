/**
 * diagnose finds a slow disk from the fragment I/O times the engine measures: one of
 * five disks made slow by the fault-injecting decorator (every write delayed 150 ms), files
 * written across all of them, then diagnose (and health, which carries the finding)
 * through the admin operations the CLI and the coordinator run.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { adminOps } from '../../../src/admin/ops';
import { LocalDisk } from '../../../src/pool/local-disk';
import { NaughtyDisk } from '../../helpers/naughty-disk';
import { Rng } from '../../helpers/random';
import { dirPool } from '../../helpers/dir-pool';
import { withTmpDir } from '../../helpers/tmp';

const ES = 65536;

test('diagnose: a disk whose fragment writes take 150 ms more is slow; the others are not', async () => {
  await withTmpDir(async (dir) => {
    const { pool, engine } = dirPool(dir, [1, 2, 3, 4, 5], { extentSize: ES, policy: 'rs:2+1' });
    try {
      const slow = new NaughtyDisk(new LocalDisk(3, path.join(dir, 'd3')));
      pool.setStore(3, slow);
      slow.every('write', { delayMs: 150 });
      // One extent per put, one put at a time: placement steers an extent's fragments away
      // from a disk with writes in flight, so one large put would give the slow disk only a
      // few; alone, each extent goes to 3 of the 5 disks by free space.
      const rng = new Rng(3);
      for (let i = 0; i < 30; i++) {
        const src = path.join(dir, `src${i}.bin`);
        fs.writeFileSync(src, rng.bytes(ES));
        await adminOps.put(engine, { src, dest: `/f${i}` }, {});
      }
      assert.ok(slow.calls.write >= 8, `disk 3 took ${slow.calls.write} writes`);

      const d = await adminOps.diagnose(engine, {}, {});
      const found = d.findings.filter((f) => f.code === 'disk-slow');
      assert.deepEqual(found.map((f) => f.evidence.disk), [3], JSON.stringify(d.findings));
      const e = found[0]!.evidence as { meanMs: number; ops: number; othersMedianMs: number; factor: number };
      assert.equal(found[0]!.severity, 'warning');
      assert.ok(e.meanMs >= 150, `mean ${e.meanMs} ms`);
      assert.equal(e.ops, slow.calls.write);
      assert.equal(e.factor, 3);
      assert.ok(e.meanMs >= 3 * e.othersMedianMs && e.meanMs - e.othersMedianMs >= 10, JSON.stringify(e));
      assert.match(found[0]!.message, /^disk 3 \(.+\/d3\) is slow: its fragment reads and writes took \d+\.\d ms on average over \d+ operations/);
      assert.match(found[0]!.fix, /dynamicfs drain .+ 3 /);
      const h = await adminOps.health(engine, {}, {});
      assert.deepEqual(h.findings.filter((f) => f.code === 'disk-slow'), found);
    } finally {
      await engine.close();
    }
  });
});
