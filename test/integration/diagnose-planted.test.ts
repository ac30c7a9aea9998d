/**
 * diagnose finding planted problems, and the same findings in `health` (GET /health's
 * body) and in the metrics: a disk whose filesystem (a small tmpfs) is nearly full; a
 * tier growing towards full, from the usage history a coordinator keeps (it writes a
 * sample when it starts; the test plants a week of older ones); and, in
 * test/unit/admin/diagnose-slow-disk.test.ts, a slow disk.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { makePool, ok, type Json } from '../helpers/cli';
import { startServe, stopChild } from '../helpers/daemon';
import { withTmpDir, withTmpfs } from '../helpers/tmp';

const DAY_MS = 86_400_000;
const GIB = 1024 ** 3;
const byCode = (d: Json, code: string): Json[] => (d.findings as Json[]).filter((f) => f.code === code);

test('diagnose: a nearly full disk, in diagnose, health and the metrics', async () => {
  await withTmpDir(async (root) => {
    await withTmpfs(8 * 1024 * 1024, async (small) => {
      const { pool } = makePool(root, 5);
      ok('add-disk', pool, small);
      assert.deepEqual(byCode(ok('diagnose', pool), 'disk-nearly-full'), []);
      // Fill the tmpfs to ~94% with a file that is not the pool's.
      fs.writeFileSync(path.join(small, 'filler'), Buffer.alloc(7.5 * 1024 * 1024, 1));
      const d = ok('diagnose', pool);
      const full = byCode(d, 'disk-nearly-full');
      assert.equal(full.length, 1, JSON.stringify(d.findings));
      const f = full[0]!;
      assert.equal(f.severity, 'warning');
      assert.equal(f.evidence.disk, 6);
      assert.equal(f.evidence.capacityBytes, 8 * 1024 * 1024);
      assert.equal(f.evidence.usedBytes + f.evidence.freeBytes, 8 * 1024 * 1024);
      assert.ok(f.evidence.usedFraction >= 0.9 && f.evidence.usedFraction < 1, String(f.evidence.usedFraction));
      assert.match(f.message, new RegExp(`^disk 6 \\(${small}\\): its filesystem is \\d+\\.\\d% full`));
      assert.equal(f.fix, `free space on ${small}'s filesystem, or dynamicfs add-disk ${pool} <dir> and dynamicfs drain ${pool} 6`);
      // health carries it beside its verdict, which it does not change (the pool's space is mostly the big filesystem's).
      const h = ok('health', pool);
      assert.equal(h.health, 'healthy');
      assert.deepEqual((h.findings as Json[]).filter((x) => x.code === 'disk-nearly-full'), full);
      // A coordinator's metrics count it.
      const served = await startServe(pool);
      try {
        const metric = (ok('metrics', pool).metrics as Json[]).find((x) => x.name === 'dynamicfs_diagnose_findings')!;
        const counted = (metric.values as Json[]).map((v) => [v.labels.code, v.labels.severity, v.value]).sort();
        assert.deepEqual(counted.filter(([code]) => code === 'disk-nearly-full' || code === 'shared-device'),
          [['disk-nearly-full', 'warning', 1], ['shared-device', 'warning', 1]]);
      } finally {
        await stopChild(served.child);
      }
    });
  });
});

test('diagnose: each tier\'s days until full at the last week\'s growth, from the coordinator\'s usage samples', async () => {
  await withTmpDir(async (root) => {
    const { pool } = makePool(root, 6);
    const history = path.join(pool, 'run', 'usage.jsonl');
    // No history: no forecast.
    assert.deepEqual(byCode(ok('diagnose', pool), 'capacity-forecast'), []);
    // A coordinator samples at start (and hourly): one sample of the warm tier, the disks' space.
    const served = await startServe(pool);
    try {
      const first = fs.readFileSync(history, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Json);
      assert.equal(first.length, 1);
      assert.deepEqual(Object.keys(first[0]!.tiers), ['warm']);
      const disks = ok('disks', pool);
      assert.equal(first[0]!.tiers.warm.capacityBytes, disks.totals.capacityBytes);
      assert.equal(fs.statSync(history).mode & 0o777, 0o600);
    } finally {
      await stopChild(served.child);
    }
    // Replace the history with a planted week of growth, 1 GiB a day.
    const now = Date.now();
    const base = 10 * GIB;
    const planted = [6, 5, 4, 3, 2, 1, 0].map((daysAgo) => ({ atMs: now - daysAgo * DAY_MS - 60_000, tiers: { warm: { capacityBytes: 1000 * GIB, usedBytes: base + (6 - daysAgo) * GIB } } }));
    // One sample older than the forecast's week, far off the line: not used.
    const stale = { atMs: now - 8 * DAY_MS, tiers: { warm: { capacityBytes: 1000 * GIB, usedBytes: 900 * GIB } } };
    fs.writeFileSync(history, [stale, ...planted].map((s) => `${JSON.stringify(s)}\n`).join('') + '{"torn line\n');
    const d = ok('diagnose', pool);
    const fc = byCode(d, 'capacity-forecast');
    assert.equal(fc.length, 1, JSON.stringify(d.findings));
    const e = fc[0]!.evidence;
    assert.deepEqual([e.tier, e.disks, e.growthBytesPerDay, e.samples, e.spanDays], ['warm', [1, 2, 3, 4, 5, 6], GIB, 7, 6]);
    const free = ok('disks', pool).totals.freeBytes as number;
    // Free space moves a little between the two reads (other work on this filesystem).
    assert.ok(Math.abs(e.freeBytes - free) < 64 * 1024 * 1024, `${e.freeBytes} vs ${free}`);
    assert.equal(e.daysToFull, Math.round((e.freeBytes / GIB) * 1000) / 1000);
    assert.equal(fc[0]!.severity, e.daysToFull < 30 ? 'warning' : 'info');
    assert.match(fc[0]!.message, /^the warm tier \(disks 1, 2, 3, 4, 5, 6\) is full in about .+ at the last 6\.0 days' growth \(1\.0 GiB a day; /);
    assert.equal(fc[0]!.fix, `dynamicfs add-disk ${pool} <dir> --tier warm, or free space (dynamicfs gc ${pool}, dynamicfs compact ${pool})`);
    // Shrinking: no forecast.
    fs.writeFileSync(history, planted.map((s, i) => JSON.stringify({ ...s, tiers: { warm: { capacityBytes: 1000 * GIB, usedBytes: base - i * GIB } } })).join('\n') + '\n');
    assert.deepEqual(byCode(ok('diagnose', pool), 'capacity-forecast'), []);
  });
});
