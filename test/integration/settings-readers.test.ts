/**
 * The settings the read path and the rebuild read, through the CLI and the mount:
 * cache.extentBytes and read.aheadExtents changed on a mounted pool apply at once (the
 * cache's gauges and counters on GET /metrics say so), and a rebuild with several extents
 * at once (rebuild.concurrency) rebuilds every one, the file reading back the same (one at
 * a time is what the other rebuild tests run).
 *
 * Extents of 256 KiB, read in 128 KiB FUSE requests: the first request of an extent
 * misses or hits, the second hits (the cache holds the extent by then).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { makePool, ok, run, type Json } from '../helpers/cli';
import { withMount } from '../helpers/mount';
import { freePort, httpGet, parseExposition } from '../helpers/prometheus';
import { Rng } from '../helpers/random';
import { withTmpDir } from '../helpers/tmp';

const MiB = 1024 * 1024;
const EXTENT = 256 * 1024;
const EXTENTS = 16;

test('cache.extentBytes and read.aheadExtents, changed on a mounted pool, apply at once: the cache holds at most its budget, read-ahead shows in its counters', async () => {
  const port = await freePort();
  await withMount(async ({ root, pool, mnt }) => {
    const data = new Map<string, Buffer>();
    for (const name of ['a', 'b', 'c']) {
      data.set(name, randomBytes(EXTENTS * EXTENT));
      // Written through the mount, read back by a new open: from the disks (no kernel_cache), through the extent cache.
      fs.writeFileSync(path.join(mnt, name), data.get(name)!);
    }
    let last = new Map<string, number>();
    /** The cache's figures now (GET /metrics), its counters as the change since the last look. */
    const cache = async () => {
      const m = parseExposition((await httpGet(`http://127.0.0.1:${port}/metrics`)).body, 'dynamicfs_cache');
      const delta = (k: string) => m.get(k)! - (last.get(k) ?? 0);
      const out = { bytes: m.get('dynamicfs_cache_bytes'), budget: m.get('dynamicfs_cache_budget_bytes'),
        misses: delta('dynamicfs_cache_misses_total'), prefetches: delta('dynamicfs_cache_prefetches_total') };
      last = m;
      return out;
    };
    const read = (name: string) => assert.ok(fs.readFileSync(path.join(mnt, name)).equals(data.get(name)!), name);
    assert.deepEqual(await cache(), { bytes: 0, budget: 64 * MiB, misses: 0, prefetches: 0 }, 'the defaults');

    // Eight extents' worth, no read-ahead: each extent is fetched by its first read, and the last eight stay.
    ok('config', pool, '--set', `cache.extentBytes=${2 * MiB}`, 'read.aheadExtents=0');
    read('a');
    assert.deepEqual(await cache(), { bytes: 2 * MiB, budget: 2 * MiB, misses: EXTENTS, prefetches: 0 });
    // Smaller, with nothing read: evicted down to it there and then.
    ok('config', pool, '--set', `cache.extentBytes=${MiB}`);
    assert.deepEqual(await cache(), { bytes: MiB, budget: MiB, misses: 0, prefetches: 0 });
    // A file four times the cache, read again: least recently used out first, so every extent is gone by its turn.
    read('a');
    assert.deepEqual(await cache(), { bytes: MiB, budget: MiB, misses: EXTENTS, prefetches: 0 });

    // Room for the whole file: read twice, fetched once.
    ok('config', pool, '--set', `cache.extentBytes=${64 * MiB}`);
    read('b');
    read('b');
    assert.deepEqual(await cache(), { bytes: MiB + EXTENTS * EXTENT, budget: 64 * MiB, misses: EXTENTS, prefetches: 0 });

    // Read-ahead: the first read (at 0) misses, and it and each sequential read after it fetch up
    // to three extents ahead; every other extent is cached (or on its way) when its read comes,
    // in whatever order the kernel's requests arrive.
    ok('config', pool, '--set', 'read.aheadExtents=3');
    read('c');
    assert.deepEqual(await cache(), { bytes: MiB + 2 * EXTENTS * EXTENT, budget: 64 * MiB, misses: 1, prefetches: EXTENTS - 1 });

    // get's read-ahead is the same setting; with none, one extent at a time, the same bytes.
    ok('config', pool, '--set', 'read.aheadExtents=0');
    ok('get', pool, '/c', path.join(root, 'c.out'));
    assert.ok(fs.readFileSync(path.join(root, 'c.out')).equals(data.get('c')!));
  }, { extentSize: String(EXTENT), extra: ['--metrics-port', String(port)] });
});

test('rebuild.concurrency: four extents at once, and every extent is rebuilt, the file reading back the same', async () => {
  const rng = new Rng();
  const bytes = rng.bytes(24 * 65536);
  const CONCURRENCY = 4;
  await withTmpDir((root) => {
    const { pool, disks } = makePool(root, 5, '--redundancy', 'rs:2+1', '--extent-size', '65536');
    fs.writeFileSync(path.join(root, 'src'), bytes);
    ok('put', pool, path.join(root, 'src'), '/f');
    ok('config', pool, '--set', `rebuild.concurrency=${CONCURRENCY}`);
    ok('set-disk-health', pool, disks[1]!, 'failed', '--reason', 'test: pulled');
    const onFailed = (e: Json) => (e.fragments as Json[]).some((x) => x.diskPath === disks[1]);
    const todo = (ok('stat', pool, '/f').extents as Json[]).filter(onFailed).length;
    assert.ok(todo > CONCURRENCY, `seed ${rng.seed}: ${todo} extents on the failed disk`);

    const said = run(['rebuild', pool]);
    assert.match(said.stdout, new RegExp(`^job 1 rebuild done, ${todo}/${todo} extents, .*, up to ${CONCURRENCY} extents at once`), said.stdout + said.stderr);
    const job = (ok('jobs', pool).jobs as Json[])[0]!;
    assert.deepEqual([job.state, job.progress.extentsDone, job.progress.extentsTotal, job.progress.stuck, job.progress.peakConcurrency],
      ['done', todo, todo, 0, CONCURRENCY], JSON.stringify(job.progress));
    for (const e of ok('stat', pool, '/f').extents as Json[]) {
      const on = (e.fragments as Json[]).map((x) => x.diskPath as string);
      assert.deepEqual([on.length, new Set(on).size, onFailed(e)], [3, 3, false], `extent ${e.id as string}: ${on.join(', ')}`);
    }
    ok('get', pool, '/f', path.join(root, 'out'));
    assert.ok(fs.readFileSync(path.join(root, 'out')).equals(bytes), `seed ${rng.seed}`);
  });
});
