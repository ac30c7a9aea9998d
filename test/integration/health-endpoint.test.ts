/**
 * `dynamicfs metrics-server` on an unmounted pool, through the real CLI: GET /health
 * answers 200 while all is well, 202 when the disks' filesystems pass 85% or a disk
 * directory is removed (extents degraded), 503 once three of six disks are gone at
 * rs:4+2 (extents unrecoverable); each time `dynamicfs health --json` (through the
 * server's admin socket) prints the same body, and exits 3 when critical. /metrics
 * passes `promtool check metrics` and shows the same state. Offline, after the server
 * stops, `health` and `metrics` give the same verdict. Every change made on the way is
 * in the audit log, with who made it and a request id that the coordinator's log shares.
 *
 * The disks live on a small tmpfs, so that "full" is something the test controls and
 * the machine's own disk usage cannot change a verdict.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ping } from '../../src/admin/client';
import { runFiles } from '../../src/rpc/run-files';
import { readAuditLog } from '../../src/log/audit';
import { BIN, dfs, ok, run, type Json } from '../helpers/cli';
import { cleanupPool, stopChild } from '../helpers/daemon';
import { eventually, httpGet, parseExposition, promtool } from '../helpers/prometheus';
import { withTmpDir, withTmpfs } from '../helpers/tmp';

interface Server {
  child: ChildProcess;
  url: string;
  output(): string;
}

/** Start `dynamicfs metrics-server POOL ...args --json`; resolves once it answers ping, with its endpoint's URL. */
async function startMetricsServer(pool: string, args: string[]): Promise<Server> {
  const child = spawn(process.execPath, [BIN, 'metrics-server', pool, ...args, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (b: Buffer) => { out += b.toString(); });
  child.stderr!.on('data', (b: Buffer) => { out += b.toString(); });
  try {
    const url = await eventually('metrics-server to answer ping', 30_000, async () => {
      if (child.exitCode !== null) throw new Error(`metrics-server exited (${child.exitCode}): ${out}`);
      const who = await ping(pool, 1000).catch(() => undefined);
      return who !== undefined && who.pid === child.pid ? who.metricsUrl ?? 'none' : undefined;
    });
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/, 'bound to 127.0.0.1 by default, on the port the kernel picked');
    return { child, url, output: () => out };
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
}

function withoutOk(j: Json): Json {
  const { ok: _ok, ...rest } = j;
  return rest;
}

/**
 * GET /health, `dynamicfs health --json`, GET /health again: when both GETs agree, the
 * CLI must print the same body. (The disk monitor may move a vanished disk from
 * missing to failed between two calls: then look again.)
 */
async function healthAgrees(url: string, pool: string): Promise<{ status: number; body: Json; exit: number }> {
  let last: { a: string; b: string; cli: Json | undefined } | undefined;
  for (let i = 0; i < 20; i++) {
    const a = await httpGet(`${url}/health`);
    const cli = dfs('health', pool);
    const b = await httpGet(`${url}/health`);
    assert.equal(a.type, 'application/json');
    if (a.body === b.body && a.status === b.status) {
      assert.ok(cli.json, `health printed JSON: ${cli.stdout}${cli.stderr}`);
      if (JSON.stringify(withoutOk(cli.json)) === a.body) {
        assert.equal(cli.json.ok, true, 'a verdict is an answer, even a critical one');
        assert.equal(cli.code, cli.json.health === 'critical' ? 3 : 0, 'exit 3 exactly when critical');
        assert.equal(a.status, cli.json.httpStatus);
        return { status: a.status, body: JSON.parse(a.body) as Json, exit: cli.code };
      }
    }
    last = { a: a.body, b: b.body, cli: cli.json };
    await new Promise((r) => setTimeout(r, 300));
  }
  assert.deepEqual(last!.cli && withoutOk(last!.cli), JSON.parse(last!.a), 'dynamicfs health and GET /health agree');
  throw new Error('unreachable');
}

test('metrics-server: /health answers 200, 202, 503 as the pool degrades; the CLI agrees online and offline; actions are audited', async () => {
  await withTmpDir((root) => withTmpfs(64 << 20, async (fsDir) => {
    const pool = path.join(root, 'pool');
    ok('init', pool);
    const disks = Array.from({ length: 6 }, (_, i) => path.join(fsDir, `disk${i + 1}`));
    for (const d of disks) {
      fs.mkdirSync(d);
      ok('add-disk', pool, d);
    }
    const src = path.join(root, 'data.bin');
    fs.writeFileSync(src, randomBytes(5 << 20)); // two extents at the default 4 MiB
    ok('put', pool, src, '/data.bin');

    const srv = await startMetricsServer(pool, ['--port', '0']);
    let served: Json | undefined;
    try {
      // All well.
      let h = await healthAgrees(srv.url, pool);
      assert.equal(h.status, 200);
      assert.deepEqual([h.body.health, h.body.reasons, h.body.extents.healthy, h.body.extents.total], ['healthy', [], 2, 2]);

      // Past 85% of the disks' filesystem: degraded (202) for capacity alone, and back.
      const st = fs.statfsSync(fsDir);
      const filler = path.join(fsDir, 'filler');
      fs.writeFileSync(filler, Buffer.alloc(Math.ceil(0.9 * st.blocks * st.bsize - (st.blocks - st.bavail) * st.bsize)));
      h = await healthAgrees(srv.url, pool);
      assert.equal(h.status, 202);
      assert.deepEqual(h.body.reasons.map((r: Json) => r.code), ['capacity']);
      assert.ok(h.body.capacity.usedFraction > 0.85);
      fs.rmSync(filler);
      assert.equal((await healthAgrees(srv.url, pool)).status, 200);

      // A disk directory removed: its fragments are gone, every extent degraded.
      fs.rmSync(disks[0]!, { recursive: true });
      h = await healthAgrees(srv.url, pool);
      assert.equal(h.status, 202);
      assert.equal(h.body.health, 'degraded');
      assert.equal(h.body.extents.degraded, 2);
      // The disk is missing until the coordinator's monitor marks it failed (a tick or two):
      // each verdict on the way is exactly one of those two, and it ends failed.
      const codes = () => (h.body.reasons as Json[]).map((r) => r.code as string);
      const deadline = Date.now() + 60_000;
      while (codes()[0] === 'missing-disks') {
        assert.deepEqual(codes(), ['missing-disks', 'degraded-extents']);
        assert.ok(Date.now() < deadline, 'the monitor marked the vanished disk failed within a minute');
        await new Promise((r) => setTimeout(r, 300));
        h = await healthAgrees(srv.url, pool);
      }
      assert.deepEqual(codes(), ['failed-disks', 'degraded-extents']);
      assert.equal(h.body.extents.degraded, 2);

      const metrics = await httpGet(`${srv.url}/metrics`);
      assert.equal(metrics.status, 200);
      assert.match(metrics.type, /^text\/plain; version=0\.0\.4/);
      const lint = promtool(['check', 'metrics'], metrics.body);
      assert.equal(lint.code, 0, `promtool check metrics:\n${lint.out}`);
      const m = parseExposition(metrics.body);
      assert.equal(m.get('dynamicfs_disk_present{disk="1"}'), 0);
      assert.equal(m.get('dynamicfs_disk_present{disk="2"}'), 1);
      assert.equal(m.get('dynamicfs_extents{state="degraded"}'), 2);
      assert.equal(m.get('dynamicfs_pool_health{state="degraded"}'), 1);

      // Three of six disks gone at rs:4+2: unrecoverable, critical, 503, exit 3.
      fs.rmSync(disks[1]!, { recursive: true });
      fs.rmSync(disks[2]!, { recursive: true });
      h = await healthAgrees(srv.url, pool);
      assert.deepEqual([h.status, h.body.health, h.exit], [503, 'critical', 3]);
      assert.equal(h.body.reasons[0].code, 'unrecoverable-extents');
      assert.equal(h.body.reasons[0].severity, 'critical');
      assert.equal(h.body.extents.unrecoverable, 2);
      const human = run(['health', pool]);
      assert.equal(human.code, 3);
      assert.match(human.stdout, /is CRITICAL \(GET \/health answers 503\)/);
      assert.match(human.stdout, /unrecoverable-extents/);
      served = h.body;

      // The JSON flavour and the other routes.
      const json = JSON.parse((await httpGet(`${srv.url}/metrics/json`)).body) as Json;
      const unrec = (json.metrics as Json[]).find((x) => x.name === 'dynamicfs_extents')!.values.find((v: Json) => v.labels.state === 'unrecoverable');
      assert.equal(unrec.value, 2);
      assert.equal((await httpGet(`${srv.url}/nope`)).status, 404);
      assert.equal((await httpGet(`${srv.url}/health`, 'POST')).status, 405);
      assert.equal((await httpGet(`${srv.url}/health`, 'HEAD')).status, 503);

      // A change through the coordinator: audited with the caller and a request id.
      ok('mkdir', pool, '/via-socket');
      assert.equal(dfs('mkdir', pool, '/via-socket').json?.error?.code, 'EEXIST');

      await stopChild(srv.child, 'SIGTERM');
      assert.equal(srv.child.exitCode, 0, srv.output());
      assert.equal(JSON.parse(srv.output().trim().split('\n').pop()!).stoppedBy, 'SIGTERM');
    } finally {
      await stopChild(srv.child, 'SIGKILL');
      await cleanupPool(pool);
    }

    // Offline: the same verdict from a fresh open of the pool.
    const offline = dfs('health', pool);
    assert.equal(offline.code, 3);
    assert.deepEqual([offline.json?.health, offline.json?.extents], [served.health, served.extents]);
    // Disk reasons may differ: the coordinator's monitor moves vanished disks to failed over time.
    const notDisks = (rs: Json[]) => rs.map((r) => r.code).filter((c) => !/-disks$/.test(c));
    assert.deepEqual(notDisks(offline.json?.reasons), notDisks(served.reasons));
    const text = run(['metrics', pool]);
    assert.equal(text.code, 0, text.stderr);
    assert.equal(parseExposition(text.stdout).get('dynamicfs_extents{state="unrecoverable"}'), 2);
    assert.equal(promtool(['check', 'metrics'], text.stdout).code, 0);
    ok('mkdir', pool, '/offline');

    // The audit log: local runs, the coordinator's start and stop, and socket requests.
    const audit = readAuditLog(runFiles(pool).dir + '/audit.log');
    const summary = audit.map((e) => [e.via, e.op, e.result]);
    for (const want of [['local', 'init', 'ok'], ['local', 'add-disk', 'ok'], ['local', 'put', 'ok'], ['coordinator', 'coordinator-start', 'ok'],
      ['socket', 'mkdir', 'ok'], ['socket', 'mkdir', 'EEXIST'], ['coordinator', 'coordinator-stop', 'ok'], ['local', 'mkdir', 'ok']]) {
      assert.ok(summary.some((s) => JSON.stringify(s) === JSON.stringify(want)), `audit log has ${want.join(' ')}: ${JSON.stringify(summary)}`);
    }
    assert.ok(!audit.some((e) => ['health', 'metrics', 'status'].includes(e.op)), 'looking is not audited');
    const viaSocket = audit.find((e) => e.via === 'socket' && e.op === 'mkdir')!;
    assert.deepEqual(viaSocket.args, { path: '/via-socket', parents: false });
    assert.equal(viaSocket.who.uid, process.getuid!());
    assert.equal(viaSocket.who.verified, true, 'the declared pid runs as the declared uid');
    assert.notEqual(viaSocket.who.pid, process.pid);
    assert.match(viaSocket.reqId!, /^[0-9a-f]{12}$/);
    const failed = audit.find((e) => e.via === 'socket' && e.result === 'EEXIST')!;
    assert.match(failed.error!, /already exists/);
    const coordLog = fs.readFileSync(runFiles(pool).log, 'utf8').split('\n').filter((l) => l.includes(viaSocket.reqId!));
    assert.ok(coordLog.some((l) => /"msg":"admin request"/.test(l) && /"op":"mkdir"/.test(l)), 'the request id follows the request into coordinator.log');
    assert.equal(fs.statSync(runFiles(pool).dir + '/audit.log').mode & 0o777, 0o600);
  }));
});

test('metrics-server refuses a bad or busy port, and a pool already served', async () => {
  await withTmpDir(async (root) => {
    const pool = path.join(root, 'pool');
    ok('init', pool);
    assert.equal(dfs('metrics-server', pool, '--port', 'http').code, 2);
    assert.equal(dfs('metrics-server', pool).code, 2, '--port is required');
    const srv = await startMetricsServer(pool, ['--port', '0']);
    try {
      const port = new URL(srv.url).port;
      const busy = dfs('metrics-server', pool, '--port', port);
      assert.equal(busy.json?.error?.code, 'EPOOLBUSY', 'one coordinator per pool');
      const other = path.join(root, 'other');
      ok('init', other);
      const inUse = dfs('serve', other, '--metrics-port', port);
      assert.equal(inUse.json?.error?.code, 'EADDRINUSE', inUse.stdout);
      assert.match(inUse.json?.error?.message, /port is in use/);
      assert.equal(await ping(other, 500), undefined, 'the failed coordinator cleaned up');
    } finally {
      await stopChild(srv.child, 'SIGKILL');
      await cleanupPool(pool);
    }
  });
});
