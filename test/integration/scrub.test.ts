/**
 * Scrub, through the real CLI (and the mount where it says so): corrupt random bytes in
 * fragments on m disks and every file still reads correct, `scrub` reports exactly the
 * corrupted fragments, `scrub --repair` fixes them and a second scrub is clean; a
 * coordinator SIGKILLed mid-scrub resumes the job from its cursor on restart and finishes
 * it; `scrub-daemon` pause/resume/set-intensity/stop change the job as `jobs` and
 * `scrub-daemon status` report it; `scrub-schedule` persists and a coordinator follows a
 * continuous schedule by itself. The scheduler's decisions are checked with a moved clock.
 * No timing assertions: slow scrubs use a tiny rate limit, never a stopwatch.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { openEngine } from '../../src/engine/open';
import { ScrubScheduler } from '../../src/engine/scrub-scheduler';
import { silentLogger } from '../../src/log/logger';
import { dfs, fails, makePool, ok, run, type Json } from '../helpers/cli';
import { cleanupPool, sleep, startServe, stopChild } from '../helpers/daemon';
import { startCoordinator, stopCoordinator } from '../helpers/mount';
import { Rng } from '../helpers/random';
import { withTmpDir } from '../helpers/tmp';

const HEADER = 4096;

/** Files of random sizes (most spanning several 64 KiB extents, one small enough to be inline). */
function writeFiles(root: string, rng: Rng, count: number, maxBytes = 400_000): Map<string, string> {
  const src = path.join(root, 'src');
  fs.mkdirSync(src, { recursive: true });
  const files = new Map<string, string>();
  for (let i = 0; i < count; i++) {
    const local = path.join(src, `f${i}.bin`);
    fs.writeFileSync(local, rng.bytes(i === 0 ? 3000 : rng.int(20_000, maxBytes)));
    files.set(`/data/f${i}.bin`, local);
  }
  return files;
}

function putAll(pool: string, files: Map<string, string>): void {
  ok('mkdir', pool, '/data', '-p');
  for (const [dest, local] of files) ok('put', pool, local, dest);
}

/** disk path → id */
function diskIds(pool: string): Map<string, number> {
  return new Map((ok('disks', pool).disks as Json[]).map((d) => [d.path as string, d.id as number]));
}

function fragmentFiles(disk: string): string[] {
  const top = path.join(disk, 'frags');
  if (!fs.existsSync(top)) return [];
  return (fs.readdirSync(top, { recursive: true }) as string[]).filter((f) => /\.\d+$/.test(f)).map((f) => path.join(top, f)).sort();
}

/** "extent.index@disk" for a fragment file on disk `diskId`. */
function fragmentKey(file: string, diskId: number): string {
  const [extent, index] = path.basename(file).split('.');
  return `${extent}.${index}@${diskId}`;
}

/**
 * Flip random bytes in the payload of up to `perDisk` random fragments on each of the
 * given disks; returns the keys of the fragments corrupted. Payloads of non-inline
 * extents at 64 KiB / k=4 are longer than 4 KiB, so offsets in [4096, 8192) hit payload.
 */
function corrupt(disks: string[], ids: Map<string, number>, rng: Rng, perDisk: number): Set<string> {
  const out = new Set<string>();
  for (const d of disks) {
    const frags = fragmentFiles(d);
    const chosen = new Set<string>();
    while (chosen.size < Math.min(perDisk, frags.length)) chosen.add(rng.pick(frags));
    for (const f of chosen) {
      const fd = fs.openSync(f, 'r+');
      try {
        for (let n = rng.int(1, 8); n > 0; n--) {
          const at = HEADER + rng.int(0, 4095);
          const b = Buffer.alloc(1);
          fs.readSync(fd, b, 0, 1, at);
          b[0] = b[0]! ^ rng.int(1, 255);
          fs.writeSync(fd, b, 0, 1, at);
        }
      } finally {
        fs.closeSync(fd);
      }
      out.add(fragmentKey(f, ids.get(d)!));
    }
  }
  return out;
}

function pickDistinct<T>(rng: Rng, xs: readonly T[], n: number): T[] {
  const out = new Set<T>();
  while (out.size < n) out.add(rng.pick(xs));
  return [...out];
}

function findingKeys(report: Json): Set<string> {
  return new Set((report.files as Json[]).map((f) => `${f.extent}.${f.index}@${f.diskId}`));
}

function assertFilesRead(pool: string, root: string, files: Map<string, string>): void {
  const out = path.join(root, 'out.bin');
  for (const [dest, local] of files) {
    ok('get', pool, dest, out);
    assert.ok(fs.readFileSync(out).equals(fs.readFileSync(local)), `${dest} reads back exactly`);
  }
}

async function waitUntil<T>(what: string, fn: () => T | undefined, timeoutMs = 60_000, seen: () => string = () => ''): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what} ${seen()}`);
    await sleep(100);
  }
}

test('corrupt fragments on m disks: files still read, scrub reports exactly them, --repair fixes them, a second scrub is clean', async () => {
  await withTmpDir(async (root) => {
    const rng = new Rng();
    // 8 disks for rs:4+2: a disk the errors turn degraded takes no new fragments, so repairs need room elsewhere.
    const { pool, disks } = makePool(root, 8, '--redundancy', 'rs:4+2', '--extent-size', '64k');
    const files = writeFiles(root, rng, 8);
    putAll(pool, files);
    const clean = ok('scrub', pool);
    assert.equal(clean.clean, true);
    assert.equal(clean.fragments.bad, 0);
    assert.equal(clean.extents.checked, ok('status', pool).extents.total, `every extent checked (seed ${rng.seed})`);
    // Inline: every extent of at most 16 KiB, the small file and the short tails of the others.
    const inline = [...files.values()].filter((local) => {
      const tail = fs.statSync(local).size % 65536;
      return tail > 0 && tail <= 16384;
    }).length;
    assert.equal(clean.extents.inline, inline, `the inline extents are counted (seed ${rng.seed})`);

    const ids = diskIds(pool);
    const victims = pickDistinct(rng, disks, 2); // m = 2 disks
    const expected = corrupt(victims, ids, rng, 3);
    assert.ok(expected.size > 0);

    assertFilesRead(pool, root, files);

    const found = fails('EFINDINGS', ['scrub', pool]);
    assert.deepEqual(findingKeys(found), expected, `scrub reports exactly the corrupted fragments (seed ${rng.seed})`);
    assert.ok((found.files as Json[]).every((f) => f.code === 'EDIGEST' && f.repaired === false && f.path.startsWith('/data/')));
    assert.equal(found.fragments.bad, expected.size);
    assert.equal(found.remaining, new Set([...expected].map((k) => k.split('.')[0])).size);
    for (const d of found.perDisk as Json[]) {
      assert.equal(d.counts.EDIGEST, [...expected].filter((k) => k.endsWith(`@${d.diskId}`)).length, `per-disk count of disk ${d.diskId}`);
      assert.equal(d.path, [...ids].find(([, id]) => id === d.diskId)![0]);
    }
    assert.deepEqual(new Set((found.perDisk as Json[]).map((d) => d.diskId)), new Set(victims.map((v) => ids.get(v))));
    const damaged = ok('status', pool).scrub.coverage;
    assert.equal(damaged.unverified, found.remaining, 'damaged extents no longer count as verified');
    assert.ok(damaged.fraction < 1);

    // A dry run reports the same and changes nothing.
    const before = ok('status', pool);
    const dry = fails('EFINDINGS', ['scrub', pool, '--dry-run']);
    assert.deepEqual(findingKeys(dry), expected);
    assert.deepEqual(ok('status', pool).errors, before.errors, 'a dry run counts no errors');

    const repaired = ok('scrub', pool, '--repair');
    assert.equal(repaired.clean, true);
    assert.deepEqual(findingKeys(repaired), expected);
    assert.ok((repaired.files as Json[]).every((f) => f.repaired === true));
    assert.equal(repaired.extents.repaired, found.remaining);

    const second = ok('scrub', pool);
    assert.equal(second.clean, true);
    assert.equal(second.fragments.bad, 0);
    assert.equal(second.files.length, 0);
    assertFilesRead(pool, root, files);
    const status = ok('status', pool);
    assert.equal(status.repairQueue, 0);
    assert.equal(status.scrub.last.job, second.job);
    assert.equal(status.scrub.coverage.fraction, 1);
    assert.equal(status.scrub.coverage.unverified, 0);
  });
});

test('through a mount: corrupt fragments read correct, a scrub through the coordinator reports exactly them and repairs them', async () => {
  await withTmpDir(async (root) => {
    const rng = new Rng();
    const { pool, disks } = makePool(root, 8, '--redundancy', 'rs:4+2', '--extent-size', '64k');
    const files = writeFiles(root, rng, 6);
    putAll(pool, files);
    const ids = diskIds(pool);
    const victims = pickDistinct(rng, disks, 2);
    const expected = corrupt(victims, ids, rng, 2);
    const mnt = path.join(root, 'mnt');
    const c = await startCoordinator(pool, mnt);
    try {
      const found = fails('EFINDINGS', ['scrub', pool]);
      assert.deepEqual(findingKeys(found), expected, `seed ${rng.seed}`);
      for (const [dest, local] of files) {
        assert.ok(fs.readFileSync(path.join(mnt, dest)).equals(fs.readFileSync(local)), `${dest} reads correct through the mount`);
      }
      // The coordinator's monitor starts a rebuild for what the scrub queued: wait until it has
      // repaired every damaged extent, so the --repair pass meets a clean pool and the counts are exact.
      let last: Json = {};
      await waitUntil('the coordinator to repair what the scrub queued', () => {
        const s = ok('status', pool);
        last = s;
        return s.repairQueue === 0 && s.extents.degraded === 0 && (s.jobs as Json[]).length === 0 ? s : undefined;
      }, 60_000, () => `(seed ${rng.seed}; last status: ${JSON.stringify({ q: last.repairQueue, extents: last.extents, jobs: last.jobs, reasons: last.reasons })})`);
      const repair = ok('scrub', pool, '--repair');
      assert.equal(repair.clean, true);
      assert.deepEqual([repair.fragments.bad, repair.extents.damaged, repair.extents.repaired], [0, 0, 0], 'nothing was left to repair');
      const second = ok('scrub', pool);
      assert.equal(second.fragments.bad, 0);
      for (const [dest, local] of files) assert.ok(fs.readFileSync(path.join(mnt, dest)).equals(fs.readFileSync(local)));
      // The coordinator's metrics counted the same findings the scrub reported, and coverage is full.
      const metrics = run(['metrics', pool]).stdout;
      const issues = Number(/^dynamicfs_scrub_issues_total\{code="EDIGEST"\} (\d+)$/m.exec(metrics)?.[1]);
      assert.equal(issues, expected.size, 'the first scrub\'s findings, and none after the repair');
      assert.match(metrics, /^dynamicfs_scrub_runs_total\{result="done"\} 3$/m);
      assert.match(metrics, /^dynamicfs_scrub_verified_ratio 1$/m);
    } finally {
      await stopCoordinator(mnt, c.child);
    }
  });
});

test('a coordinator killed mid-scrub resumes the scrub from its cursor on restart and finishes it', async () => {
  await withTmpDir(async (root) => {
    const rng = new Rng();
    const { pool } = makePool(root, 6, '--redundancy', 'rs:4+2', '--extent-size', '64k');
    const files = new Map<string, string>();
    for (let i = 0; i < 3; i++) {
      const local = path.join(root, `big${i}.bin`);
      fs.writeFileSync(local, rng.bytes(10 * 65536)); // 10 extents each, none inline
      files.set(`/big${i}.bin`, local);
    }
    for (const [dest, local] of files) ok('put', pool, local, dest);
    const total = ok('status', pool).extents.total as number;
    assert.equal(total, 30);
    try {
      // The coordinator SIGKILLs itself after the 10th extent's cursor commit.
      process.env.DYNAMICFS_CRASH_AT = 'scrub-extent:10';
      const starting = startServe(pool);
      delete process.env.DYNAMICFS_CRASH_AT;
      const doomed = await starting;
      // The reply may or may not get out before the coordinator dies: the job id comes from the store.
      dfs('scrub-daemon', pool, 'start', '--intensity', 'high');
      assert.equal(await doomed.exited, 'SIGKILL');

      const after = ok('status', pool).scrub.active;
      const job = after.job as number;
      assert.equal(after.state, 'running', 'the killed coordinator left the job running');
      const doneAtKill = after.extents.checked as number;
      assert.ok(doneAtKill > 0 && doneAtKill < total, `stopped midway (${doneAtKill} of ${total})`);

      const served = await startServe(pool);
      try {
        const last = await waitUntil('the resumed scrub to end', () => {
          const s = ok('scrub-daemon', pool, 'status');
          return s.last?.job === job ? s.last : undefined;
        });
        assert.equal(last.state, 'done');
        assert.equal(last.resumes.length, 1, 'resumed once, from the persisted cursor');
        assert.equal(last.resumes[0].extentsDone, doneAtKill, 'picked up where it stopped, not at 0');
        assert.equal(last.extents.checked, total, 'finished every extent, none twice');
        assert.equal(last.extents.total, total);
        assert.equal(last.fragments.checked, total * 6);
        assert.equal(ok('jobs', pool).jobs.filter((j: Json) => j.kind === 'scrub').length, 1, 'the same job, not a new one');
      } finally {
        await stopChild(served.child);
      }
    } finally {
      delete process.env.DYNAMICFS_CRASH_AT;
      await cleanupPool(pool);
    }
  });
});

test('scrub-daemon: pause, resume, set-intensity and stop change the background job as jobs and status report it', async () => {
  await withTmpDir(async (root) => {
    const rng = new Rng();
    const { pool } = makePool(root, 6, '--redundancy', 'rs:4+2', '--extent-size', '64k');
    putAll(pool, writeFiles(root, rng, 6, 600_000));
    const none = fails('ENOCOORDINATOR', ['scrub-daemon', pool, 'status']);
    assert.match(none.message, /dynamicfs mount|dynamicfs serve/, 'says how to get a coordinator');
    fails('EUSAGE', ['scrub-daemon', pool, 'spin']);
    const served = await startServe(pool);
    const jobOf = (id: number): Json => (ok('jobs', pool).jobs as Json[]).find((j) => j.id === id)!;
    try {
      fails('ENOENT', ['scrub-daemon', pool, 'pause']);
      // 16 KiB/s: far slower than the test, so the job is certainly still running at every step.
      const started = ok('scrub-daemon', pool, 'start', '--intensity', '16K');
      assert.equal(started.changed, true);
      const id = started.active.job as number;
      assert.equal(started.active.background, true);
      assert.equal(jobOf(id).params.rateBytesPerSec, 16384);
      assert.equal(ok('scrub-daemon', pool, 'start').changed, false, 'one background scrub at a time');
      const busy = fails('EBUSY', ['scrub', pool]);
      assert.equal(busy.job, id);

      assert.equal(ok('scrub-daemon', pool, 'pause').active.state, 'paused');
      assert.equal(jobOf(id).state, 'paused');
      assert.equal(ok('scrub-daemon', pool, 'status').active.state, 'paused');

      assert.equal(ok('scrub-daemon', pool, 'resume').active.state, 'running');
      assert.equal(jobOf(id).state, 'running');

      const slower = ok('scrub-daemon', pool, 'set-intensity', '8K');
      assert.equal(slower.active.intensity, 8192);
      assert.equal(jobOf(id).params.rateBytesPerSec, 8192);

      // Named levels are fast enough to finish this pool at once: change them while it is paused.
      ok('scrub-daemon', pool, 'pause');
      const medium = ok('scrub-daemon', pool, 'set-intensity', 'medium');
      assert.equal(medium.active.intensity, 'medium');
      assert.equal(medium.active.rateLimitBytesPerSec, 128 * 1024 * 1024);
      assert.equal(medium.active.state, 'paused', 'the intensity changes, the state does not');
      assert.equal(jobOf(id).params.intensity, 'medium');
      assert.equal(jobOf(id).params.rateBytesPerSec, 128 * 1024 * 1024);
      const low = ok('scrub-daemon', pool, 'set-intensity', 'low');
      assert.equal(low.active.rateLimitBytesPerSec, 32 * 1024 * 1024);
      assert.equal(jobOf(id).params.intensity, 'low');

      assert.equal(ok('scrub-daemon', pool, 'resume').active.state, 'running');
      const last = await waitUntil('the scrub to finish', () => {
        const s = ok('scrub-daemon', pool, 'status');
        return s.last?.job === id ? s.last : undefined;
      });
      assert.equal(last.state, 'done');
      assert.equal(last.extents.checked, last.extents.total);
      assert.equal(jobOf(id).state, 'done');

      const again = ok('scrub-daemon', pool, 'start', '--intensity', '16K').active.job as number;
      const stopped = ok('scrub-daemon', pool, 'stop');
      assert.equal(stopped.active, null);
      assert.equal(stopped.last.job, again);
      assert.equal(stopped.last.state, 'cancelled');
      assert.equal(jobOf(again).state, 'cancelled');
      assert.equal(ok('scrub-daemon', pool, 'stop').changed, false);
    } finally {
      await stopChild(served.child);
      await cleanupPool(pool);
    }
  });
});

test('scrub-schedule persists, and a coordinator starts a continuous scrub by itself', async () => {
  await withTmpDir(async (root) => {
    const rng = new Rng();
    const { pool } = makePool(root, 6, '--redundancy', 'rs:4+2', '--extent-size', '64k');
    putAll(pool, writeFiles(root, rng, 3));
    const shown = ok('scrub-schedule', pool);
    assert.equal(shown.schedule.frequency, 'manual');
    assert.equal(shown.stored, false);
    fails('EINVAL', ['scrub-schedule', pool, '--frequency', 'hourly']);
    fails('EINVAL', ['scrub-schedule', pool, '--intensity', 'turbo']);

    const dry = ok('scrub-schedule', pool, '--frequency', 'continuous', '--dry-run');
    assert.equal(dry.schedule.frequency, 'continuous');
    assert.equal(dry.stored, false);
    assert.equal(ok('scrub-schedule', pool).schedule.frequency, 'manual', 'a dry run stores nothing');

    const set = ok('scrub-schedule', pool, '--frequency', 'continuous', '--intensity', 'medium', '--auto-repair');
    assert.equal(set.stored, true);
    const again = ok('scrub-schedule', pool).schedule;
    assert.equal(again.frequency, 'continuous');
    assert.equal(again.intensity, 'medium');
    assert.equal(again.autoRepair, true);
    const status = ok('status', pool).scrub;
    assert.equal(status.schedule.frequency, 'continuous');
    assert.equal(status.next.due, true);
    assert.equal(ok('scrub-schedule', pool, '--no-auto-repair').schedule.autoRepair, false, 'unset options keep their values');
    assert.equal(ok('scrub-schedule', pool).schedule.intensity, 'medium');

    const served = await startServe(pool);
    try {
      const job = await waitUntil('the coordinator to start a scrub', () => {
        const scrubs = (ok('jobs', pool).jobs as Json[]).filter((j) => j.kind === 'scrub');
        return scrubs[0];
      });
      assert.equal(job.params.background, true);
      assert.equal(job.params.intensity, 'medium');
      assert.equal(job.params.repair, false);
      assert.match(job.params.reason, /continuous/);
      const last = await waitUntil('it to finish', () => ok('scrub-daemon', pool, 'status').last ?? undefined);
      assert.equal(last.state, 'done');
      assert.equal(last.extents.checked, ok('status', pool).extents.total);
    } finally {
      await stopChild(served.child);
      await cleanupPool(pool);
    }
  });
});

test('the scheduler: nightly when the last scrub is older than 24 h, manual never, a stopped one holds (moved clock)', async () => {
  await withTmpDir(async (root) => {
    const { pool } = makePool(root, 6, '--redundancy', 'rs:4+2', '--extent-size', '64k');
    const data = path.join(root, 'f.bin');
    fs.writeFileSync(data, new Rng().bytes(200_000));
    ok('put', pool, data, '/f.bin');
    const engine = openEngine(pool);
    try {
      let now = Date.now();
      const s = new ScrubScheduler(engine, silentLogger(), { now: () => now });
      assert.equal(s.tick(), undefined, 'manual: never');

      engine.meta.transact((tx) => tx.setConfig('scrub', { frequency: 'nightly', intensity: 'low', autoRepair: false, updatedMs: now }));
      const first = s.tick();
      assert.ok(first, 'nightly with no scrub yet: due at once');
      assert.equal(s.tick(), undefined, 'not while one is active');
      const done = await engine.jobs.runToEnd(first);
      assert.equal(done.state, 'done');
      assert.equal(engine.meta.getJob(first)!.params.background, true);

      now = done.finishedMs! + 23 * 3600 * 1000;
      assert.equal(s.tick(), undefined, '23 h after the last scrub: not yet');
      now = done.finishedMs! + 25 * 3600 * 1000;
      const second = s.tick();
      assert.ok(second, '25 h after: due');

      engine.jobs.cancel(second);
      now += 48 * 3600 * 1000;
      assert.equal(s.tick(), undefined, 'an operator-stopped background scrub holds the schedule');
      engine.meta.transact((tx) => tx.setConfig('scrub', { frequency: 'nightly', intensity: 'low', autoRepair: false, updatedMs: Date.now() + 1 }));
      assert.ok(s.tick(), 'a new schedule releases it');
    } finally {
      await engine.close();
    }
  });
});

test('scrub arguments are checked before anything runs', async () => {
  await withTmpDir(async (root) => {
    const { pool } = makePool(root, 6);
    fails('EINVAL', ['scrub', pool, '--intensity', 'ludicrous']);
    const r = dfs('scrub', pool, '--intensity', '64M');
    assert.equal(r.code, 0, r.stdout);
    assert.equal(r.json!.intensity, 64 * 1024 * 1024);
    assert.equal(r.json!.extents.total, 0);
    assert.equal(r.json!.coverage.fraction, 1);
  });
});
