/**
 * Issue 12's two bugs, through the real CLI and a mounted pool, on the default shape
 * (6 directory disks, rs:4+2, so every disk holds a fragment of every extent):
 *
 * - bit rot on two disks makes them suspect, and repair still restores full redundancy:
 *   with no healthy disk free of the extent, each bad fragment is rewritten in place, and
 *   the scrub findings and the disk's events say so;
 * - `status`, `health` and the metrics give one verdict and one set of extent counts: an
 *   extent with a known-bad fragment is degraded until repaired, and a failed disk still
 *   registered keeps the pool degraded until the operator removes or replaces it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { until } from '../helpers/claims';
import { fails, ok, run, type Json } from '../helpers/cli';
import { makePool, startCoordinator, stopCoordinator } from '../helpers/mount';
import { Rng } from '../helpers/random';
import { withTmpDir } from '../helpers/tmp';

const HEADER = 4096;
const IN_PLACE = /^rewritten in place on disk (\d+) \(suspect\): no healthy disk free of this extent$/;

/** 60 files under /data (one put), every third one over the 16 KiB inline limit (so it has fragments on all six disks). */
function putFiles(pool: string, root: string, rng: Rng): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  const src = path.join(root, 'src');
  fs.mkdirSync(src);
  for (let i = 0; i < 60; i++) {
    const data = rng.bytes(i % 3 === 0 ? rng.int(20_000, 60_000) : rng.int(100, 8000));
    fs.writeFileSync(path.join(src, `f${i}`), data);
    files.set(`/data/f${i}`, data);
  }
  ok('put', pool, src, '/data');
  return files;
}

function diskId(pool: string, dir: string): number {
  return (ok('disks', pool).disks as Json[]).find((d) => d.path === dir)!.id as number;
}

/** Flip one payload byte in the first `n` fragment files of the disk; returns "extent.index" of each. */
function rot(disk: string, n: number): string[] {
  const top = path.join(disk, 'frags');
  const frags = (fs.readdirSync(top, { recursive: true }) as string[]).filter((f) => /\.\d+$/.test(f)).sort().slice(0, n);
  assert.equal(frags.length, n, `disk ${disk} holds at least ${n} fragments`);
  for (const rel of frags) {
    const fd = fs.openSync(path.join(top, rel), 'r+');
    try {
      const b = Buffer.alloc(1);
      fs.readSync(fd, b, 0, 1, HEADER + 100);
      b[0] = b[0]! ^ 0x5a;
      fs.writeSync(fd, b, 0, 1, HEADER + 100);
    } finally {
      fs.closeSync(fd);
    }
  }
  return frags.map((f) => path.basename(f));
}

/** status and health agree on the verdict and the extent counts; returns both. */
function verdicts(pool: string): { status: Json; health: Json } {
  const status = ok('status', pool);
  const health = ok('health', pool);
  assert.equal(status.health, health.health, 'status and health give the same verdict');
  assert.deepEqual(status.extents, health.extents, 'status and health count the same extents');
  return { status, health };
}

test('bit rot on two disks makes them suspect; status counts the damage, and scrub --repair rewrites every bad fragment in place', async () => {
  await withTmpDir(async (root) => {
    const rng = new Rng();
    const { pool, disks } = makePool(root, 6, 'rs:4+2');
    const files = putFiles(pool, root, rng);
    const victims = [disks[1]!, disks[4]!];
    const ids = victims.map((d) => diskId(pool, d));
    const rotted = victims.map((d) => rot(d, 10));
    const extents = new Set(rotted.flat().map((f) => f.split('.')[0]!));

    const found = fails('EFINDINGS', ['scrub', pool]);
    assert.equal(found.fragments.bad, 20);
    assert.equal(found.extents.damaged, extents.size);
    const disksAfter = ok('disks', pool).disks as Json[];
    for (const id of ids) assert.equal(disksAfter.find((d) => d.id === id)!.state, 'suspect', `disk ${id} passed the checksum-error threshold`);

    // The damage is counted: every extent with a known-bad fragment is degraded.
    const damaged = verdicts(pool);
    assert.equal(damaged.status.repairQueue, extents.size);
    assert.equal(damaged.status.extents.degraded, extents.size, `seed ${rng.seed}`);
    assert.equal(damaged.status.extents.healthy, damaged.status.extents.total - extents.size);
    assert.equal(damaged.status.health, 'degraded');
    assert.deepEqual((damaged.health.reasons as Json[]).map((r) => r.code), ['unhealthy-disks', 'degraded-extents']);

    const repaired = ok('scrub', pool, '--repair');
    assert.equal(repaired.clean, true);
    assert.equal(repaired.extents.repaired, extents.size, 'every damaged extent repaired');
    assert.equal((repaired.files as Json[]).length, 20);
    for (const f of repaired.files as Json[]) {
      assert.equal(f.repaired, true);
      assert.equal(f.repairedOnto, f.diskId, `fragment ${f.index} of ${f.extent} went back onto its own disk`);
      assert.equal(IN_PLACE.exec(f.repair as string)?.[1], String(f.diskId), f.repair as string);
    }
    for (const [i, id] of ids.entries()) {
      const notes = (ok('disk-events', pool, String(id)).events as Json[]).filter((e) => e.source === 'repair');
      assert.equal(notes.length, 10, `disk ${id} records each fragment rewritten on it`);
      for (const e of notes) {
        assert.equal(e.from, 'suspect');
        assert.equal(e.to, 'suspect', 'a repair note changes no state');
        assert.match(e.reason, new RegExp(`^fragment \\d+ of extent [0-9a-f]{32}: rewritten in place on disk ${id} \\(suspect\\): no healthy disk free of this extent$`));
      }
      const noted = new Set(notes.map((e) => /extent ([0-9a-f]{32})/.exec(e.reason)![1]));
      assert.deepEqual(noted, new Set(rotted[i]!.map((f) => f.split('.')[0]!)));
    }

    const second = ok('scrub', pool);
    assert.equal(second.clean, true);
    assert.equal(second.fragments.bad, 0);
    const healed = verdicts(pool);
    assert.equal(healed.status.repairQueue, 0);
    assert.equal(healed.status.extents.degraded, 0);
    assert.equal(healed.status.extents.healthy, healed.status.extents.total);
    // Full redundancy again; the two suspect disks still want the operator's look.
    assert.equal(healed.status.health, 'degraded');
    assert.deepEqual((healed.health.reasons as Json[]).map((r) => r.code), ['unhealthy-disks']);
    const out = path.join(root, 'out');
    for (const [name, data] of files) {
      ok('get', pool, name, out);
      assert.ok(fs.readFileSync(out).equals(data), `${name} reads back exactly (seed ${rng.seed})`);
    }
  });
});

test('through a mount: the coordinator repairs bit rot on two suspect disks by itself, and status, health and metrics agree', async () => {
  await withTmpDir(async (root) => {
    const rng = new Rng();
    const { pool, disks } = makePool(root, 6, 'rs:4+2');
    const files = putFiles(pool, root, rng);
    const rotted = [rot(disks[0]!, 10), rot(disks[3]!, 10)];
    const extents = new Set(rotted.flat().map((f) => f.split('.')[0]!));
    const mnt = path.join(root, 'mnt');
    const c = await startCoordinator(pool, mnt);
    try {
      const found = fails('EFINDINGS', ['scrub', pool]);
      assert.equal(found.fragments.bad, 20);
      assert.equal(found.extents.damaged, extents.size);
      // The scrub queued the damage; the coordinator's own rebuild must heal it although both disks are suspect.
      await until('the coordinator to repair every queued extent', () => {
        const s = ok('status', pool);
        return s.repairQueue === 0 && s.jobs.length === 0 && s.extents.degraded === 0;
      });
      const jobs = (ok('jobs', pool).jobs as Json[]).filter((j) => j.kind === 'rebuild');
      assert.ok(jobs.length >= 1);
      for (const j of jobs) assert.equal(j.state, 'done', JSON.stringify(j));
      assert.equal(jobs.reduce((n, j) => n + Number(j.progress.rewrittenInPlace), 0), 20, 'every bad fragment rewritten in place');
      const clean = ok('scrub', pool);
      assert.equal(clean.fragments.bad, 0);
      for (const [name, data] of files) assert.ok(fs.readFileSync(path.join(mnt, name)).equals(data), `${name} still reads correct`);
      const { status } = verdicts(pool);
      assert.equal(status.health, 'degraded');
      assert.equal(status.extents.degraded, 0);
      const metrics = run(['metrics', pool]).stdout;
      assert.match(metrics, /^dynamicfs_pool_health\{state="degraded"\} 1$/m);
      assert.match(metrics, new RegExp(`^dynamicfs_extents\\{state="healthy"\\} ${status.extents.healthy as number}$`, 'm'));
      assert.match(metrics, /^dynamicfs_extents\{state="degraded"\} 0$/m);
    } finally {
      await stopCoordinator(mnt, c.child);
    }
  });
});

test('a failed disk still registered after its extents were rebuilt: status and health both say degraded, until remove-disk', async () => {
  await withTmpDir(async (root) => {
    const rng = new Rng();
    const { pool, disks } = makePool(root, 7, 'rs:4+2');
    putFiles(pool, root, rng);
    ok('set-disk-health', pool, disks[2]!, 'failed', '--reason', 'test: pulled');
    const job = ok('rebuild', pool).job as Json;
    assert.equal(job.state, 'done', JSON.stringify(job));
    const failed = verdicts(pool);
    assert.equal(failed.status.extents.degraded, 0);
    assert.equal(failed.status.health, 'degraded');
    const reasons = failed.health.reasons as Json[];
    assert.deepEqual(reasons.map((r) => r.code), ['failed-disks']);
    assert.match(reasons[0]!.message, /remove-disk/);
    assert.match(reasons[0]!.message, /replace-disk/);
    ok('remove-disk', pool, disks[2]!);
    const removed = verdicts(pool);
    assert.equal(removed.status.health, 'healthy');
    assert.deepEqual(removed.health.reasons, []);
  });
});
