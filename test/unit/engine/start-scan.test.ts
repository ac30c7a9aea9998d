/**
 * The coordinator's start-up scan beside a running repair: a repair that commits while
 * the scan is checking the same extent must not leave it on the repair queue (the next
 * rebuild would count an already-whole extent as work done). The interleaving is forced,
 * not timed: the scan's has() checks wait on a gate, and the gate opens when the repair
 * asks for the extent while the scan holds it (the scan checks under the extent's lock)
 * or, failing that, once the repair has committed (which is the stale queueing this guards).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { adminOps } from '../../../src/admin/ops';
import { scanForMissing } from '../../../src/engine/rebuild';
import { repairExtent } from '../../../src/engine/repair';
import { LocalDisk } from '../../../src/pool/local-disk';
import { NaughtyDisk } from '../../helpers/naughty-disk';
import { dirPool } from '../../helpers/dir-pool';
import { withTmpDir } from '../../helpers/tmp';

const ES = 65536;

/** A disk whose has() says it was called, then waits until the gate opens. */
class GatedDisk extends NaughtyDisk {
  constructor(inner: LocalDisk, private readonly gate: Promise<void>, private readonly called: () => void) {
    super(inner);
  }

  override async has(extentId: Buffer, index: number): Promise<boolean> {
    this.called();
    await this.gate;
    return super.has(extentId, index);
  }
}

test('start-up scan: an extent a repair commits while the scan checks it is not left on the repair queue', async () => {
  await withTmpDir(async (dir) => {
    const { pool, engine } = dirPool(dir, [1, 2, 3, 4], { extentSize: ES, policy: 'rs:2+1' });
    let open!: () => void;
    const gate = new Promise<void>((resolve) => { open = resolve; });
    let called!: () => void;
    const checking = new Promise<void>((resolve) => { called = resolve; });
    for (const i of [1, 2, 3, 4]) pool.setStore(i, new GatedDisk(new LocalDisk(i, path.join(dir, `d${i}`)), gate, () => called()));
    try {
      const src = path.join(dir, 'src.bin');
      fs.writeFileSync(src, Buffer.alloc(ES, 7));
      await adminOps.put(engine, { src, dest: '/f' }, {});
      const [e] = engine.meta.extentsOf(engine.meta.lookup(1, 'f')!);
      const failed = e!.fragments[0]!.diskId;
      engine.health.set(failed, 'failed', 'operator', 'test: pulled');

      let holding = 0;
      const lock = engine.exclusiveOnExtent.bind(engine);
      engine.exclusiveOnExtent = async (id, fn) => {
        if (holding > 0) open(); // the repair waits for the scan: let the scan finish
        return lock(id, async () => {
          holding++;
          try {
            return await fn();
          } finally {
            holding--;
          }
        });
      };
      const scan = scanForMissing(engine);
      await checking; // the scan has read the extent and is checking its fragments
      const repaired = await repairExtent(engine, e!.id, { onCommit: () => open() });
      assert.equal(repaired.kind, 'repaired');
      assert.equal(await scan, 1, 'the scan found the fragment on the failed disk missing');
      const now = engine.meta.getExtent(e!.id)!;
      assert.equal(now.fragments.filter((f) => f.diskId === failed).length, 0);
      assert.deepEqual(engine.meta.repairQueue(), [], 'the repair that came after the scan cleared its entry');
    } finally {
      await engine.close();
    }
  });
});
