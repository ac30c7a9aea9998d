/**
 * Snapshot schedules (`snapshot schedule`): a running coordinator takes
 * PREFIX-YYYYMMDD-HHMMSS when a schedule is due and prunes that prefix oldest-first down
 * to --keep, never a held snapshot (which does not count in --keep), a manual one or
 * another prefix's; each snapshot taken or pruned is a `snapshot` event and counted in
 * the metrics. The scheduler's decisions (missed runs are one run, held ones outside the
 * rotation, a failed run retried later) are checked with a moved clock; bad input is
 * EINVAL with the fix and stores nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { snapshotSchedule, type SnapshotScheduleArgs } from '../../src/admin/ops/snapshot-schedule';
import { SnapshotScheduler } from '../../src/admin/snapshot-scheduler';
import { openEngine } from '../../src/engine/open';
import { DfsError } from '../../src/errors';
import { createSnapshot } from '../../src/fs/snapshots';
import { readEvents } from '../../src/log/events';
import { silentLogger } from '../../src/log/logger';
import { fails, makePool, ok, run, type Json } from '../helpers/cli';
import { cleanupPool, sleep, startServe, stopChild } from '../helpers/daemon';
import { parseExposition } from '../helpers/prometheus';
import { withTmpDir } from '../helpers/tmp';

async function waitUntil<T>(what: string, fn: () => T | undefined, timeoutMs = 60_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

const names = (pool: string): string[] => (ok('snapshot', 'list', pool).snapshots as Json[]).map((s) => s.name as string).sort();
const ofAction = (events: Json[], prefix: string, action: string): string[] =>
  events.filter((e) => e.details.prefix === prefix && e.details.action === action).map((e) => e.details.name as string);

test('a coordinator takes and prunes scheduled snapshots: held, manual and other prefixes stay; events and metrics count them; --list, --remove', async () => {
  await withTmpDir(async (root) => {
    const { pool } = makePool(root, 3, '--redundancy', 'mirror:2');
    const file = path.join(root, 'a.txt');
    fs.writeFileSync(file, 'scheduled\n');
    ok('put', pool, file, '/a.txt');
    // The schedule's own names, older than anything it takes: one held (never pruned), one not (pruned first).
    // (Made in-process: the setting, not what is tested; one CLI run each would cost a second apiece.)
    const setup = openEngine(pool);
    try {
      for (const name of ['manual-before', 'fast-20200101-000000', 'fast-20200101-000001', 'fast-manual', 'slow-20200101-000000']) await createSnapshot(setup, name);
      setup.meta.transact((tx) => tx.setSnapshotHeld('fast-20200101-000000', true));
    } finally {
      await setup.close();
    }
    const added = ok('snapshot', 'schedule', pool, '--every', '1s', '--keep', '2', '--prefix', 'fast');
    assert.deepEqual({ prefix: added.added.prefix, every: added.added.every, keep: added.added.keep, snapshots: added.added.snapshots, held: added.added.held },
      { prefix: 'fast', every: '1s', keep: 2, snapshots: 2, held: 1 });
    assert.equal(added.running, false, 'offline: stored, run by a coordinator later');
    ok('snapshot', 'schedule', pool, '--every', '1h', '--keep', '3', '--prefix', 'slow');
    assert.deepEqual((ok('snapshot', 'schedule', pool, '--list').schedules as Json[]).map((s) => [s.prefix, s.everyMs, s.keep]), [['fast', 1000, 2], ['slow', 3_600_000, 3]]);

    const served = await startServe(pool);
    try {
      const events = (): Json[] => ok('events', pool, '--kind', 'snapshot').events as Json[];
      await waitUntil('the fast schedule to prune three snapshots', () => (ofAction(events(), 'fast', 'pruned').length >= 3 ? true : undefined));
      const removed = ok('snapshot', 'schedule', pool, '--remove', 'fast');
      assert.equal(removed.removed.prefix, 'fast');
      assert.equal(removed.running, true);
      assert.deepEqual((removed.schedules as Json[]).map((s) => s.prefix), ['slow']);

      // --remove answered once no run of it was in flight: from here the state is exact.
      const ev = events();
      assert.deepEqual(ev.filter((e) => e.details.action === 'failed'), [], 'no run failed');
      const taken = ofAction(ev, 'fast', 'taken');
      const pruned = ofAction(ev, 'fast', 'pruned');
      for (const n of taken) assert.match(n, /^fast-\d{8}-\d{6}$/);
      assert.deepEqual([...taken].sort(), taken, 'taken in time order');
      assert.deepEqual(pruned, ['fast-20200101-000001', ...taken.slice(0, -2)], 'oldest first, the held one skipped');
      const slowTaken = ofAction(ev, 'slow', 'taken');
      assert.equal(slowTaken.length, 1, 'an hourly schedule whose last snapshot is years old runs once, not once per missed hour');
      assert.deepEqual(ofAction(ev, 'slow', 'pruned'), [], 'slow keeps 3: its 2 snapshots stay');
      assert.deepEqual(names(pool), ['fast-20200101-000000', 'fast-manual', 'manual-before', 'slow-20200101-000000', ...slowTaken, ...taken.slice(-2)].sort());
      assert.ok(ev.every((e) => e.kind === 'snapshot' && e.subject === `snapshot ${e.details.name}`));

      const metrics = parseExposition(run(['metrics', pool]).stdout, 'dynamicfs_snapshot');
      assert.equal(metrics.get('dynamicfs_snapshot_schedule_runs_total{prefix="fast",outcome="ok"}'), taken.length);
      assert.equal(metrics.get('dynamicfs_snapshot_schedule_runs_total{prefix="slow",outcome="ok"}'), 1);
      assert.equal(metrics.get('dynamicfs_snapshot_schedule_runs_total{prefix="fast",outcome="failed"}'), undefined);
      assert.equal(metrics.get('dynamicfs_snapshot_schedule_pruned_total{prefix="fast"}'), pruned.length);
      assert.equal(metrics.get('dynamicfs_snapshots'), names(pool).length);
      assert.equal(metrics.get('dynamicfs_snapshots_held'), 1);
      const space = ok('snapshot', 'list', pool).space;
      assert.equal(metrics.get('dynamicfs_snapshot_space_bytes{owner="live"}'), space.liveBytes);
      assert.equal(space.liveBytes, 'scheduled\n'.length);
      assert.equal(metrics.get('dynamicfs_snapshot_space_bytes{owner="shared"}'), space.sharedBytes);
      assert.equal(metrics.get('dynamicfs_snapshot_space_bytes{owner="snapshot_only"}'), space.snapshotOnlyBytes);

      const slow = (ok('snapshot', 'schedule', pool).schedules as Json[])[0]!;
      assert.deepEqual([slow.prefix, slow.snapshots, slow.held, slow.overKeep], ['slow', 2, 0, 0]);
      assert.equal(slow.nextDueMs - slow.lastMs, 3_600_000);
    } finally {
      await stopChild(served.child);
      await cleanupPool(pool);
    }
  });
});

test('the scheduler with a moved clock: missed runs are one run, held snapshots are outside --keep, a failed run is retried a minute later, names taken by hand count', async () => {
  await withTmpDir(async (root) => {
    const { pool } = makePool(root, 3, '--redundancy', 'mirror:2');
    ok('snapshot', 'schedule', pool, '--every', '1h', '--keep', '2');
    ok('snapshot', 'schedule', pool, '--every', '1d', '--keep', '1');
    const engine = openEngine(pool);
    try {
      const t0 = Date.UTC(2026, 0, 1, 0, 0, 0);
      let now = t0;
      const s = new SnapshotScheduler(engine, silentLogger(), { now: () => now });
      const at = async (ms: number): Promise<string[]> => {
        now = t0 + ms;
        return (await s.tick()).map((r) => `${r.outcome} ${r.taken ?? '-'} pruned [${r.pruned.join(' ')}]`);
      };
      const H = 3_600_000;
      await createSnapshot(engine, 'auto-hourly-manual');
      assert.deepEqual(await at(0), ['ok auto-daily-20260101-000000 pruned []', 'ok auto-hourly-20260101-000000 pruned []']);
      assert.deepEqual(await at(H / 2), [], 'not due yet');
      assert.deepEqual(await at(H), ['ok auto-hourly-20260101-010000 pruned []']);
      assert.deepEqual(await at(2 * H), ['ok auto-hourly-20260101-020000 pruned [auto-hourly-20260101-000000]']);
      engine.meta.transact((tx) => tx.setSnapshotHeld('auto-hourly-20260101-010000', true));
      assert.deepEqual(await at(10 * H), ['ok auto-hourly-20260101-100000 pruned []'], 'seven missed runs: one snapshot; the held one does not count in keep 2');
      assert.deepEqual(await at(11 * H), ['ok auto-hourly-20260101-110000 pruned [auto-hourly-20260101-020000]'], 'the held one, older, is skipped');
      engine.meta.transact((tx) => tx.setSnapshotHeld('auto-hourly-20260101-110000', true));
      assert.deepEqual(await at(12 * H), ['ok auto-hourly-20260101-120000 pruned []'], 'two held, the oldest and a recent one: neither counts in keep 2');
      engine.meta.transact((tx) => {
        tx.setSnapshotHeld('auto-hourly-20260101-010000', false);
        tx.setSnapshotHeld('auto-hourly-20260101-110000', false);
      });

      const commit = engine.txg.commit;
      engine.txg.commit = () => Promise.reject(new DfsError('EMETACOPIES', 'commits refused by the test'));
      try {
        assert.deepEqual(await at(13 * H), ['failed - pruned []']);
      } finally {
        engine.txg.commit = commit;
      }
      assert.deepEqual(await at(13 * H + 30_000), [], 'retried after a minute, not at every tick');
      assert.deepEqual(await at(13 * H + 60_000), ['ok auto-hourly-20260101-130100 pruned [auto-hourly-20260101-010000 auto-hourly-20260101-100000 auto-hourly-20260101-110000]'],
        'released, they count again');
      await createSnapshot(engine, 'auto-hourly-20260101-150000');
      assert.deepEqual(await at(14 * H + 60_000), [], 'a snapshot with the schedule\'s name, taken by hand, counts as its run');
      assert.deepEqual(await at(16 * H), ['ok auto-hourly-20260101-160000 pruned [auto-hourly-20260101-120000 auto-hourly-20260101-130100]']);
      assert.deepEqual(await at(24 * H), ['ok auto-daily-20260102-000000 pruned [auto-daily-20260101-000000]',
        'ok auto-hourly-20260102-000000 pruned [auto-hourly-20260101-150000]']);
      assert.deepEqual(engine.meta.snapshots().map((x) => x.name).sort(),
        ['auto-daily-20260102-000000', 'auto-hourly-20260101-160000', 'auto-hourly-20260102-000000', 'auto-hourly-manual']);

      const failed = readEvents(engine.pool.events.file).events.filter((e) => e.kind === 'snapshot' && e.details.action === 'failed');
      assert.equal(failed.length, 1);
      assert.equal(failed[0]!.message, 'schedule auto-hourly failed: EMETACOPIES: commits refused by the test; retrying in 1m');
      const text = await engine.metrics.text();
      assert.match(text, /^dynamicfs_snapshot_schedule_runs_total\{prefix="auto-hourly",outcome="ok"\} 9$/m);
      assert.match(text, /^dynamicfs_snapshot_schedule_runs_total\{prefix="auto-hourly",outcome="failed"\} 1$/m);
      assert.match(text, /^dynamicfs_snapshot_schedule_pruned_total\{prefix="auto-hourly"\} 8$/m);
      assert.match(text, /^dynamicfs_snapshot_schedule_pruned_total\{prefix="auto-daily"\} 1$/m);
    } finally {
      await engine.close();
    }
  });
});

test('snapshot schedule refuses bad input with EINVAL and the fix, storing nothing', async () => {
  await withTmpDir(async (root) => {
    const { pool } = makePool(root, 3, '--redundancy', 'mirror:2');
    ok('snapshot', 'schedule', pool, '--every', '1h', '--keep', '24');
    // nextDueMs of a schedule with no snapshot yet is now: compare the rest.
    const stored = (): Json[] => (ok('snapshot', 'schedule', pool, '--list').schedules as Json[]).map(({ nextDueMs: _, ...rest }) => rest);
    const before = stored();
    assert.deepEqual(before.map((s) => s.prefix), ['auto-hourly']);
    // Through the CLI, the refusals an operator meets most; the rest of the operation's checks in-process below.
    const refused: [string[], RegExp][] = [
      [['--every', '0', '--keep', '2'], /^--every "0" is not an interval: give a whole number and a unit s, m, h, d or w \(such as 30s, 15m, 1h, 1d, 1w\)$/],
      [['--every', '0s', '--keep', '2'], /^--every 0s is outside 1s\.\.366d: .*\(use 1s or more\)/],
      [['--every', '1h', '--keep', '0'], /^--keep 0 is not a count from 1 to 100000: .*--remove the schedule/],
      [['--every', '1h', '--keep', '2', '--prefix', '-bad'], /^--prefix "-bad": use 1 to 112 letters, digits and \. _ : \+ - \(not starting with \. or -\).*PREFIX-YYYYMMDD-HHMMSS$/],
      [['--list', '--every', '1h', '--keep', '2'], /^--list only lists/],
    ];
    for (const [args, message] of refused) {
      const err = fails('EINVAL', ['snapshot', 'schedule', pool, ...args]);
      assert.match(err.message, message, args.join(' '));
    }
    const engine = openEngine(pool);
    try {
      const inProcess: [SnapshotScheduleArgs, RegExp][] = [
        [{ every: '1h', keep: 'many' as unknown as number }, /^--keep "many" is not a count from 1 to 100000/],
        [{ every: '1h', keep: 2.5 }, /^--keep 2\.5 is not a count/],
        [{ every: '1h' }, /^--every 1h needs --keep N/],
        [{ every: '1.5h', keep: 2 }, /^--every "1\.5h" is not an interval/],
        [{ every: '367d', keep: 2 }, /^--every 367d is outside 1s\.\.366d/],
        [{ every: '1h', keep: 2, prefix: 'x'.repeat(113) }, /^--prefix "x{113}": use 1 to 112/],
        [{ every: '1h', keep: 2, prefix: 'a/b' }, /^--prefix "a\/b": use 1 to 112/],
        [{ keep: 3 }, /^--keep and --prefix go with --every/],
        [{ remove: 'auto-hourly', every: '1h', keep: 2 }, /^--remove PREFIX takes no --every/],
      ];
      for (const [args, message] of inProcess) {
        await assert.rejects(snapshotSchedule(engine, args, {}), (e: DfsError) => e.code === 'EINVAL' && message.test(e.message), JSON.stringify(args));
      }
    } finally {
      await engine.close();
    }
    assert.match(fails('ENOENT', ['snapshot', 'schedule', pool, '--remove', 'auto-daily']).message, /^no snapshot schedule with prefix "auto-daily"; the schedules are auto-hourly/);
    assert.deepEqual(stored(), before, 'nothing stored');
    const replaced = ok('snapshot', 'schedule', pool, '--every', '60m', '--keep', '12');
    assert.equal(replaced.replaced.keep, 24, 'the same interval\'s default prefix: replaced');
    assert.deepEqual((replaced.schedules as Json[]).map((s) => [s.prefix, s.keep]), [['auto-hourly', 12]]);
    assert.equal(ok('snapshot', 'schedule', pool, '--every', '15m', '--keep', '4').added.prefix, 'auto-15m');
  });
});
