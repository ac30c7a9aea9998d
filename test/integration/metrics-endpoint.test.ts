/**
 * A pool mounted with `--metrics-port`, through the real CLI: the endpoint's figures come
 * from the real paths (FUSE operations by type, fragment writes and reads per disk, the
 * extent cache, metadata commits), pass `promtool check metrics`, and agree with
 * `dynamicfs metrics` / `health` sent through the coordinator's socket and, after the
 * unmount, with the same verbs run offline. A failed FUSE operation is counted by errno
 * and logged with a request id.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ping } from '../../src/admin/client';
import { runFiles } from '../../src/rpc/run-files';
import { dfs, ok, run, type Json } from '../helpers/cli';
import { waitGone } from '../helpers/daemon';
import { withMount } from '../helpers/mount';
import { families, freePort, httpGet, parseExposition, promtool } from '../helpers/prometheus';

/** Figures that describe the pool's state (not events, not the shared filesystem's free space). */
const STATE = /^dynamicfs_(disk_(info|state|present|fragments|recorded_errors)|extents|files|directories|logical_bytes|repair_queue_length|pool_health)\b/;

function stateOf(text: string): Map<string, number> {
  return new Map([...parseExposition(text, 'dynamicfs_')].filter(([k]) => STATE.test(k)));
}

function sum(m: Map<string, number>, name: string): number {
  let n = 0;
  for (const [k, v] of m) if (k === name || k.startsWith(`${name}{`)) n += v;
  return n;
}

/** A health answer without its space figures (the disks share the machine's filesystem, whose use moves). */
function verdict(h: Json): Json {
  const { ok: _ok, capacity: _capacity, ...rest } = h;
  return { ...rest, reasons: (rest.reasons as Json[]).filter((r) => r.code !== 'capacity') };
}

test('mount --metrics-port: live figures from the FUSE and disk paths; the CLI agrees online and offline', async () => {
  const port = await freePort();
  await withMount(async (m) => {
    const url = `http://127.0.0.1:${port}`;
    assert.equal((await ping(m.pool))?.metricsUrl, url, 'ping says where the endpoint is');

    // Writes through the mount; a file put through the socket, then read through the
    // mount (not in the kernel's page cache: FUSE reads, the extent cache misses).
    const a = randomBytes(6 << 20);
    fs.writeFileSync(path.join(m.mnt, 'a.bin'), a);
    const src = path.join(m.root, 'b.src');
    const b = randomBytes(5 << 20);
    fs.writeFileSync(src, b);
    ok('put', m.pool, src, '/b.bin');
    assert.ok(fs.readFileSync(path.join(m.mnt, 'b.bin')).equals(b));
    fs.mkdirSync(path.join(m.mnt, 'dir'));
    // A redundancy policy that does not parse: the FUSE setxattr handler answers EINVAL.
    const bad = spawnSync('python3', ['-c', 'import os, sys; os.setxattr(sys.argv[1], "user.dynamicfs.policy", b"rs:bogus")', path.join(m.mnt, 'dir')], { encoding: 'utf8' });
    assert.match(bad.stderr, /Invalid argument/, 'setxattr failed with EINVAL');

    const got = await httpGet(`${url}/metrics`);
    assert.equal(got.status, 200);
    const lint = promtool(['check', 'metrics'], got.body);
    assert.equal(lint.code, 0, `promtool check metrics:\n${lint.out}`);
    const live = parseExposition(got.body);
    const fams = families(got.body);
    assert.equal(fams.get('dynamicfs_fragment_writes_total'), 'counter');
    assert.equal(fams.get('dynamicfs_fuse_operation_duration_seconds'), 'histogram');
    assert.equal(fams.get('process_cpu_seconds_total'), 'counter', 'the coordinator adds process metrics');

    // a.bin: 2 extents, b.bin: 2 extents, 6 fragments each, one per disk.
    assert.equal(sum(live, 'dynamicfs_fragment_writes_total'), 24);
    for (let d = 1; d <= 6; d++) assert.equal(live.get(`dynamicfs_fragment_writes_total{disk="${d}"}`), 4, `disk ${d}`);
    // Payload bytes: rs:4+2 stores each extent as 6 quarters, 1.5 times the data.
    assert.equal(sum(live, 'dynamicfs_fragment_write_bytes_total'), 1.5 * (a.length + b.length));
    assert.equal(sum(live, 'dynamicfs_fragment_reads_total'), 8, 'b.bin read back: 4 data fragments per extent');
    // 6 MiB written and 5 MiB read in 128 KiB FUSE requests (big_writes, max_read).
    assert.equal(live.get('dynamicfs_fuse_operations_total{op="write"}'), 48);
    assert.equal(live.get('dynamicfs_fuse_operation_duration_seconds_count{op="write"}'), 48);
    assert.equal(live.get('dynamicfs_fuse_operations_total{op="read"}'), 40);
    assert.equal(live.get('dynamicfs_fuse_operations_total{op="create"}'), 1);
    // The first read misses and reads the second extent ahead: the other 39 reads hit,
    // the one still in flight too (the cache holds the pending read).
    assert.equal(live.get('dynamicfs_cache_misses_total'), 1);
    assert.equal(live.get('dynamicfs_cache_hits_total'), 39);
    assert.equal(live.get('dynamicfs_fuse_operation_errors_total{op="setxattr",code="EINVAL"}'), 1);
    // One admin request changed something (the put): its transaction group commit, with a.bin's writes in it.
    assert.equal(live.get('dynamicfs_txg_commits_total{reason="admin"}'), 1);
    assert.equal(live.get('dynamicfs_admin_requests_total{op="put",result="ok"}'), 1);
    assert.equal(live.get('dynamicfs_files'), 2);
    assert.equal(live.get('dynamicfs_extents{state="healthy"}'), 4);

    // The failed setxattr is in the log once, with its request id and its cause.
    const logLines = fs.readFileSync(runFiles(m.pool).log, 'utf8').split('\n');
    const failures = logLines.filter((l) => l.includes('"fuse request failed"')).map((l) => JSON.parse(l) as Json).filter((l) => l.op === 'setxattr');
    assert.equal(failures.length, 1, 'the failed setxattr was logged once');
    assert.equal(logLines.filter((l) => l.includes('rs:bogus')).length, 1, 'and by nothing else');
    const failed = failures[0]!;
    assert.equal(failed.err, 'redundancy "rs:bogus" is not rs:K+M or mirror:N (for example rs:4+2 or mirror:3)');
    assert.equal(failed.code, 'EINVAL');
    assert.equal(failed.path, '/dir');
    assert.match(failed.reqId, /^fuse-\d+$/);
    assert.equal(failed.component, 'fuse');

    // The CLI through the socket: the same families, the same state, and (nothing touched
    // the disks in between) the same fragment counters.
    const viaSocket = run(['metrics', m.pool]);
    assert.equal(viaSocket.code, 0, viaSocket.stderr);
    const after = await httpGet(`${url}/metrics`);
    assert.deepEqual([...families(viaSocket.stdout)].sort(), [...families(after.body)].sort());
    assert.deepEqual(stateOf(viaSocket.stdout), stateOf(after.body));
    assert.deepEqual(parseExposition(after.body, 'dynamicfs_fragment'), parseExposition(viaSocket.stdout, 'dynamicfs_fragment'));
    const json = ok('metrics', m.pool);
    const httpJson = JSON.parse((await httpGet(`${url}/metrics/json`)).body) as Json;
    assert.deepEqual((json.metrics as Json[]).map((x) => x.name).sort(), (httpJson.metrics as Json[]).map((x) => x.name).sort());
    assert.equal(httpJson.pool, m.pool);
    const health = ok('health', m.pool);
    const httpHealth = await httpGet(`${url}/health`);
    assert.deepEqual(verdict(health), verdict(JSON.parse(httpHealth.body) as Json));
    assert.equal(httpHealth.status, health.httpStatus);
    const online = stateOf(after.body);

    // Offline, after the unmount: the same state and verdict from a fresh open.
    const pid = (await ping(m.pool))!.pid;
    ok('unmount', m.mnt);
    await waitGone(pid);
    const offline = run(['metrics', m.pool]);
    assert.equal(offline.code, 0, offline.stderr);
    assert.deepEqual(stateOf(offline.stdout), online);
    assert.equal(sum(parseExposition(offline.stdout), 'dynamicfs_fragment_writes_total'), 0, 'a fresh engine has counted nothing yet');
    assert.deepEqual(verdict(dfs('health', m.pool).json!), verdict(health));
  }, { extra: ['--metrics-port', String(port)] });
});

test('mount and serve reject a bad --metrics-port or --metrics-bind before starting anything', () => {
  for (const bad of ['-1', '65536', 'x']) {
    const r = dfs('serve', '/nonexistent-pool', '--metrics-port', bad);
    assert.equal(r.code, 2, `--metrics-port ${bad}: ${r.stdout}`);
    assert.equal(r.json?.error?.code, 'EUSAGE');
  }
  // --metrics-bind alone is checked too (its port may come from the pool's metrics.port: ops-settings.test.ts).
  assert.equal(dfs('mount', '/nonexistent-pool', '/mnt', '--metrics-bind', 'a b').json?.error?.code, 'EUSAGE', 'a bad --metrics-bind');
});
