/**
 * `dynamicfs diagnose`: each finding with its severity, figures and fix, through the CLI,
 * offline and through a coordinator (the same findings; compared on a sound pool, since a
 * coordinator starts repairing what it finds). Six directory disks on one
 * filesystem: more than the pool can lose share a device. Then a long commit interval (a setting outside its safe range),
 * a corrupted fragment found by scrub (a healthy disk counting errors, an extent to
 * rebuild, coverage behind), and three disks gone (unrecoverable: critical, exit 3).
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { dfs, makePool, ok, type Json } from '../helpers/cli';
import { startServe, stopChild } from '../helpers/daemon';
import { Rng } from '../helpers/random';
import { withTmpDir } from '../helpers/tmp';

const codes = (d: Json): string[][] => (d.findings as Json[]).map((f) => [f.severity, f.code]);

function fragmentFiles(disk: string): string[] {
  const top = path.join(disk, 'frags');
  if (!fs.existsSync(top)) return [];
  return (fs.readdirSync(top, { recursive: true }) as string[]).filter((f) => /\.\d+$/.test(f)).map((f) => path.join(top, f));
}

test('diagnose: findings with severity, evidence and the fixing command; critical exits 3', async () => {
  await withTmpDir(async (root) => {
    const { pool, disks } = makePool(root);
    let d = ok('diagnose', pool);
    assert.equal(d.verdict, 'warning');
    assert.deepEqual(codes(d), [['warning', 'shared-device'], ['info', 'pool-dir-on-disk-device']]);
    const shared = d.findings[0];
    assert.deepEqual([shared.evidence.disks, shared.evidence.canLose], [[1, 2, 3, 4, 5, 6], 2]);
    assert.match(shared.message, /^disks 1, 2, 3, 4, 5, 6 are on one device \(st_dev \d+\): losing it loses 6 disks, more than the 2 parity fragments/);
    assert.match(shared.fix, /dynamicfs add-disk/);
    // Through a coordinator: the same findings.
    const served = await startServe(pool);
    try {
      assert.deepEqual(ok('diagnose', pool).findings, d.findings);
    } finally {
      await stopChild(served.child);
    }

    ok('config', pool, '--set', 'commit.intervalMs=60000');
    d = ok('diagnose', pool);
    const long = (d.findings as Json[]).filter((f) => f.code === 'setting-unsafe');
    assert.deepEqual(long.map((f) => [f.severity, f.evidence, f.fix]), [['warning', { key: 'commit.intervalMs', value: 60000, safeRange: '100..30000', default: 5000 },
      `dynamicfs config ${pool} --set commit.intervalMs=5000`]]);
    ok('config', pool, '--set', 'commit.intervalMs=5000');

    // One file of one extent; one of its fragments damaged, then found by scrub.
    const local = path.join(root, 'f');
    fs.writeFileSync(local, new Rng(7).bytes(300_000));
    ok('put', pool, local, '/f');
    const victim = disks.find((p) => fragmentFiles(p).length > 0)!;
    const frag = fragmentFiles(victim)[0]!;
    const fd = fs.openSync(frag, 'r+');
    try {
      fs.writeSync(fd, Buffer.from([0xff ^ 0x5a]), 0, 1, 4096 + 100);
    } finally {
      fs.closeSync(fd);
    }
    const scrub = dfs('scrub', pool);
    assert.equal(scrub.json?.error?.code, 'EFINDINGS', scrub.stdout);
    const victimId = disks.indexOf(victim) + 1;
    d = ok('diagnose', pool);
    assert.deepEqual(codes(d), [['warning', 'degraded-extents'], ['warning', 'disk-errors'], ['warning', 'shared-device'], ['warning', 'scrub-behind'],
      ['info', 'pool-dir-on-disk-device']]);
    const byCode = new Map<string, Json>((d.findings as Json[]).map((f) => [f.code as string, f]));
    assert.deepEqual(byCode.get('degraded-extents')!.evidence, { extents: 1, repairQueue: 1 });
    assert.match(byCode.get('degraded-extents')!.fix, new RegExp(`^dynamicfs rebuild ${pool} `));
    // The disk was added seconds ago: its age counts as an hour (the floor), so 1 error is 24 a day,
    // and the 49 more that make it failed come in 49/24 days.
    assert.deepEqual(byCode.get('disk-errors')!.evidence, { disk: victimId, readErrors: 0, checksumErrors: 1, writeErrors: 0,
      ageDays: 0.042, errorsPerDay: 24, daysToFailed: 2.042, failedErrors: 50 });
    assert.match(byCode.get('disk-errors')!.message, /at its rate so far \(1 in 1 h since it was added\) it reaches the failed threshold \(health.failedErrors = 50\) in about 2\.0 days$/);
    assert.deepEqual([byCode.get('scrub-behind')!.evidence.extents, byCode.get('scrub-behind')!.evidence.verifiedWithinPeriod], [1, 0]);

    // Three of six disks gone: the extent is unrecoverable. Critical, exit 3, the lost file named.
    for (const p of disks.filter((x) => x !== victim).slice(0, 2)) fs.rmSync(p, { recursive: true, force: true });
    fs.rmSync(victim, { recursive: true, force: true });
    const bad = dfs('diagnose', pool);
    assert.equal(bad.code, 3, bad.stdout);
    assert.equal(bad.json?.verdict, 'critical');
    const first = bad.json?.findings[0];
    assert.deepEqual([first.severity, first.code, first.evidence.extents, first.evidence.files], ['critical', 'unrecoverable-extents', 1, ['/f']]);
  });
});
