/**
 * Admin claims through the CLI and the mount (issue 12): gc's age guard (`--min-age`),
 * `replace-disk` through a running coordinator, and `user.dynamicfs.policy` set on a
 * file changing the scheme of its future extents only.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { extentsOf, orphanFile } from '../helpers/claims';
import { BIN, fails, makePool, ok, type Json } from '../helpers/cli';
import { startCoordinator, stopCoordinator, withMount } from '../helpers/mount';
import { Rng } from '../helpers/random';
import { rmrf, tmpDir, withTmpDir } from '../helpers/tmp';

const EXTENT = 65536;

describe('gc age guard', () => {
  it('gc --min-age removes only orphans at least that old; the default (900 s) spares young ones', async () => {
    await withTmpDir((root) => {
      const rng = new Rng();
      const { pool } = makePool(root, 6, '--extent-size', String(EXTENT));
      const src = path.join(root, 'src');
      const kept = rng.bytes(EXTENT + 100);
      fs.writeFileSync(src, kept);
      ok('put', pool, src, '/kept');
      // A put killed after writing its fragments, before its commit: 6 orphans, fresh.
      fs.writeFileSync(src, rng.bytes(EXTENT));
      const killed = spawnSync(process.execPath, [BIN, 'put', pool, src, '/lost', '--json'], {
        encoding: 'utf8', timeout: 60_000, env: { ...process.env, DYNAMICFS_CRASH_AT: 'before-commit' },
      });
      assert.equal(killed.signal, 'SIGKILL', killed.stdout + killed.stderr);
      const all = ok('gc', pool, '--dry-run', '--min-age', '0');
      const orphans = (all.orphans as Json[]).map((o) => orphanFile(pool, o)).sort();
      assert.equal(orphans.length, 6, JSON.stringify(all.orphans));
      assert.deepEqual([all.scannedFragments, all.removed, all.dryRun], [12, 0, true]);
      // Three of them 2 minutes old, three just written.
      const old = orphans.slice(0, 3);
      const young = orphans.slice(3);
      const then = new Date(Date.now() - 120_000);
      for (const p of old) fs.utimesSync(p, then, then);

      const byDefault = ok('gc', pool);
      assert.deepEqual([byDefault.orphans.length, byDefault.removed], [0, 0], 'nothing is 900 s old');
      const tooYoung = ok('gc', pool, '--min-age', '600');
      assert.deepEqual([tooYoung.orphans.length, tooYoung.removed], [0, 0]);
      const r = ok('gc', pool, '--min-age', '60');
      assert.deepEqual((r.orphans as Json[]).map((o) => orphanFile(pool, o)).sort(), old);
      assert.equal(r.removed, 3);
      for (const o of r.orphans as Json[]) assert.ok(o.ageSeconds >= 119 && o.ageSeconds <= 600, JSON.stringify(o));
      for (const p of old) assert.equal(fs.existsSync(p), false, `${p} removed`);
      for (const p of young) assert.equal(fs.existsSync(p), true, `${p} spared`);
      const last = ok('gc', pool, '--min-age', '0');
      assert.deepEqual([(last.orphans as Json[]).map((o) => orphanFile(pool, o)).sort(), last.removed], [young, 3]);
      fails('EINVAL', ['gc', pool, '--min-age', '-5']);
      // The committed file was never touched.
      assert.equal(ok('gc', pool, '--dry-run', '--min-age', '0').scannedFragments, 6);
      const out = path.join(root, 'out');
      ok('get', pool, '/kept', out);
      assert.ok(fs.readFileSync(out).equals(kept), `seed ${rng.seed}`);
    });
  });
});

describe('replace-disk through a running coordinator', () => {
  it('replace-disk --wait moves every fragment of a healthy disk onto the new one and retires the old; the mount reads on', async () => {
    const rng = new Rng();
    const root = tmpDir('dfs-replace-');
    const mnt = path.join(root, 'mnt');
    let child: Awaited<ReturnType<typeof startCoordinator>>['child'] | undefined;
    try {
      const { pool, disks } = makePool(root, 4, '--redundancy', 'rs:2+1', '--extent-size', String(EXTENT));
      const files = new Map<string, Buffer>();
      for (let i = 0; i < 4; i++) {
        const data = rng.bytes(rng.int(2 * EXTENT, 5 * EXTENT));
        const src = path.join(root, `src${i}`);
        fs.writeFileSync(src, data);
        ok('put', pool, src, `/f${i}`);
        files.set(`/f${i}`, data);
      }
      const before = ok('disks', pool).disks as Json[];
      const old = before.find((d) => d.path === disks[2])!;
      assert.ok(old.fragments > 0);
      child = (await startCoordinator(pool, mnt)).child;
      const fresh = path.join(root, 'fresh');
      fs.mkdirSync(fresh);
      const r = ok('replace-disk', pool, disks[2]!, fresh, '--wait');
      assert.deepEqual([r.finished, r.job.kind, r.job.state, r.old.id, r.new.path], [true, 'drain', 'done', old.id, fresh]);
      assert.equal(r.job.progress.removedDisk, old.id);
      assert.equal(r.job.progress.extentsDone, old.fragments, 'one extent per fragment the old disk held');
      const after = ok('disks', pool).disks as Json[];
      assert.deepEqual(after.map((d) => d.path).sort(), [disks[0], disks[1], disks[3], fresh].sort());
      assert.equal(after.find((d) => d.path === fresh)!.fragments, old.fragments, 'the new disk took exactly what the old held');
      // Its history outlives it; as a disk to name, it is gone.
      const events = (ok('disk-events', pool).events as Json[]).filter((e) => e.diskId === old.id);
      assert.deepEqual(events.map((e) => [e.from, e.to, e.source, e.reason]), [
        [null, 'healthy', 'pool', `added at ${disks[2]}`],
        ['healthy', 'draining', 'operator', `being replaced by disk ${r.new.id as number} (${fresh})`],
        ['draining', 'draining', 'operator', 'removed from the pool'],
      ]);
      fails('ENODISK', ['disk-events', pool, String(old.id)]);
      for (const f of files.keys()) {
        for (const e of extentsOf(pool, f)) {
          if (e.scheme === 'inline') continue;
          const ids = (e.fragments as Json[]).map((x) => x.diskId as number);
          assert.equal(new Set(ids).size, 3, `${f}: 3 fragments on 3 distinct disks`);
          assert.ok(!ids.includes(old.id), `${f}: a fragment still on the replaced disk`);
        }
      }
      assert.equal(fs.existsSync(path.join(disks[2]!, 'dynamicfs.label')), false, 'the old disk was released');
      for (const [name, data] of files) assert.ok(fs.readFileSync(path.join(mnt, name)).equals(data), `seed ${rng.seed}: ${name}`);
      assert.equal(ok('status', pool).health, 'healthy');
    } finally {
      if (child) await stopCoordinator(mnt, child);
      rmrf(root);
    }
  });
});

describe('user.dynamicfs.policy on a file', () => {
  it('changes the scheme of the extents written after it, and leaves the earlier ones as they were', async () => {
    await withMount(async (m) => {
      const rng = new Rng();
      const file = path.join(m.mnt, 'f');
      const head = rng.bytes(2 * EXTENT);
      fs.writeFileSync(file, head);
      const first = ok('stat', m.pool, '/f');
      assert.deepEqual([first.policy, first.effectivePolicy], [null, 'rs:4+2']);
      assert.deepEqual((first.extents as Json[]).map((e) => [e.scheme, e.k, e.m, e.fragments.length]), [['rs', 4, 2, 6], ['rs', 4, 2, 6]]);
      const set = spawnSync('python3', ['-c', 'import os, sys; os.setxattr(sys.argv[1], "user.dynamicfs.policy", b"mirror:3"); print(os.getxattr(sys.argv[1], "user.dynamicfs.policy").decode())', file], { encoding: 'utf8' });
      assert.equal(set.status, 0, set.stderr);
      assert.equal(set.stdout.trim(), 'mirror:3');
      const tail = rng.bytes(2 * EXTENT);
      fs.appendFileSync(file, tail);
      const after = ok('stat', m.pool, '/f');
      assert.deepEqual([after.policy, after.effectivePolicy], ['mirror:3', 'mirror:3']);
      assert.deepEqual((after.extents as Json[]).map((e) => [e.offset, e.scheme, e.fragments.length]), [
        [0, 'rs', 6], [EXTENT, 'rs', 6], [2 * EXTENT, 'mirror', 3], [3 * EXTENT, 'mirror', 3],
      ]);
      assert.deepEqual((after.extents as Json[]).slice(0, 2).map((e) => e.id), (first.extents as Json[]).map((e) => e.id), 'the earlier extents were not rewritten');
      assert.ok(fs.readFileSync(file).equals(Buffer.concat([head, tail])), `seed ${rng.seed}`);
    }, { extentSize: String(EXTENT) });
  });
});
