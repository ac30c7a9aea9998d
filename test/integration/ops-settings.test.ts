/**
 * The operating settings, read by the product through the CLI: metrics.port / metrics.bind
 * start the endpoint of a mount given no metrics flags; mount.suid / mount.dev /
 * mount.allowOther are a mount's options unless a flag (or its --no- form) says otherwise,
 * in the foreground and through the detached `mount` alike; audit.lookups makes read-only
 * requests audited, at once in a running coordinator and in local runs; bad values are
 * refused naming the key, the value and the range; presets leave them alone.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { ping } from '../../src/admin/client';
import { forceUnmount } from '../../src/fuse/unmount';
import { readAuditLog } from '../../src/log/audit';
import { processAlive, runFiles } from '../../src/rpc/run-files';
import { fails, makePool, ok, type Json } from '../helpers/cli';
import { startServe, stopChild, waitGone } from '../helpers/daemon';
import { isMounted, withMount } from '../helpers/mount';
import { freePort, httpGet } from '../helpers/prometheus';
import { withTmpDir } from '../helpers/tmp';

/** The mount's options as /proc/mounts lists them. */
function mountOptions(mnt: string): string[] {
  const line = fs.readFileSync('/proc/mounts', 'utf8').split('\n').find((l) => l.split(' ')[1] === mnt);
  assert.ok(line, `${mnt} is mounted`);
  return line.split(' ')[3]!.split(',');
}

/** Which of the policy options the mount has. */
function policy(mnt: string): string[] {
  return mountOptions(mnt).filter((o) => ['nosuid', 'nodev', 'allow_other'].includes(o));
}

test('metrics.* and mount.*: a mount without flags serves /metrics and mounts suid, dev, allow_other as stored', async () => {
  await withMount(async ({ pool, mnt }) => {
    const who = await ping(pool, 2000);
    assert.match(who!.metricsUrl ?? '', /^http:\/\/127\.0\.0\.1:\d+$/, 'metrics.port=0: a free port on metrics.bind\'s default address');
    const r = await httpGet(`${who!.metricsUrl}/metrics`);
    assert.equal(r.status, 200);
    assert.match(r.body, /^dynamicfs_pool_health\{state="healthy"\} 1$/m);
    assert.deepEqual(policy(mnt), ['allow_other'], 'neither nosuid nor nodev; allow_other');
  }, { config: ['metrics.port=0', 'mount.suid=true', 'mount.dev=true', 'mount.allowOther=true'] });
});

test('flags win over the stored settings, their --no- forms too, through the detached mount', async () => {
  await withTmpDir(async (root) => {
    const { pool } = makePool(root, 3, '--redundancy', 'rs:2+1');
    const mnt = path.join(root, 'mnt');
    fs.mkdirSync(mnt);
    ok('config', pool, '--set', 'metrics.port=0', 'mount.suid=true', 'mount.dev=true', 'mount.allowOther=true');
    const port = await freePort();
    let pid: number | undefined;
    try {
      const m = ok('mount', pool, mnt, '--no-suid', '--no-allow-other', '--metrics-port', String(port));
      pid = m.pid as number;
      assert.equal(m.metricsUrl, `http://127.0.0.1:${port}`, '--metrics-port over metrics.port');
      assert.deepEqual(policy(mnt), ['nosuid'], '--no-suid and --no-allow-other over the settings; mount.dev=true still holds');
      assert.equal((await httpGet(`${m.metricsUrl}/health`)).status, 200);
      ok('unmount', mnt);
      await waitGone(pid);
    } finally {
      if (isMounted(mnt)) await forceUnmount(mnt).catch(() => undefined);
      if (pid !== undefined && processAlive(pid)) process.kill(pid, 'SIGKILL');
    }
    // --metrics-bind alone takes its port from metrics.port; with none stored it is a usage error, naming the setting.
    ok('config', pool, '--set', 'metrics.port=none');
    const e = fails('EUSAGE', ['serve', pool, '--metrics-bind', '127.0.0.1']);
    assert.equal(e.message, '--metrics-bind needs --metrics-port, or a port in the pool\'s setting metrics.port (dynamicfs config POOL --set metrics.port=N)');
  });
});

test('audit.lookups: read-only requests audited from the next request once set, through a coordinator and locally; never ping', async () => {
  await withTmpDir(async (root) => {
    const { pool } = makePool(root, 3, '--redundancy', 'rs:2+1');
    const log = path.join(runFiles(pool).dir, 'audit.log');
    const looks = (via: string): string[] => readAuditLog(log).filter((e) => e.via === via && ['status', 'jobs', 'ping'].includes(e.op)).map((e) => e.op);
    ok('status', pool);
    assert.deepEqual(looks('local'), [], 'looking is not audited by default');
    ok('config', pool, '--set', 'audit.lookups=true');
    ok('status', pool);
    assert.deepEqual(looks('local'), ['status'], 'a local run reads the setting too');

    const served = await startServe(pool);
    try {
      ok('status', pool);
      ok('jobs', pool);
      assert.deepEqual(looks('socket'), ['status', 'jobs'], 'each look through the coordinator; not the CLI\'s ping before it');
      ok('config', pool, '--set', 'audit.lookups=false');
      ok('status', pool);
      assert.deepEqual(looks('socket'), ['status', 'jobs'], 'the running coordinator stopped at once');
      const change = readAuditLog(log).filter((e) => e.via === 'socket' && e.op === 'config').map((e) => (e.args as Json).set);
      assert.deepEqual(change, [{ 'audit.lookups': false }], 'the change itself is audited');
    } finally {
      await stopChild(served.child);
    }
  });
});

test('the operating settings: shown by config, refused out of range naming key, value and range, left alone by presets', async () => {
  await withTmpDir((root) => {
    const pool = path.join(root, 'pool');
    ok('init', pool);
    const shown = new Map((ok('config', pool).settings as Json[]).map((s) => [s.key, [s.value, s.range, s.applies]]));
    assert.deepEqual(['metrics.port', 'metrics.bind', 'mount.suid', 'mount.dev', 'mount.allowOther', 'audit.lookups'].map((k) => shown.get(k)), [
      [null, '0..65535, or none', 'when the coordinator next starts (mount, serve)'],
      ['127.0.0.1', 'an IP address or host name', 'when the coordinator next starts (mount, serve)'],
      [false, 'true | false', 'at the next mount'], [false, 'true | false', 'at the next mount'], [false, 'true | false', 'at the next mount'],
      [false, 'true | false', 'at once (the admin socket\'s next request)']]);

    const refusals: [string, string][] = [
      ['metrics.port=65536', 'config: metrics.port=65536 is outside 0..65535, or none'],
      ['metrics.port=http', 'config: metrics.port="http" is not valid: metrics.port takes a port in 0..65535 (0: any free one), or none for no endpoint'],
      ['metrics.bind=a b', 'config: metrics.bind="a b" is not valid: metrics.bind takes an IP address or a host name (no spaces or slashes)'],
      ['audit.lookups=1', 'config: audit.lookups=1 is not valid: audit.lookups takes true or false'],
    ];
    for (const [pair, message] of refusals) assert.equal(fails('EINVAL', ['config', pool, '--set', pair]).message, message);

    const set = ['metrics.port=9100', 'metrics.bind=0.0.0.0', 'mount.suid=true', 'mount.allowOther=true', 'audit.lookups=true'];
    assert.equal(ok('config', pool, '--set', ...set).changes.length, 5);
    assert.ok(ok('config', pool, '--preset', 'testing').changes.length > 0);
    const after = new Map((ok('config', pool).settings as Json[]).map((s) => [s.key, s.value]));
    assert.deepEqual(['metrics.port', 'metrics.bind', 'mount.suid', 'mount.dev', 'mount.allowOther', 'audit.lookups'].map((k) => after.get(k)),
      [9100, '0.0.0.0', true, false, true, true], 'presets are a kind of pool, these the site\'s');
  });
});
