/**
 * `dynamicfs config`: every setting shown from one declaration; --set of each type, all or
 * nothing, refusals naming the key, the value and the range; presets (each one's diff,
 * --dry-run, production restoring the defaults); export → import onto another pool, and
 * imports refused whole; gc.minAgeSeconds read by gc; diagnose's setting-unsafe; and
 * through a running coordinator: applied at once, audited only when changing, a monitor
 * allowed to look and refused to change.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { PRESETS } from '../../src/config/presets';
import { SETTINGS, SETTING_KEYS } from '../../src/config/settings';
import { readAuditLog } from '../../src/log/audit';
import { runFiles } from '../../src/rpc/run-files';
import { fails, makePool, ok, run, type Json } from '../helpers/cli';
import { startServe, stopChild } from '../helpers/daemon';
import { requestAsNobody } from '../helpers/peer';
import { withTmpDir } from '../helpers/tmp';

const DEFAULTS: Record<string, unknown> = Object.fromEntries(SETTINGS.map((s) => [s.key, s.default]));

/** Every setting's value, by key, as `config export` prints it. */
function exported(pool: string): Record<string, unknown> {
  const r = run(['config', 'export', pool]);
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout) as Json;
  assert.deepEqual([doc.format, doc.version, doc.pool], ['dynamicfs-settings', 1, pool]);
  return doc.settings as Record<string, unknown>;
}

function writeJson(file: string, doc: unknown): string {
  fs.writeFileSync(file, typeof doc === 'string' ? doc : JSON.stringify(doc));
  return file;
}

test('config shows every setting; --set takes each type, all or nothing, and refusals name the key, the value and the range', async () => {
  await withTmpDir((root) => {
    const pool = path.join(root, 'pool');
    ok('init', pool);
    const shown = ok('config', pool);
    assert.deepEqual(shown.settings.map((s: Json) => s.key), SETTING_KEYS);
    const interval = shown.settings.find((s: Json) => s.key === 'commit.intervalMs');
    assert.deepEqual(interval, { key: 'commit.intervalMs', value: 5000, default: 5000, changed: false, range: '100..60000', safeRange: '100..30000', unsafe: false,
      reason: 'the longest a change waits for a transaction group to make it durable (fsync never waits)', applies: 'at once' });
    assert.ok(shown.settings.every((s: Json) => s.value === s.default && s.changed === false));
    assert.deepEqual(exported(pool), DEFAULTS);

    const set = ok('config', pool, '--set', 'health.failedErrors=60', 'scrub.frequency=nightly', 'scrub.autoRepair=true', 'scrub.intensity=medium', 'gc.minAgeSeconds=120');
    assert.deepEqual(set.changes, [
      { key: 'health.failedErrors', from: 50, to: 60 }, { key: 'scrub.frequency', from: 'manual', to: 'nightly' },
      { key: 'scrub.intensity', from: 'low', to: 'medium' }, { key: 'scrub.autoRepair', from: false, to: true }, { key: 'gc.minAgeSeconds', from: 900, to: 120 }]);
    assert.equal(set.applied, true);
    const after: Record<string, unknown> = { ...DEFAULTS, 'health.failedErrors': 60, 'scrub.frequency': 'nightly', 'scrub.autoRepair': true, 'scrub.intensity': 'medium', 'gc.minAgeSeconds': 120 };
    assert.deepEqual(exported(pool), after);
    assert.deepEqual(ok('config', pool).settings.filter((s: Json) => s.changed).map((s: Json) => s.key),
      ['health.failedErrors', 'scrub.frequency', 'scrub.intensity', 'scrub.autoRepair', 'gc.minAgeSeconds']);
    // The scrub schedule reads the same settings.
    assert.deepEqual(set.scrub.autoRepair, true);
    assert.deepEqual([set.gc, set.compact, set.cache, set.read, set.rebuild],
      [{ minAgeSeconds: 120 }, { belowFraction: 0.5 }, { extentBytes: 67108864 }, { aheadExtents: 2 }, { concurrency: 1 }], 'every section by name too');
    const schedule = ok('scrub-schedule', pool).schedule;
    assert.deepEqual([schedule.frequency, schedule.intensity, schedule.autoRepair], ['nightly', 'medium', true]);
    assert.equal(ok('config', pool, '--set', 'scrub.intensity=1048576').scrub.intensity, 1048576, 'an intensity may be a rate');
    after['scrub.intensity'] = 1048576;

    const refusals: [string[], string][] = [
      [['bogus.key=1'], 'config: unknown setting "bogus.key"; the settings are health.degradedErrors, '],
      [['health.failedErrors=70', 'commit.intervalMs=50'], 'config: commit.intervalMs=50 is outside 100..60000'],
      [['scrub.autoRepair=maybe'], 'config: scrub.autoRepair="maybe" is not valid: scrub.autoRepair takes true or false'],
      [['scrub.frequency=hourly'], 'config: scrub.frequency="hourly" is not valid: scrub.frequency takes one of nightly | continuous | manual'],
      [['commit.dirtyMaxBytes=1.5'], 'config: commit.dirtyMaxBytes=1.5 is not valid: commit.dirtyMaxBytes takes a whole number in 16777216..17179869184'],
      [['admin.monitorGroup=4294967295'], 'config: admin.monitorGroup=4294967295 is not valid: admin.monitorGroup takes a group id in 1..4294967294, or 0 or none for none'],
      [['cache.extentBytes=1024'], 'config: cache.extentBytes=1024 is outside 1048576..274877906944'],
      [['read.aheadExtents=65'], 'config: read.aheadExtents=65 is outside 0..64'],
      [['rebuild.concurrency=0'], 'config: rebuild.concurrency=0 is outside 1..64'],
      [['health.degradedErrors=20'], 'config: thresholds must rise: degradedErrors (20) <= suspectErrors (10) <= failedErrors (60)'],
    ];
    for (const [pairs, message] of refusals) {
      const e = fails('EINVAL', ['config', pool, '--set', ...pairs]);
      assert.ok(e.message.startsWith(message), `${e.message} starts with ${message}`);
    }
    assert.deepEqual(exported(pool), after, 'the refused --set changed nothing');
    fails('EUSAGE', ['config', pool, '--set', 'health.failedErrors']);
    fails('EUSAGE', ['config', pool, '--set', 'health.failedErrors=1', '--preset', 'testing']);

    const dry = ok('config', pool, '--set', 'commit.intervalMs=1000', '--dry-run');
    assert.deepEqual([dry.changes, dry.applied, dry.dryRun], [[{ key: 'commit.intervalMs', from: 5000, to: 1000 }], false, true]);
    assert.deepEqual(exported(pool), after, 'a dry run changes nothing');
    const none = ok('config', pool, '--set', 'admin.monitorGroup=none', 'scrub.frequency=nightly');
    assert.deepEqual([none.changes, none.applied], [[], false], 'values already set are no change');
  });
});

test('presets: each shows its diff (old → new), --dry-run changes nothing, production puts the defaults back, admin.monitorGroup is kept', async () => {
  await withTmpDir((root) => {
    const pool = path.join(root, 'pool');
    ok('init', pool);
    ok('config', pool, '--set', 'admin.monitorGroup=4242', 'scrub.frequency=continuous');

    const text = run(['config', pool, '--preset', 'testing', '--dry-run']);
    assert.equal(text.code, 0);
    assert.match(text.stdout, /^dry run: preset testing would change 8 settings \(nothing was changed\)\n  health\.degradedErrors: 3 → 1\n  health\.suspectErrors: 10 → 2\n/);
    assert.match(text.stdout, /\n {2}scrub\.frequency: continuous → manual\n/);
    const dry = ok('config', pool, '--preset', 'testing', '--dry-run');
    assert.deepEqual(dry.changes.map((c: Json) => [c.key, c.from, c.to]), [
      ['health.degradedErrors', 3, 1], ['health.suspectErrors', 10, 2], ['health.failedErrors', 50, 3], ['health.monitorIntervalMs', 2000, 500],
      ['commit.intervalMs', 5000, 500], ['cache.extentBytes', 67108864, 16777216], ['scrub.frequency', 'continuous', 'manual'], ['gc.minAgeSeconds', 900, 60]]);
    assert.deepEqual([dry.preset, dry.applied], ['testing', false]);
    const before = exported(pool);
    assert.deepEqual(before, { ...DEFAULTS, 'admin.monitorGroup': 4242, 'scrub.frequency': 'continuous' }, 'the dry run changed nothing');

    // Each preset in turn: what its dry run shows is what applying it does, and the result is the preset.
    let current: Record<string, unknown> = before;
    for (const p of [...PRESETS].reverse()) {
      const target: Record<string, unknown> = { ...DEFAULTS, ...Object.fromEntries(Object.entries(p.overrides).map(([k, o]) => [k, o.value])), 'admin.monitorGroup': 4242 };
      const want = SETTING_KEYS.filter((k) => current[k] !== target[k]).map((k) => ({ key: k, from: current[k], to: target[k] }));
      // The dry run changes nothing: applying the preset next makes exactly the changes it showed.
      assert.deepEqual(ok('config', pool, '--preset', p.name, '--dry-run').changes, want, `${p.name}: the dry run's diff`);
      const applied = ok('config', pool, '--preset', p.name);
      assert.deepEqual([applied.changes, applied.applied], [want, want.length > 0], `${p.name}: applied`);
      current = Object.fromEntries(applied.settings.map((x: Json) => [x.key, x.value]));
      assert.deepEqual(current, target, `${p.name}: the pool is on the preset`);
    }
    assert.equal(PRESETS[0]!.name, 'production');
    assert.deepEqual(exported(pool), { ...DEFAULTS, 'admin.monitorGroup': 4242 }, 'production (applied last) is the defaults');

    const e = fails('EINVAL', ['config', pool, '--preset', 'fast']);
    assert.equal(e.message, 'config: unknown preset "fast"; the presets are production, development, testing, high-performance');
  });
});

test('config export → import onto another pool; an import with an unknown key, a bad value or a wrong type is refused whole', async () => {
  await withTmpDir((root) => {
    const a = path.join(root, 'a');
    const b = path.join(root, 'b');
    ok('init', a);
    ok('init', b);
    ok('config', a, '--preset', 'high-performance');
    ok('config', a, '--set', 'scrub.frequency=nightly', 'health.suspectLatencyMs=8000', 'admin.monitorGroup=4242');
    const file = path.join(root, 'a.json');
    fs.writeFileSync(file, run(['config', 'export', a]).stdout);
    const dry = ok('config', 'import', b, file, '--dry-run');
    assert.equal(dry.changes.length, 8);
    assert.deepEqual(exported(b), DEFAULTS, 'the dry run changed nothing');
    const imported = ok('config', 'import', b, file);
    assert.deepEqual(imported.changes.map((c: Json) => c.key), ['health.suspectLatencyMs', 'commit.intervalMs', 'commit.dirtyMaxBytes', 'cache.extentBytes',
      'read.aheadExtents', 'admin.monitorGroup', 'scrub.frequency', 'rebuild.concurrency']);
    assert.deepEqual(exported(b), exported(a), 'b holds a\'s settings');
    const onB = exported(b);

    const good = { format: 'dynamicfs-settings', version: 1, settings: { 'health.failedErrors': 99 } };
    const bad: [string, unknown, string, string][] = [
      ['unknown', { ...good, settings: { 'health.failedErrors': 99, 'health.bogus': 1 } }, 'EINVAL', ': unknown setting "health.bogus"; the settings are '],
      ['range', { ...good, settings: { 'health.failedErrors': 99, 'commit.intervalMs': 100000 } }, 'EINVAL', ': commit.intervalMs=100000 is outside 100..60000'],
      ['type', { ...good, settings: { 'health.failedErrors': 99, 'commit.intervalMs': '5000' } }, 'EINVAL', ': commit.intervalMs="5000" is not valid: commit.intervalMs takes a whole number in 100..60000'],
      ['null', { ...good, settings: { 'scrub.autoRepair': null } }, 'EINVAL', ': scrub.autoRepair=null is not valid: scrub.autoRepair takes true or false'],
      ['malformed', '{"format": "dynamicfs-settings", ', 'EFORMAT', ' is not JSON ('],
      ['envelope', { settings: { 'health.failedErrors': 99 } }, 'EFORMAT', ' is not a dynamicfs settings file: format: '],
      ['array', [1, 2], 'EFORMAT', ' is not a dynamicfs settings file: '],
      ['version', { ...good, version: 2 }, 'EFORMAT', ' is settings file version 2; this dynamicfs reads version 1'],
    ];
    for (const [name, doc, code, message] of bad) {
      const f = writeJson(path.join(root, `${name}.json`), doc);
      const e = fails(code, ['config', 'import', b, f]);
      assert.ok(e.message.includes(f), `${name}: the message names the file: ${e.message}`);
      assert.ok(e.message.includes(message), `${name}: ${e.message} includes ${message}`);
    }
    assert.deepEqual(exported(b), onB, 'the refused imports applied nothing');
    const missing = fails('ENOENT', ['config', 'import', b, path.join(root, 'none.json')]);
    assert.match(missing.message, /^cannot read settings file .*none\.json: /);
    // A partial file sets what it holds, nothing else.
    assert.deepEqual(ok('config', 'import', b, writeJson(path.join(root, 'good.json'), good)).changes, [{ key: 'health.failedErrors', from: 50, to: 99 }]);
    assert.deepEqual(exported(b), { ...onB, 'health.failedErrors': 99 });
    fails('EUSAGE', ['config', 'export', b, '--set', 'health.failedErrors=1']);
  });
});

test('gc.minAgeSeconds: gc uses the stored value unless given --min-age', async () => {
  await withTmpDir((root) => {
    const { pool, disks } = makePool(root, 3, '--redundancy', 'rs:2+1');
    const tmp = path.join(disks[0]!, 'tmp');
    fs.mkdirSync(tmp, { recursive: true });
    const leftover = path.join(tmp, 'leftover');
    fs.writeFileSync(leftover, 'x'.repeat(100));
    const twoMinutesAgo = new Date(Date.now() - 120_000);
    fs.utimesSync(leftover, twoMinutesAgo, twoMinutesAgo);
    assert.deepEqual(ok('gc', pool).orphans, [], 'the default (900 s) leaves a file two minutes old');
    ok('config', pool, '--set', 'gc.minAgeSeconds=60');
    assert.deepEqual(ok('gc', pool, '--dry-run').orphans.map((o: Json) => [o.kind, o.name]), [['tmp', 'leftover']], 'the stored 60 s takes it');
    assert.deepEqual(ok('gc', pool, '--min-age', '900').orphans, [], '--min-age still wins');
    assert.equal(ok('gc', pool).removed, 1);
    assert.equal(fs.existsSync(leftover), false);
  });
});

test('diagnose: each setting outside its safe range is a setting-unsafe warning whose fix puts the default back; a cache short of its read-ahead is cache-short', async () => {
  await withTmpDir((root) => {
    const pool = path.join(root, 'pool');
    ok('init', pool);
    ok('config', pool, '--set', 'gc.minAgeSeconds=10', 'health.monitorIntervalMs=120000', 'commit.intervalMs=30000');
    const found = (ok('diagnose', pool).findings as Json[]).filter((f) => f.code === 'setting-unsafe');
    assert.deepEqual(found.map((f) => [f.severity, f.evidence, f.fix]), [
      ['warning', { key: 'health.monitorIntervalMs', value: 120000, safeRange: '100..60000', default: 2000 }, `dynamicfs config ${pool} --set health.monitorIntervalMs=2000`],
      ['warning', { key: 'gc.minAgeSeconds', value: 10, safeRange: '60..604800', default: 900 }, `dynamicfs config ${pool} --set gc.minAgeSeconds=900`],
    ], 'commit.intervalMs=30000 is at the safe bound, not past it');
    assert.match(found[0]!.message, /^health\.monitorIntervalMs is 120000, outside its safe range 100\.\.60000: a vanished disk goes unnoticed/);
    assert.deepEqual(ok('config', pool).settings.filter((s: Json) => s.unsafe).map((s: Json) => s.key), ['health.monitorIntervalMs', 'gc.minAgeSeconds']);
    for (const f of found) run(f.fix.split(' ').slice(1));
    assert.deepEqual((ok('diagnose', pool).findings as Json[]).filter((f) => f.code === 'setting-unsafe'), [], 'the fixes cleared them');

    // Two settings each in their safe range, too little cache for the read-ahead together (4 MiB extents).
    const short = () => (ok('diagnose', pool).findings as Json[]).filter((f) => f.code === 'cache-short');
    assert.deepEqual(short(), []);
    ok('config', pool, '--set', 'cache.extentBytes=16777216', 'read.aheadExtents=4');
    const [c, ...more] = short();
    assert.deepEqual(more, []);
    assert.deepEqual([c.severity, c.evidence, c.fix], ['warning', { cacheBytes: 16777216, aheadExtents: 4, extentSize: 4194304, needBytes: 20971520 },
      `dynamicfs config ${pool} --set cache.extentBytes=41943040 (or lower read.aheadExtents)`]);
    run(c.fix.split(' (')[0].split(' ').slice(1));
    assert.deepEqual(short(), [], 'the fix cleared it');
  });
});

test('through a coordinator: preset and import apply at once; looking and dry runs are not audited, changes are; a monitor may look, not change', async () => {
  await withTmpDir(async (root) => {
    const { pool } = makePool(root, 3, '--redundancy', 'rs:2+1');
    const served = await startServe(pool);
    try {
      const sock = runFiles(pool).socket;
      const audit = (): [string, unknown][] => readAuditLog(path.join(runFiles(pool).dir, 'audit.log'))
        .filter((e) => e.via === 'socket' && e.op.startsWith('config')).map((e) => [e.op, e.args]);
      ok('config', pool);
      ok('config', pool, '--preset', 'testing', '--dry-run');
      run(['config', 'export', pool]);
      assert.deepEqual(audit(), [], 'looking, a dry run and export are not audited');
      ok('config', pool, '--preset', 'testing');
      assert.deepEqual(exported(pool)['health.failedErrors'], 3);

      const MONITORS = 4242;
      const file = writeJson(path.join(root, 'f.json'), { format: 'dynamicfs-settings', version: 1, settings: { 'admin.monitorGroup': MONITORS, 'commit.intervalMs': 2000 } });
      ok('config', 'import', pool, file);
      const st = fs.statSync(sock);
      assert.deepEqual([st.mode & 0o777, st.gid], [0o660, MONITORS], 'the running coordinator applied the imported admin.monitorGroup at once');
      assert.deepEqual(audit().map(([op, args]) => [op, (args as Json).preset ?? (args as Json).file]), [['config', 'testing'], ['config-import', file]]);

      for (const dir of [root, pool]) fs.chmodSync(dir, 0o755);
      const ask = (op: string, args: Json): Json => requestAsNobody(sock, { id: 1, op, args }, MONITORS) as Json;
      assert.equal(ask('config', {}).ok, true, 'a monitor may show the settings');
      assert.equal(ask('config-export', {}).data.settings['commit.intervalMs'], 2000, 'and export them');
      assert.deepEqual(ask('config', { preset: 'production', dryRun: true }).data.changes.length, 7, 'and see a preset\'s diff');
      for (const [op, args] of [['config', { preset: 'production' }], ['config', { set: { 'commit.intervalMs': 5000 } }],
        ['config-import', { file, content: fs.readFileSync(file, 'utf8') }]] as [string, Json][]) {
        const r = ask(op, args);
        assert.deepEqual([r.ok, r.error.code], [false, 'EACCES'], `${op} ${JSON.stringify(args)} changes something`);
      }
      assert.equal(exported(pool)['commit.intervalMs'], 2000, 'the monitor changed nothing');
      ok('config', pool, '--set', 'admin.monitorGroup=0');
    } finally {
      await stopChild(served.child);
    }
  });
});
