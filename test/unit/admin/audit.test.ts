/** The audit log: which actions it records, how arguments are summarised, the line format and file mode. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readOnlyOps } from '../../../src/admin/access';
import { auditLocal, isAudited, onlyLooks, summarizeArgs } from '../../../src/admin/audit';
import { DfsError } from '../../../src/errors';
import { readAuditLog } from '../../../src/log/audit';
import { withTmpDir } from '../../helpers/tmp';

test('changes are audited, looking is not; jobs, config and snapshot schedule only when they act', () => {
  for (const op of ['mkdir', 'put', 'rm', 'add-disk', 'gc', 'shutdown', 'rebuild', 'a-new-op']) assert.ok(isAudited(op), op);
  for (const op of ['ping', 'status', 'health', 'metrics', 'disks', 'ls', 'stat']) assert.ok(!isAudited(op), op);
  assert.ok(!isAudited('jobs', {}));
  assert.ok(isAudited('jobs', { action: 'cancel', id: 3 }));
  assert.ok(!isAudited('config', {}));
  assert.ok(isAudited('config', { set: { 'health.failedErrors': 10 } }));
  assert.ok(isAudited('config', { preset: 'testing' }));
  assert.ok(isAudited('config', { preset: 'testing', dryRun: false }));
  assert.ok(!isAudited('config', { preset: 'testing', dryRun: true }), 'a preset\'s dry run only shows its diff');
  assert.ok(!isAudited('config', { set: { 'commit.intervalMs': 100 }, dryRun: true }));
  assert.ok(!isAudited('config-export', {}));
  assert.ok(isAudited('config-import', { file: '/f.json', content: '{}' }));
  assert.ok(isAudited('jobs', { action: 'cancel', dryRun: true }), 'dryRun makes only config read-only');
  assert.ok(!isAudited('snapshot-schedule', {}), 'listing the snapshot schedules only looks');
  assert.ok(!isAudited('snapshot-schedule', { every: null, remove: null }));
  assert.ok(isAudited('snapshot-schedule', { every: '1h', keep: 24 }));
  assert.ok(isAudited('snapshot-schedule', { remove: 'auto-hourly' }));
});

test('with audit.lookups every request but ping is audited; what only looks stays what a monitor may run', () => {
  for (const op of ['status', 'health', 'diagnose', 'metrics', 'disks', 'ls', 'stat', 'events', 'config-export', 'mkdir', 'a-new-op']) {
    assert.ok(isAudited(op, {}, true), op);
  }
  assert.ok(isAudited('jobs', {}, true));
  assert.ok(isAudited('config', { preset: 'testing', dryRun: true }, true));
  assert.ok(!isAudited('ping', {}, true), 'ping opens every client\'s conversation: never audited');
  assert.deepEqual(['status', 'jobs', 'mkdir'].map((op) => onlyLooks(op)), [true, true, false]);
});

test('monitors are told which commands only look', () => {
  const ops = readOnlyOps();
  assert.ok(ops.includes('config-export'));
  assert.ok(ops.includes('config (without set or preset, or with dryRun)'));
  assert.ok(ops.includes('jobs (without action)'));
  assert.ok(!ops.includes('config-import'));
});

test('arguments are summarised: long strings cut, buffers and long arrays reduced', () => {
  const s = summarizeArgs({ path: 'x'.repeat(300), data: Buffer.alloc(5), list: Array.from({ length: 12 }, (_, i) => i), n: 1, flag: true,
    deep: { a: { b: { c: 1 } } } });
  assert.match(s.path as string, /^x{256}\.\.\. \(300 chars\)$/);
  assert.equal(s.data, '<5 bytes>');
  assert.deepEqual(s.list, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, '... (12 items)']);
  assert.deepEqual([s.n, s.flag], [1, true]);
  assert.deepEqual(s.deep, { a: '{...}' }, 'two levels of objects, then elided');
});

test('a local action is one JSON line in POOL/run/audit.log (0600) with who, what and the result', async () => {
  await withTmpDir((dir) => {
    const pool = path.join(dir, 'pool');
    const started = Date.now();
    auditLocal(pool, 'mkdir', { path: '/a' }, started);
    auditLocal(pool, 'rm', { path: '/b' }, started, new DfsError('ENOENT', '/b does not exist'));
    auditLocal(pool, 'status', {}, started);
    const file = path.join(pool, 'run', 'audit.log');
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    const lines = readAuditLog(file);
    assert.deepEqual(lines.map((l) => [l.via, l.op, l.result, l.error ?? null]), [['local', 'mkdir', 'ok', null], ['local', 'rm', 'ENOENT', '/b does not exist']]);
    const l = lines[0] as unknown as Record<string, unknown>;
    assert.deepEqual([l.level, l.component, l.msg, l.pid], [30, 'audit', 'admin action', process.pid]);
    assert.deepEqual(lines[0]!.who, { user: lines[0]!.who.user, uid: process.getuid!(), gid: process.getgid!(), pid: process.pid });
  });
});
