/**
 * Tier policies and the migration job: tier-policy's presets set the pool's tier settings
 * or a directory's user.dynamicfs.tier; `tier migrate` moves extents idle past their
 * demoteAfter (test-sized: 1 s) from the hot disks to the cold ones, re-encoded to the
 * cold tier's redundancy, and leaves a directory whose policy has no background tier
 * alone; everything reads back. A coordinator SIGKILLed mid-migration (after an extent's
 * new placement is committed, before its old copy is deleted) is restarted: every file
 * reads back, the job resumes and finishes, and the old copy left behind is collected. A
 * coordinator left alone (tier.migrateEvery test-sized) migrates an idle file by itself.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { fails, ok, run, type Json } from '../helpers/cli';
import { cleanupPool, startServe, stopChild } from '../helpers/daemon';
import { fragmentFiles } from '../helpers/files';
import { isMounted, startCoordinator, stopCoordinator, waitFor } from '../helpers/mount';
import { Rng } from '../helpers/random';
import { rmrf, tmpDir, withTmpDir } from '../helpers/tmp';

/** rs:2+1 pool: two hot disks (mirror:2 there), three cold ones (rs:2+1 there). */
function hotColdPool(root: string): { pool: string; hot: string[]; cold: string[] } {
  const pool = path.join(root, 'pool');
  ok('init', pool, '--redundancy', 'rs:2+1');
  const add = (name: string, tier: string) => {
    const d = path.join(root, name);
    fs.mkdirSync(d);
    ok('add-disk', pool, d, '--tier', tier);
    return d;
  };
  const hot = ['hot1', 'hot2'].map((n) => add(n, 'hot'));
  const cold = ['cold1', 'cold2', 'cold3'].map((n) => add(n, 'cold'));
  ok('config', pool, '--set', 'tier.hot.redundancy=mirror:2', 'tier.cold.redundancy=rs:2+1');
  return { pool, hot, cold };
}

/** The names (EXTENT.INDEX) of the fragment files under the disks' frags/, sorted (helpers/files.ts counts them; these tests name them). */
function fragmentNames(disks: string[]): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(path.join(d, e.name));
      else out.push(e.name);
    }
  };
  for (const d of disks) if (fs.existsSync(path.join(d, 'frags'))) walk(path.join(d, 'frags'));
  return out.sort();
}

/** The one extent of a file, by stat: id, redundancy and fragment disk paths. */
function extentOf(pool: string, file: string): { id: string; scheme: string; k: number; m: number; disks: string[] } {
  const e = ok('stat', pool, file).extents;
  assert.equal(e.length, 1, file);
  return { id: e[0].id, scheme: e[0].scheme, k: e[0].k, m: e[0].m, disks: e[0].fragments.map((f: Json) => f.diskPath).sort() };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('tier-policy presets and tier migrate: idle extents move hot → cold re-encoded, a performance directory stays, a file read often comes back hot', async () => {
  await withTmpDir(async (root) => {
    const { pool, hot, cold } = hotColdPool(root);
    const list = ok('tier-policy', pool);
    assert.deepEqual(list.presets.map((p: Json) => [p.name, p.text]), [
      ['performance', 'foreground=hot,background=none,promote=on'],
      ['balanced', 'foreground=hot,background=warm,demoteAfter=604800s,promote=on'],
      ['aggressive', 'foreground=hot,background=cold,demoteAfter=86400s,promote=off']]);
    assert.equal(list.applied, null);
    const dry = ok('tier-policy', pool, 'aggressive', '--dry-run');
    assert.deepEqual(dry.applied.changes.map((c: Json) => [c.key, c.from, c.to]),
      [['tier.background', null, 'cold'], ['tier.demoteAfterSeconds', 2_592_000, 86_400]]);
    const tierSettings = () => (ok('config', pool).settings as Json[]).filter((s) => ['tier.foreground', 'tier.background', 'tier.demoteAfterSeconds'].includes(s.key)).map((s) => s.value);
    assert.deepEqual(tierSettings(), ['hot', null, 2_592_000], 'a dry run changes nothing');
    ok('tier-policy', pool, 'aggressive');
    assert.deepEqual(tierSettings(), ['hot', 'cold', 86_400]);
    ok('mkdir', pool, '/keep');
    assert.deepEqual(ok('tier-policy', pool, 'performance', '--path', '/keep').applied,
      { preset: 'performance', dryRun: false, on: 'path', path: '/keep', value: 'foreground=hot,background=none,promote=on' });
    const bad = spawnSync(process.execPath, [path.join(__dirname, '../../../bin/dynamicfs.js'), 'tier-policy', pool, 'frugal', '--json'], { encoding: 'utf8' });
    assert.equal(bad.status, 1);
    assert.equal(JSON.parse(bad.stdout).error.code, 'EINVAL');
    ok('config', pool, '--set', 'tier.demoteAfterSeconds=1'); // test-sized

    const rng = new Rng(1721);
    const files = new Map<string, Buffer>([['/a', rng.bytes(300_000)], ['/b', rng.bytes(600_000)], ['/keep/k', rng.bytes(300_000)]]);
    for (const [name, bytes] of files) {
      const src = path.join(root, 'src');
      fs.writeFileSync(src, bytes);
      ok('put', pool, src, name);
    }
    for (const name of files.keys()) assert.deepEqual(extentOf(pool, name).disks, hot, `${name} is written hot`);
    await sleep(1500); // past demoteAfter: nothing has read them since
    const before = ok('tier', 'status', pool);
    assert.deepEqual(before.tiers.map((t: Json) => [t.tier, t.extents, t.pendingMoveExtents, t.pendingMoveBytes]),
      [['hot', 3, 2, 900_000], ['warm', 0, 0, 0], ['cold', 0, 0, 0]], '/a and /b are due; /keep/k has no background tier');

    const run = ok('tier', 'migrate', pool);
    assert.equal(run.job.kind, 'tier-migrate');
    assert.equal(run.job.state, 'done');
    assert.deepEqual([run.job.progress.extentsTotal, run.job.progress.moved, run.job.progress.skipped], [2, 2, 0]);
    for (const name of ['/a', '/b']) {
      const e = extentOf(pool, name);
      assert.deepEqual([e.scheme, e.k, e.m], ['rs', 2, 1], `${name} re-encoded to the cold tier's redundancy`);
      assert.deepEqual(e.disks, cold);
    }
    const k = extentOf(pool, '/keep/k');
    assert.deepEqual([k.scheme, k.disks], ['mirror', hot]);
    assert.deepEqual(fragmentNames(hot), [`${k.id}.0`, `${k.id}.1`], 'the old copies are deleted: only /keep/k is left hot');
    // From here on: promotion on, the heat classifier's interval 12 s (each extent's first starts at its first read, below),
    // tier.promoteReads 4 (the default).
    ok('config', pool, '--set', 'tier.demoteAfterSeconds=3600', 'tier.promote=true', 'tier.promoteWindowSeconds=12');
    const firstRead = Date.now();
    for (const [name, bytes] of files) { // /a first: its interval begins
      ok('get', pool, name, path.join(root, 'out'));
      assert.ok(fs.readFileSync(path.join(root, 'out')).equals(bytes), name);
    }
    const after = ok('tier', 'status', pool);
    assert.deepEqual(after.tiers.map((t: Json) => [t.tier, t.extents, t.pendingMoveExtents]), [['hot', 1, 0], ['warm', 0, 0], ['cold', 2, 0]]);
    assert.deepEqual([after.compliance.checked, after.compliance.nonCompliant], [3, 0], 'on the background tier is where the policy puts them');
    assert.equal(ok('status', pool).extents.healthy, 3);

    // Promotion: /a read twice more, a second apart (reads closer than that are one access), within the interval its
    // read above opened: once that has ended, the HMM (tier.classifier's default) calls its 3 reads hot, the decayed
    // count (4 needed) does not; /b and /keep/k, read once, are hot to neither. Hot, /a moves back to the hot tier, re-encoded.
    for (let i = 0; i < 2; i++) {
      await sleep(1050);
      ok('get', pool, '/a', path.join(root, 'out'));
    }
    await sleep(Math.max(0, firstRead + 12_000 - Date.now()));
    const heat = () => ok('tier', 'status', pool).tiers.map((t: Json) => [t.tier, t.hotExtents, t.pendingMoveExtents]);
    await waitFor(() => heat()[2]![1] === 1, 20_000, '/a\'s interval to end'); // it began when the first get read, a little after firstRead
    assert.deepEqual(heat(), [['hot', 0, 0], ['warm', 0, 0], ['cold', 1, 1]]);
    ok('config', pool, '--set', 'tier.classifier=decayed');
    assert.deepEqual(heat(), [['hot', 0, 0], ['warm', 0, 0], ['cold', 0, 0]], 'the decayed count: 3 reads are not 4');
    ok('config', pool, '--set', 'tier.classifier=hmm');
    const up = ok('tier', 'migrate', pool);
    assert.deepEqual([up.job.progress.extentsTotal, up.job.progress.promoted, up.job.progress.moved], [1, 1, 0]);
    const a = extentOf(pool, '/a');
    assert.deepEqual([a.scheme, a.disks], ['mirror', hot]);
    assert.deepEqual(extentOf(pool, '/b').disks, cold);
    ok('get', pool, '/a', path.join(root, 'out'));
    assert.ok(fs.readFileSync(path.join(root, 'out')).equals(files.get('/a')!));

    // The hot tier lost whole (both its disks' fragments gone): what migrated cold reads back; what lived only hot
    // (mirror:2 on those two disks) is refused naming its extent, never read as something else.
    for (const d of hot) rmrf(path.join(d, 'frags'));
    ok('get', pool, '/b', path.join(root, 'out'));
    assert.ok(fs.readFileSync(path.join(root, 'out')).equals(files.get('/b')!), '/b was on the cold tier');
    for (const name of ['/a', '/keep/k']) {
      assert.equal(fails('EUNRECOVERABLE', ['get', pool, name, path.join(root, 'lost')]).extent, extentOf(pool, name).id, name);
    }
    assert.equal(fs.existsSync(path.join(root, 'lost')), false, 'nothing written for a lost file');
  });
});

test('tier migrate survives SIGKILL after a commit: every file reads back, the restarted job finishes, the old copy is collected', async () => {
  const root = tmpDir();
  const mnt = path.join(root, 'mnt');
  let child: Awaited<ReturnType<typeof startCoordinator>>['child'] | undefined;
  try {
    const { pool, hot, cold } = hotColdPool(root);
    ok('tier-policy', pool, 'aggressive');
    ok('config', pool, '--set', 'tier.demoteAfterSeconds=1');
    // Killed right after the second extent's new placement is durable, before its old copy is deleted.
    child = (await startCoordinator(pool, mnt, [], { DYNAMICFS_CRASH_AT: 'migrate-after-commit:2' })).child;
    const rng = new Rng(1722);
    const files = new Map([1, 2, 3, 4].map((i) => [`/f${i}`, rng.bytes(600_000)] as const));
    for (const [name, bytes] of files) {
      fs.writeFileSync(path.join(mnt, name), bytes);
      spawnSync('sync', [path.join(mnt, name)]); // fsync: committed
    }
    for (const name of files.keys()) assert.deepEqual(extentOf(pool, name).disks, hot);
    await sleep(1500);
    const started = ok('tier', 'migrate', pool);
    assert.equal(started.job.kind, 'tier-migrate');
    const killed = child;
    await waitFor(() => killed.signalCode !== null || killed.exitCode !== null, 60_000, 'the coordinator to die at the crash point');
    assert.equal(killed.signalCode, 'SIGKILL');
    // The first extent moved whole; the second's new placement is committed and its old copy (two mirror fragments) still there.
    assert.equal(fragmentNames(hot).length, 3 * 2, 'two of the four extents still wholly hot, the second\'s old copy unreferenced');
    assert.equal(fragmentNames(cold).length, 2 * 3);

    // Every file reads back from what the killed coordinator left (offline, its lock gone with it).
    for (const [name, bytes] of files) {
      ok('get', pool, name, path.join(root, 'out'));
      assert.ok(fs.readFileSync(path.join(root, 'out')).equals(bytes), `${name} reads back after the kill`);
    }
    await sleep(1500); // those reads count as accesses: idle again before the job resumes

    child = (await startCoordinator(pool, mnt)).child;
    assert.equal(ok('status', pool).extents.healthy, 4, 'every extent at full redundancy after the restart');
    const job = () => (ok('jobs', pool).jobs as Json[]).find((j) => j.id === started.job.id)!;
    await waitFor(() => job().state === 'done', 60_000, 'the resumed migration to finish');
    for (const name of files.keys()) {
      const e = extentOf(pool, name);
      assert.deepEqual([e.scheme, e.k, e.m, e.disks], ['rs', 2, 1, cold], `${name} moved`);
    }
    for (const [name, bytes] of files) assert.ok(fs.readFileSync(path.join(mnt, name)).equals(bytes), `${name} reads back after the migration`);
    assert.equal(ok('status', pool).extents.healthy, 4, 'every extent at full redundancy');
    assert.deepEqual(fragmentNames(hot), [], 'the old copy the kill left was an orphan: the restarted coordinator\'s recovery removed it');
  } finally {
    if (child) await stopCoordinator(mnt, child);
    else if (isMounted(mnt)) spawnSync('umount', ['-l', mnt]);
    rmrf(root);
  }
});

test('the coordinator migrates by itself: an idle file moves cold with no `tier migrate`, counted, with events; it reads back', async () => {
  const root = tmpDir();
  const pool = path.join(root, 'pool');
  try {
    const { hot, cold } = hotColdPool(root);
    ok('tier-policy', pool, 'aggressive');
    ok('config', pool, '--set', 'tier.demoteAfterSeconds=1', 'tier.migrateEvery=1'); // test-sized
    const bytes = new Rng(1723).bytes(600_000);
    fs.writeFileSync(path.join(root, 'src'), bytes);
    ok('put', pool, path.join(root, 'src'), '/a');
    const perDisk = (disks: string[]) => disks.map((d) => fragmentFiles([d]));
    assert.deepEqual([perDisk(hot), perDisk(cold)], [[1, 1], [0, 0, 0]], 'written hot, mirror:2');

    const served = await startServe(pool);
    try {
      const scheduled = () => (ok('jobs', pool).jobs as Json[]).filter((j) => j.kind === 'tier-migrate');
      await waitFor(() => scheduled().some((j) => j.state === 'done'), 30_000, 'a scheduled tier migration to finish');
      const [job] = scheduled();
      assert.deepEqual([scheduled().length, job.params.scheduled, job.params.rateBytesPerSec, job.progress.moved], [1, true, 32 * 1024 * 1024, 1]);
      assert.deepEqual([perDisk(hot), perDisk(cold)], [[0, 0], [1, 1, 1]], 'moved to the cold disks, rs:2+1, the hot copy deleted');
      ok('get', pool, '/a', path.join(root, 'out'));
      assert.ok(fs.readFileSync(path.join(root, 'out')).equals(bytes), '/a reads back identical');
      const actions = (ok('events', pool, '--kind', 'tier').events as Json[]).map((e) => [e.details.action, e.details.job]);
      assert.deepEqual(actions, [['migrate-scheduled', job.id], ['migrated', job.id]]);
      const text = run(['metrics', pool]).stdout;
      assert.match(text, /^dynamicfs_tier_migrate_runs_total\{by="schedule",result="done"\} 1$/m);
      assert.match(text, /^dynamicfs_tier_moved_extents_total\{direction="down"\} 1$/m);
      const status = ok('tier', 'status', pool);
      assert.deepEqual([status.schedule.everySeconds, status.schedule.running, status.classifier], [1, true, 'hmm']);
    } finally {
      await stopChild(served.child);
    }
  } finally {
    await cleanupPool(pool);
    rmrf(root);
  }
});
