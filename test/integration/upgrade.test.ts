/**
 * Pool format and features (pool/features.ts) and `dynamicfs upgrade` (engine/upgrade.ts)
 * on pools written by older DynamicFS (test/fixtures): status shows format 1 with every
 * feature disabled, a dry run changes nothing, the upgrade (offline, through a mount's
 * coordinator, resumed after a SIGKILL by the CLI or by a coordinator) leaves format 2
 * with the features recorded, metadata copies on every disk and packs in use, every file
 * byte-identical and `check` clean; a failure before the final commit rolls back to the
 * pool as it was, and so does a cancel (`jobs --cancel`: through a coordinator while the
 * upgrade is held before its final commit, or offline of one a SIGKILL left), while a
 * cancel after the final commit is refused; a coordinator killed inside its upgrade resumes
 * it when it starts again. A format-1 pool whose disks hold copies already (pre-flag code that had
 * them) keeps every feature, and its upgrade rewrites (or, rolled back, restores) the heads.
 * A pool of a newer format, or with an active feature unknown here, is refused with
 * EFORMAT (by `import` too); an unknown feature only enabled is not.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { sealJson } from '../../src/pool/durable-file';
import { BIN, dfsWith, fails, makePool, ok, type Json } from '../helpers/cli';
import { startServe, stopChild } from '../helpers/daemon';
import { writeCommitted, writeSynced } from '../helpers/files';
import { FIXTURE_FORMATS, fixtureDisks, patterned, readsBack, withFixture } from '../helpers/fixtures';
import { startCoordinator, stopCoordinator, waitFor } from '../helpers/mount';
import { withTmpDir } from '../helpers/tmp';

const FEATURES = ['metadata-copies', 'packed-extents', 'intent-log'];

/** `dynamicfs ...args --json` with extra environment (fault and crash points). */
const runWith = (env: Record<string, string>, ...args: string[]) => dfsWith(args, { env });

/** The same, not waiting: resolves when the CLI exits. */
function runLater(env: Record<string, string>, ...args: string[]): Promise<{ status: number | null; json: Json | undefined; out: string }> {
  const child = spawn(process.execPath, [BIN, ...args, '--json'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let out = '';
  let err = '';
  child.stdout.on('data', (b: Buffer) => { out += b.toString(); });
  child.stderr.on('data', (b: Buffer) => { err += b.toString(); });
  return new Promise((resolve) => child.once('exit', (status) => {
    let json: Json | undefined;
    try {
      json = JSON.parse(out) as Json;
    } catch {
      json = undefined;
    }
    resolve({ status, json, out: out + err });
  }));
}

function featureStates(status: Json): Record<string, string> {
  return Object.fromEntries((status.format.features as { name: string; state: string }[]).map((f) => [f.name, f.state]));
}

function hasIntentLogFile(disk: string): boolean {
  return fs.existsSync(path.join(disk, 'intent.log'));
}

function hasArea(disk: string): boolean {
  return fs.existsSync(path.join(disk, 'meta'));
}

/** Status of a fixture as older code left it: format 1, nothing enabled, no copies on the disks. */
function assertOldFormat(pool: string, root: string): void {
  const s = ok('status', pool);
  assert.equal(s.format.version, 1);
  assert.equal(s.format.current, 2);
  assert.equal(s.format.upgradable, true);
  assert.deepEqual(featureStates(s), { 'metadata-copies': 'disabled', 'packed-extents': 'disabled', 'intent-log': 'disabled' });
  assert.deepEqual(s.metaCopies, { required: 0, current: 0, disks: [] });
  assert.deepEqual(fixtureDisks(root).map(hasArea), Array(6).fill(false));
}

/** Status after the upgrade: format 2, every feature recorded (copies active), a current copy on every disk. */
function assertUpgraded(pool: string, root: string, packs: 'enabled' | 'active' = 'enabled'): void {
  const s = ok('status', pool);
  assert.equal(s.format.version, 2);
  assert.equal(s.format.upgradable, false);
  assert.deepEqual(featureStates(s), { 'metadata-copies': 'active', 'packed-extents': packs, 'intent-log': 'enabled' });
  assert.equal(s.metaCopies.current, 6);
  assert.equal(s.metaCopies.required, 3);
  assert.deepEqual(fixtureDisks(root).map(hasArea), Array(6).fill(true));
  const sb = JSON.parse(fs.readFileSync(path.join(pool, 'pool.json'), 'utf8')) as Json;
  assert.equal(sb.format, 2);
  assert.deepEqual(sb.features, { 'metadata-copies': 'active', 'packed-extents': packs, 'intent-log': 'enabled' });
}

function assertCheckClean(pool: string): void {
  const c = ok('check', pool);
  assert.deepEqual(c.problems, []);
}

function upgradeJobs(pool: string): Json[] {
  return (ok('jobs', pool).jobs as Json[]).filter((j) => j.kind === 'upgrade');
}

for (const format of FIXTURE_FORMATS) {
  test(`${format} pool: status shows format 1, --dry-run changes nothing, upgrade completes to format 2 and reads back`, async () => {
    await withFixture(format, (pool, root) => withTmpDir((dir) => {
      assertOldFormat(pool, root);
      const sbBefore = fs.readFileSync(path.join(pool, 'pool.json'));

      const dry = ok('upgrade', pool, '--dry-run');
      assert.equal(dry.dryRun, true);
      assert.equal(dry.state, 'not-started');
      assert.equal(dry.job, null);
      assert.deepEqual(dry.plan.enable, FEATURES);
      assert.deepEqual(dry.plan.from, { format: 1, features: { 'metadata-copies': 'disabled', 'packed-extents': 'disabled', 'intent-log': 'disabled' } });
      assert.deepEqual(dry.plan.to, { format: 2, features: { 'metadata-copies': 'active', 'packed-extents': 'enabled', 'intent-log': 'enabled' } });
      assert.equal(dry.plan.work.length, 2);
      assert.match(dry.plan.work[0], /checkpoint of the metadata \(generation \d+\) to each of the 6 disks/);
      assert.ok(fs.readFileSync(path.join(pool, 'pool.json')).equals(sbBefore), 'a dry run leaves pool.json as it was');
      assertOldFormat(pool, root);
      assert.deepEqual(upgradeJobs(pool), []);

      const up = ok('upgrade', pool);
      assert.equal(up.state, 'completed');
      assert.equal(up.job.state, 'done');
      assert.equal(up.job.progress.upgrade, 'completed');
      assert.equal(up.job.progress.disksDone, 6);
      assertUpgraded(pool, root);
      assert.deepEqual(upgradeJobs(pool).map((j) => [j.state, j.progress.upgrade]), [['done', 'completed']]);
      readsBack(pool, format, dir);
      assertCheckClean(pool);
      // An audited action (monitor-group members may not run it).
      const audit = fs.readFileSync(path.join(pool, 'run', 'audit.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Json);
      assert.deepEqual(audit.filter((a) => a.op === 'upgrade').map((a) => [a.args.dryRun, a.result]), [[true, 'ok'], [false, 'ok']]);

      // Nothing left to do: no second job.
      const again = ok('upgrade', pool);
      assert.equal(again.state, 'completed');
      assert.equal(again.plan.upToDate, true);
      assert.equal(again.job, null);
      assert.equal(upgradeJobs(pool).length, 1);

      if (format === 'format4') {
        // The copies the upgrade wrote are real: the pool directory, lost, comes back from its disks with its format.
        fs.rmSync(pool, { recursive: true, force: true });
        const imp = ok('import', pool, ...fixtureDisks(root));
        assert.equal(imp.disks.length, 6);
        assertUpgraded(pool, root);
        readsBack(pool, format, dir);
      }
    }));
  });
}

test('format3 pool: a failure before the final commit rolls back, leaving the pool exactly as it was', async () => {
  await withFixture('format3', (pool, root) => withTmpDir((dir) => {
    assertOldFormat(pool, root); // this first open adds pool.json's diskPaths (as any open of a format-1 pool does)
    const sbBefore = fs.readFileSync(path.join(pool, 'pool.json'));
    const listing = (d: string): string[] => fs.readdirSync(d).sort();
    const disksBefore = fixtureDisks(root).map(listing);

    const r = runWith({ DYNAMICFS_FAIL_AT: 'upgrade-before-commit' }, 'upgrade', pool);
    assert.equal(r.status, 1, r.out);
    assert.equal(r.json?.ok, false);
    const err = r.json!.error as Json;
    assert.equal(err.code, 'EJOBFAILED');
    assert.match(err.message, /^upgrade rolled back before its final commit: injected failure at upgrade-before-commit .*the pool is as it was \(format 1\)/);
    assert.equal(err.upgrade.state, 'rolled-back');
    assert.equal(err.upgrade.job.state, 'failed');
    assert.equal(err.upgrade.job.progress.disksDone, 6, 'the copies were written before the failure');

    assert.ok(fs.readFileSync(path.join(pool, 'pool.json')).equals(sbBefore), 'pool.json byte-identical');
    assert.deepEqual(fixtureDisks(root).map(listing), disksBefore, 'the copies written are gone from every disk');
    assertOldFormat(pool, root);
    assert.deepEqual(upgradeJobs(pool).map((j) => [j.state, j.progress.upgrade]), [['failed', 'rolled-back']]);
    readsBack(pool, 'format3', dir);
    assertCheckClean(pool);
  }));
});

test('format1 pool: SIGKILL before the final commit, then `upgrade` again resumes the same job to completion', async () => {
  await withFixture('format1', (pool, root) => withTmpDir((dir) => {
    assertOldFormat(pool, root);
    const r = runWith({ DYNAMICFS_CRASH_AT: 'upgrade-before-commit' }, 'upgrade', pool);
    assert.equal(r.signal, 'SIGKILL', r.out);
    // Killed between the copies and pool.json: still format 1, the copies are the interrupted job's, not the pool's.
    const s = ok('status', pool);
    assert.equal(s.format.version, 1);
    assert.deepEqual(featureStates(s), { 'metadata-copies': 'disabled', 'packed-extents': 'disabled', 'intent-log': 'disabled' });
    const left = upgradeJobs(pool);
    assert.deepEqual(left.map((j) => [j.state, j.progress.upgrade]), [['running', 'in-progress']]);
    assert.equal(ok('upgrade', pool, '--dry-run').state, 'in-progress');

    const up = ok('upgrade', pool);
    assert.equal(up.state, 'completed');
    assert.equal(up.job.id, left[0]!.id, 'the interrupted job resumed, no new one');
    assertUpgraded(pool, root);
    readsBack(pool, 'format1', dir);
    assertCheckClean(pool);
  }));
});

/** The upgrade events of request `req`: [kind, job state, upgrade state, audit result] each. */
function upgradeEvents(pool: string, req: string): [string, string | null, string | null, string | null][] {
  return (ok('events', pool, '--request', req).events as Json[]).map((e) => [e.kind, e.details.state ?? null, e.details.upgrade ?? null, e.details.result ?? null]);
}

test('format3 pool through a coordinator: cancelled while held before its final commit, the upgrade rolls back to the pool as it was', async () => {
  await withFixture('format3', async (pool, root) => {
    assertOldFormat(pool, root);
    const sbBefore = fs.readFileSync(path.join(pool, 'pool.json'));
    const listing = (d: string): string[] => fs.readdirSync(d).sort();
    const disksBefore = fixtureDisks(root).map(listing);
    const hold = path.join(root, 'hold');
    const served = await startServe(pool, 30_000, { DYNAMICFS_HOLD_AT: `upgrade-before-commit:${hold}` });
    let id: number;
    try {
      const up = runLater({}, 'upgrade', pool, '--request-id', 'up-cancel');
      await waitFor(() => fs.existsSync(hold), 30_000, 'the upgrade to reach its final commit');
      const [held] = upgradeJobs(pool);
      id = held!.id as number;
      assert.deepEqual([held!.state, held!.progress.upgrade, held!.progress.disksDone], ['running', 'in-progress', 6]);
      assert.deepEqual(fixtureDisks(root).map(hasArea), Array(6).fill(true), 'every disk has its copy: the work before the commit is done');

      const job = (ok('jobs', pool, '--cancel', String(id)).jobs as Json[]).find((j) => j.id === id)!;
      assert.deepEqual([job.state, job.progress.upgrade, job.progress.rollbackCause], ['cancelled', 'rolled-back', 'cancelled'], 'jobs --cancel answers once it rolled back');
      assert.equal(fs.existsSync(hold), false, 'the hold ended with the cancel');
      const r = await up;
      assert.equal(r.status, 1, r.out);
      assert.equal(r.json?.error?.code, 'ECANCELED', r.out);
      assert.equal(r.json!.error.message, `upgrade job ${id} was cancelled before its final commit and rolled back: the pool is as it was (format 1); `
        + `run \`dynamicfs upgrade ${pool}\` to start again`);
      assert.equal(r.json!.error.upgrade.state, 'rolled-back');

      assert.ok(fs.readFileSync(path.join(pool, 'pool.json')).equals(sbBefore), 'pool.json byte-identical');
      assert.deepEqual(fixtureDisks(root).map(listing), disksBefore, 'the copies written are gone from every disk');
      assert.equal(ok('status', pool).format.version, 1);
      assert.deepEqual(upgradeEvents(pool, 'up-cancel'), [
        ['job', 'queued', null, null], ['job', 'running', null, null], ['job', null, 'rolled-back', null], ['job', 'cancelled', null, null],
        ['audit', null, null, 'ECANCELED'],
      ]);
      const rolled = (ok('events', pool, '--request', 'up-cancel').events as Json[])[2]!;
      assert.equal(rolled.message, `upgrade job ${id} rolled back before its final commit (cancelled): the pool is as it was, pool.json records format 1`);
      assert.equal(fails('EINVAL', ['jobs', pool, '--cancel', String(id)]).message, `job ${id} is cancelled; only a queued, running or paused job can be cancelled`);
    } finally {
      await stopChild(served.child);
    }
    assertOldFormat(pool, root);
    await withTmpDir((dir) => readsBack(pool, 'format3', dir));
    assertCheckClean(pool);
    // Started again, it completes; a finished upgrade cannot be cancelled.
    const again = ok('upgrade', pool);
    assert.equal(again.state, 'completed');
    assertUpgraded(pool, root);
    assert.equal(fails('EINVAL', ['jobs', pool, '--cancel', String(again.job.id)]).message,
      `job ${again.job.id as number} is done; only a queued, running or paused job can be cancelled`);
  });
});

test('format1 pool offline: cancelling an upgrade a SIGKILL left rolls it back; after its final commit a cancel is refused and `upgrade` finishes it', async () => {
  await withFixture('format1', (pool, root) => withTmpDir((dir) => {
    assertOldFormat(pool, root);
    const sbBefore = fs.readFileSync(path.join(pool, 'pool.json'));
    let r = runWith({ DYNAMICFS_CRASH_AT: 'upgrade-before-commit' }, 'upgrade', pool);
    assert.equal(r.signal, 'SIGKILL', r.out);
    assert.deepEqual(fixtureDisks(root).map(hasArea), Array(6).fill(true), 'the killed run left its copies');
    const [left] = upgradeJobs(pool);
    const job = (ok('jobs', pool, '--cancel', String(left!.id)).jobs as Json[]).find((j) => j.id === left!.id)!;
    assert.deepEqual([job.state, job.progress.upgrade], ['cancelled', 'rolled-back']);
    assert.ok(fs.readFileSync(path.join(pool, 'pool.json')).equals(sbBefore), 'pool.json byte-identical');
    assertOldFormat(pool, root); // no area left on any disk

    r = runWith({ DYNAMICFS_CRASH_AT: 'upgrade-after-commit' }, 'upgrade', pool);
    assert.equal(r.signal, 'SIGKILL', r.out);
    const second = upgradeJobs(pool).at(-1)!;
    assert.deepEqual([second.state, second.progress.upgrade], ['running', 'in-progress']);
    assert.equal(fails('EINVAL', ['jobs', pool, '--cancel', String(second.id)]).message, `upgrade job ${second.id as number} cannot be cancelled: `
      + `its final commit is made (pool.json records format 2); run \`dynamicfs upgrade ${pool}\` to finish it`);
    const up = ok('upgrade', pool);
    assert.deepEqual([up.state, up.job.id], ['completed', second.id]);
    assertUpgraded(pool, root);
    readsBack(pool, 'format1', dir);
    assertCheckClean(pool);
  }));
});

test('format2 pool: a coordinator killed inside its upgrade, before the group commits, resumes the same job when it starts again', async () => {
  await withFixture('format2', async (pool, root) => {
    assertOldFormat(pool, root);
    let served = await startServe(pool, 30_000, { DYNAMICFS_CRASH_AT: 'upgrade-before-commit' });
    try {
      const r = await runLater({}, 'upgrade', pool);
      assert.notEqual(r.status, 0, r.out);
      assert.equal(await served.exited, 'SIGKILL');
      served = await startServe(pool);
      await waitFor(() => upgradeJobs(pool)[0]?.state === 'done', 30_000, 'the resumed upgrade');
      assert.deepEqual(upgradeJobs(pool).map((j) => [j.state, j.progress.upgrade]), [['done', 'completed']], 'the same job, resumed');
      assertUpgraded(pool, root);
    } finally {
      await stopChild(served.child);
    }
    assertCheckClean(pool);
    await withTmpDir((dir) => readsBack(pool, 'format2', dir));
  });
});

/** Write a 20,000-byte file through the mount in a group commit of its own; its extent's scheme as `stat` shows it. */
function smallFileScheme(pool: string, mnt: string, name: string, bytes: Buffer): string {
  writeCommitted(path.join(mnt, name), bytes);
  const ext = ok('stat', pool, `/${name}`).extents as { scheme: string }[];
  assert.equal(ext.length, 1);
  return ext[0]!.scheme;
}

test('format4 pool through a mount: no packs before the upgrade; SIGKILLed upgrade resumed by the coordinator; packs after', async () => {
  await withFixture('format4', async (pool, root) => {
    const mnt = path.join(root, 'mnt');
    const a = patterned(20000, (i) => (i * 5) % 249);
    const b = patterned(20000, (i) => (i * 11) % 241);
    let c = await startCoordinator(pool, mnt);
    try {
      // Packs are disabled on a format-1 pool: a small file gets fragments of its own, as older code wrote it.
      assert.equal(smallFileScheme(pool, mnt, 'a.bin', a), 'rs');
      await stopCoordinator(mnt, c.child);
      const r = runWith({ DYNAMICFS_CRASH_AT: 'upgrade-before-commit' }, 'upgrade', pool);
      assert.equal(r.signal, 'SIGKILL', r.out);
      assert.equal(ok('status', pool).format.version, 1);
      // The coordinator resumes the upgrade job left running.
      c = await startCoordinator(pool, mnt);
      await waitFor(() => upgradeJobs(pool)[0]?.state === 'done', 20_000, 'the resumed upgrade');
      assert.equal(upgradeJobs(pool)[0]!.progress.upgrade, 'completed');
      assert.equal(smallFileScheme(pool, mnt, 'b.bin', b), 'packed');
      assertUpgraded(pool, root, 'active');
    } finally {
      await stopCoordinator(mnt, c.child);
    }
    await withTmpDir((dir) => {
      assertUpgraded(pool, root, 'active');
      readsBack(pool, 'format4', dir);
      for (const [name, want] of [['/a.bin', a], ['/b.bin', b]] as const) {
        ok('get', pool, name, path.join(dir, 'x'));
        assert.ok(fs.readFileSync(path.join(dir, 'x')).equals(want), `${name} reads back`);
      }
      assertCheckClean(pool);
    });
  });
});

test('format2 pool: upgrade through a running coordinator (online), packs and the intent log used at once', async () => {
  await withFixture('format2', async (pool, root) => {
    const mnt = path.join(root, 'mnt');
    const c = await startCoordinator(pool, mnt);
    try {
      assert.equal(smallFileScheme(pool, mnt, 'a.bin', patterned(20000, (i) => i % 7)), 'rs');
      // No intent log on a format-1 pool: an fsync commits the group.
      writeSynced(path.join(mnt, 'c.bin'), patterned(5000, (i) => i % 5));
      assert.deepEqual(fixtureDisks(root).map(hasIntentLogFile), Array(6).fill(false));
      const up = ok('upgrade', pool);
      assert.equal(up.state, 'completed');
      assert.equal(up.job.state, 'done');
      assertUpgraded(pool, root);
      assert.equal(smallFileScheme(pool, mnt, 'b.bin', patterned(20000, (i) => i % 9)), 'packed');
      // Upgraded, an fsync of a new file goes to the intent log of m+1 = 3 disks.
      writeSynced(path.join(mnt, 'd.bin'), patterned(5000, (i) => i % 3));
      assert.equal(fixtureDisks(root).filter(hasIntentLogFile).length, 3);
      assert.deepEqual(featureStates(ok('status', pool)), { 'metadata-copies': 'active', 'packed-extents': 'active', 'intent-log': 'active' });
    } finally {
      await stopCoordinator(mnt, c.child);
    }
    assertCheckClean(pool);
    await withTmpDir((dir) => readsBack(pool, 'format2', dir));
  });
});

/** Rewrite pool.json's sealed body with `edit` applied (as a newer DynamicFS could have written it). */
function editSuperblock(pool: string, edit: (body: Json) => void): void {
  const file = path.join(pool, 'pool.json');
  const { checksum: _, ...body } = JSON.parse(fs.readFileSync(file, 'utf8')) as Json;
  edit(body);
  fs.writeFileSync(file, sealJson(body));
}

test('a fresh pool is format 2 with every feature; a newer format or an unknown active feature is refused, an unknown enabled one is not', async () => {
  await withTmpDir((dir) => {
    const pool = path.join(dir, 'pool');
    ok('init', pool);
    let s = ok('status', pool);
    assert.equal(s.format.version, 2);
    assert.equal(s.format.upgradable, false);
    assert.deepEqual(featureStates(s), { 'metadata-copies': 'enabled', 'packed-extents': 'enabled', 'intent-log': 'enabled' });
    fs.mkdirSync(path.join(dir, 'd0'));
    ok('add-disk', pool, path.join(dir, 'd0'));
    // The first disk's copy makes the feature active, recorded in pool.json before the copy is written.
    assert.equal(featureStates(ok('status', pool))['metadata-copies'], 'active');
    assert.equal((JSON.parse(fs.readFileSync(path.join(pool, 'pool.json'), 'utf8')) as Json).features['metadata-copies'], 'active');
    assert.equal(ok('upgrade', pool, '--dry-run').plan.upToDate, true);

    const original = fs.readFileSync(path.join(pool, 'pool.json'));
    editSuperblock(pool, (b) => { b.format = 3; });
    let err = fails('EFORMAT', ['status', pool]);
    assert.match(err.message, /the pool has format 3, newer than this DynamicFS knows \(formats 1 to 2\); open it with a newer DynamicFS/);
    assert.equal(err.format, 3);

    fs.writeFileSync(path.join(pool, 'pool.json'), original);
    editSuperblock(pool, (b) => { b.features['zstd-fragments'] = 'active'; });
    const edited = fs.readFileSync(path.join(pool, 'pool.json'));
    err = fails('EFORMAT', ['status', pool]);
    assert.match(err.message, /the pool uses feature "zstd-fragments" \(active\), which this DynamicFS does not know; open it with a newer DynamicFS/);
    assert.equal(err.feature, 'zstd-fragments');
    fails('EFORMAT', ['upgrade', pool]);
    assert.ok(fs.readFileSync(path.join(pool, 'pool.json')).equals(edited), 'a refused pool is not written');

    fs.writeFileSync(path.join(pool, 'pool.json'), original);
    editSuperblock(pool, (b) => { b.features['zstd-fragments'] = 'enabled'; });
    s = ok('status', pool);
    assert.deepEqual(s.format.features.at(-1), { name: 'zstd-fragments', state: 'enabled', known: false, sinceFormat: null,
      description: 'unknown to this DynamicFS (recorded by a newer one)' });
    assert.equal(ok('upgrade', pool, '--dry-run').plan.upToDate, true);
    // Kept when this code rewrites pool.json (a second disk changes diskPaths).
    fs.mkdirSync(path.join(dir, 'd1'));
    ok('add-disk', pool, path.join(dir, 'd1'));
    assert.equal((JSON.parse(fs.readFileSync(path.join(pool, 'pool.json'), 'utf8')) as Json).features['zstd-fragments'], 'enabled');
  });
});

/** Rewrite a disk's sealed metadata head with `edit` applied to its superblock. */
function editHeadSuperblock(disk: string, edit: (sb: Json) => void): void {
  const file = path.join(disk, 'meta', 'head');
  const { checksum: _, ...body } = JSON.parse(fs.readFileSync(file, 'utf8')) as Json;
  edit(body.superblock);
  fs.writeFileSync(file, sealJson(body));
}

function headSuperblock(disk: string): Json {
  return (JSON.parse(fs.readFileSync(path.join(disk, 'meta', 'head'), 'utf8')) as Json).superblock;
}

test('a format-1 pool whose disks already hold copies (recent pre-flag code) keeps every feature; its upgrade rewrites the heads, and rolls them back', async () => {
  await withTmpDir((dir) => {
    const { pool, disks } = makePool(dir, 2, '--redundancy', 'mirror:2');
    const data = patterned(30000, (i) => (i * 3) % 250);
    fs.writeFileSync(path.join(dir, 'f'), data);
    ok('put', pool, path.join(dir, 'f'), '/f');
    // Made as pre-flag code made it: pool.json and every head at format 1, no features.
    editSuperblock(pool, (b) => { b.format = 1; delete b.features; });
    for (const d of disks) editHeadSuperblock(d, (sb) => { sb.format = 1; delete sb.features; });

    let s = ok('status', pool);
    assert.equal(s.format.version, 1);
    assert.equal(s.format.upgradable, true);
    assert.deepEqual(featureStates(s), { 'metadata-copies': 'active', 'packed-extents': 'enabled', 'intent-log': 'enabled' });
    assert.equal(s.metaCopies.current, 2, 'its copies are kept up to date as before');
    const dry = ok('upgrade', pool, '--dry-run');
    assert.deepEqual(dry.plan.enable, []);
    assert.deepEqual(dry.plan.work, ['rewrite the metadata copy on each of the 2 disks with a head recording format 2',
      'record format 2 and the features (metadata-copies active, packed-extents enabled, intent-log enabled) in pool.json: the final commit']);

    // Rolled back: the copies stay (the pool kept them before), their heads back at format 1.
    const sbBefore = fs.readFileSync(path.join(pool, 'pool.json'));
    const r = runWith({ DYNAMICFS_FAIL_AT: 'upgrade-before-commit' }, 'upgrade', pool);
    assert.equal(r.json?.error?.upgrade?.state, 'rolled-back', r.out);
    assert.ok(fs.readFileSync(path.join(pool, 'pool.json')).equals(sbBefore));
    assert.deepEqual(disks.map((d) => [headSuperblock(d).format, headSuperblock(d).features]), [[1, undefined], [1, undefined]]);
    s = ok('status', pool);
    assert.equal(s.format.version, 1);
    assert.equal(s.metaCopies.current, 2);

    const up = ok('upgrade', pool);
    assert.equal(up.state, 'completed');
    const features = { 'metadata-copies': 'active', 'packed-extents': 'enabled', 'intent-log': 'enabled' };
    assert.deepEqual(disks.map((d) => [headSuperblock(d).format, headSuperblock(d).features]), [[2, features], [2, features]]);
    s = ok('status', pool);
    assert.equal(s.format.version, 2);
    assert.deepEqual(featureStates(s), features);
    ok('get', pool, '/f', path.join(dir, 'out'));
    assert.ok(fs.readFileSync(path.join(dir, 'out')).equals(data));
    assertCheckClean(pool);

    // import reads the format from a head too: a newer one is refused, and nothing is created.
    editHeadSuperblock(disks[0]!, (sb) => { sb.format = 3; });
    editHeadSuperblock(disks[1]!, (sb) => { sb.format = 3; });
    const err = fails('EFORMAT', ['import', path.join(dir, 'imported'), ...disks]);
    assert.match(err.message, /the pool has format 3, newer than this DynamicFS knows/);
    assert.equal(fs.existsSync(path.join(dir, 'imported')), false);
  });
});
