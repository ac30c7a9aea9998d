/** judgeHealth: the verdict and reasons behind `dynamicfs health` and GET /health, from a status. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CAPACITY_WARN_FRACTION, judgeHealth } from '../../../src/admin/health';
import type { StatusData } from '../../../src/admin/ops';

function status(over: { extents?: Partial<StatusData['extents']>; perDisk?: Partial<StatusData['perDisk'][number]>[]; used?: number } = {}): StatusData {
  const perDisk = (over.perDisk ?? Array.from({ length: 6 }, () => ({}))).map((d, i) => ({
    id: i + 1, path: `/d${i + 1}`, state: 'healthy' as const, present: true, readErrors: 0, checksumErrors: 0, writeErrors: 0, ...d }));
  return {
    pool: '/p', uuid: 'u', policy: 'rs:4+2', extentSize: 4 << 20, generation: 7, health: 'healthy',
    disks: { total: perDisk.length, byState: { healthy: 6, degraded: 0, suspect: 0, draining: 0, failed: 0 }, missing: perDisk.filter((d) => !d.present).length,
      capacityBytes: 1000, usedBytes: Math.round((over.used ?? 0.5) * 1000), freeBytes: 1000 - Math.round((over.used ?? 0.5) * 1000), filesystems: 1 },
    namespace: { files: 1, dirs: 1, bytes: 10 },
    extents: { total: 10, healthy: 10, degraded: 0, unrecoverable: 0, inline: 0, ...over.extents },
    errors: { read: 0, checksum: 0, write: 0 },
    repairQueue: 0,
    perDisk,
  } as StatusData;
}

test('a pool with nothing wrong is healthy: 200, no reasons', () => {
  assert.deepEqual(judgeHealth(status()), { health: 'healthy', httpStatus: 200, reasons: [] });
});

test('unrecoverable extents are critical (503); everything else only degrades (202)', () => {
  const v = judgeHealth(status({ extents: { healthy: 7, degraded: 1, unrecoverable: 2 } }));
  assert.equal(v.health, 'critical');
  assert.equal(v.httpStatus, 503);
  assert.deepEqual(v.reasons.map((r) => [r.code, r.severity]), [['unrecoverable-extents', 'critical'], ['degraded-extents', 'degraded']]);
  assert.match(v.reasons[0]!.message, /2 extents are unrecoverable/);

  const disks = judgeHealth(status({ perDisk: [{ state: 'failed', present: false }, { present: false }, { state: 'suspect' }, {}, {}, {}] }));
  assert.equal(disks.health, 'degraded');
  assert.equal(disks.httpStatus, 202);
  assert.deepEqual(disks.reasons.map((r) => r.code), ['failed-disks', 'missing-disks', 'unhealthy-disks']);
  assert.match(disks.reasons[0]!.message, /disk 1 \(\/d1\) failed/);
  assert.match(disks.reasons[1]!.message, /disk 2 \(\/d2\) missing/);
  assert.match(disks.reasons[2]!.message, /disk 3 \(\/d3\) is suspect/);
});

test(`space used above ${CAPACITY_WARN_FRACTION * 100}% of the capacity degrades the pool`, () => {
  assert.equal(judgeHealth(status({ used: CAPACITY_WARN_FRACTION })).health, 'healthy');
  const v = judgeHealth(status({ used: 0.9 }));
  assert.equal(v.health, 'degraded');
  assert.deepEqual(v.reasons.map((r) => r.code), ['capacity']);
  assert.match(v.reasons[0]!.message, /90\.0% full \(warning above 85%\)/);
});
