/**
 * MeteredStore, around a real pool's disks and around a fault injector: reads, writes
 * and removes are counted per disk with their payload bytes and latency, failures by
 * error code, and the engine's pipelines go through it (Pool.decorateStores).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DfsError, type ErrorCode } from '../../../src/errors';
import { adminOps } from '../../../src/admin/ops';
import type { FragmentStore } from '../../../src/pool/fragment-store';
import { MeteredStore } from '../../../src/pool/metered-store';
import { parseExposition } from '../../helpers/prometheus';
import { dirPool } from '../../helpers/dir-pool';
import { withTmpDir } from '../../helpers/tmp';

/** A store whose reads fail with `code` (the rest goes to the real disk). */
function naughty(inner: FragmentStore, code: ErrorCode): FragmentStore {
  return Object.assign(Object.create(Object.getPrototypeOf(inner) as object) as FragmentStore, inner, {
    read: () => Promise.reject(new DfsError(code, `injected ${code}`)),
  });
}

test('fragment I/O through the engine is counted per disk, failures by code', async () => {
  await withTmpDir(async (dir) => {
    const { pool, engine } = dirPool(dir, [0, 1, 2], { extentSize: 65536, policy: 'rs:2+1' });
    try {
      const src = path.join(dir, 'src.bin');
      fs.writeFileSync(src, Buffer.alloc(3 * 65536, 7)); // three extents, 2+1 fragments each
      await adminOps.put(engine, { src, dest: '/f' }, {});
      let m = parseExposition(await engine.metrics.text(), 'dynamicfs_fragment');
      for (const disk of ['1', '2', '3']) {
        assert.equal(m.get(`dynamicfs_fragment_writes_total{disk="${disk}"}`), 3, `three fragments on disk ${disk}`);
        assert.equal(m.get(`dynamicfs_fragment_write_bytes_total{disk="${disk}"}`), 3 * 32768);
        assert.equal(m.get(`dynamicfs_fragment_io_duration_seconds_count{disk="${disk}",op="write"}`), 3);
      }
      assert.ok(pool.store(1) instanceof MeteredStore);

      // The disk holding data fragment 0 of the first extent (reads take data fragments
      // first, so it is certainly tried) fails every read: the data comes from the
      // others, and the failures are counted.
      const bad = engine.meta.extentsOf(engine.meta.lookup(1, 'f')!)[0]!.fragments[0]!.diskId;
      const good = [1, 2, 3].filter((d) => d !== bad).map(String);
      pool.setStore(bad, naughty((pool.store(bad) as MeteredStore).inner, 'EIO'));
      const out = path.join(dir, 'out.bin');
      await adminOps.get(engine, { path: '/f', dest: out }, {});
      assert.ok(fs.readFileSync(out).equals(fs.readFileSync(src)));
      m = parseExposition(await engine.metrics.text(), 'dynamicfs_fragment');
      // Every read tried on disk 1 failed and was counted (once it turns degraded, it is tried last).
      const failedReads = m.get(`dynamicfs_fragment_errors_total{disk="${bad}",op="read",code="EIO"}`)!;
      assert.ok(failedReads >= 1);
      assert.equal(m.get(`dynamicfs_fragment_reads_total{disk="${bad}"}`), failedReads);
      assert.equal(m.get(`dynamicfs_fragment_read_bytes_total{disk="${bad}"}`) ?? 0, 0);
      const others = good.reduce((n, d) => n + (m.get(`dynamicfs_fragment_read_bytes_total{disk="${d}"}`) ?? 0), 0);
      assert.equal(others, 6 * 32768, 'the two other disks served every fragment needed');
      const commits = parseExposition(await engine.metrics.text(), 'dynamicfs_meta').get('dynamicfs_meta_commits_total')!;
      assert.ok(commits >= 2, 'the put and the read-failure bookkeeping committed');
      assert.equal(parseExposition(await engine.metrics.text()).get('dynamicfs_meta_generation'), engine.meta.generation());
    } finally {
      await engine.close();
    }
  });
});
