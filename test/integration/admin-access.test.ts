/**
 * Who may use the coordinator's admin socket: the kernel says who connected
 * (SO_PEERCRED), not the client. Root (these tests' user) is served and audited with its
 * kernel identity; a process of another user that reaches the socket (its mode opened
 * up by hand) is refused with EACCES whatever identity it declares, and the refusal is
 * logged and audited; the socket file is created 0600. Members of admin.monitorGroup
 * (primary or supplementary) may look, not change.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { readAuditLog } from '../../src/log/audit';
import { encodeFrame, FrameReader, MAX_REPLY_BYTES } from '../../src/rpc/frame';
import { runFiles } from '../../src/rpc/run-files';
import { fails, makePool, ok } from '../helpers/cli';
import { startServe, stopChild } from '../helpers/daemon';
import { NOBODY, requestAsNobody } from '../helpers/peer';
import { withTmpDir } from '../helpers/tmp';

test('admin socket: the kernel names the peer; root is served, another user is refused with EACCES and audited', async () => {
  await withTmpDir(async (root) => {
    const { pool } = makePool(root);
    const served = await startServe(pool);
    try {
      const sock = runFiles(pool).socket;
      assert.equal(fs.statSync(sock).mode & 0o777, 0o600, 'the socket is created 0600');
      assert.equal(fs.statSync(runFiles(pool).dir).mode & 0o777, 0o700, 'the run directory is private');
      for (const f of [runFiles(pool).log, path.join(runFiles(pool).dir, 'audit.log')]) assert.equal(fs.statSync(f).mode & 0o777, 0o600, `${f} is private`);

      // Root: served, and audited with the kernel's identity of the CLI process.
      ok('mkdir', pool, '/by-root');
      // Another user cannot even connect while the socket is 0600.
      for (const dir of [root, pool, runFiles(pool).dir]) fs.chmodSync(dir, 0o755);
      const lying = { id: 7, op: 'mkdir', args: { path: '/by-nobody', parents: false }, caller: { user: 'root', uid: 0, gid: 0, pid: 1 } };
      assert.deepEqual(requestAsNobody(sock, lying), { connectError: 'EACCES' });

      // Opened up by hand: the socket answers, and the kernel's uid decides, not the declared one.
      fs.chmodSync(sock, 0o666);
      const reply = requestAsNobody(sock, lying) as { id: number; ok: boolean; error: { code: string; message: string } };
      assert.equal(reply.id, 7);
      assert.equal(reply.ok, false);
      assert.equal(reply.error.code, 'EACCES');
      assert.match(reply.error.message, new RegExp(`mkdir: uid ${NOBODY} \\(PID \\d+\\) may not use this pool's admin socket; only root and uid 0`));
      const looking = requestAsNobody(sock, { id: 8, op: 'status', args: {} }) as { ok: boolean; error: { code: string } };
      assert.deepEqual([looking.ok, looking.error.code], [false, 'EACCES'], 'looking is refused too');
      assert.equal(ok('ls', pool, '/').entries.map((e: { name: string }) => e.name).includes('by-nobody'), false, 'nothing was made');

      const audit = readAuditLog(path.join(runFiles(pool).dir, 'audit.log')).filter((e) => e.via === 'socket');
      const byRoot = audit.find((e) => e.op === 'mkdir' && e.result === 'ok')!;
      assert.deepEqual([byRoot.who.uid, byRoot.who.gid, byRoot.who.verified], [0, 0, true]);
      assert.notEqual(byRoot.who.pid, process.pid, 'the CLI process, not the test');
      const refused = audit.filter((e) => e.result === 'EACCES');
      assert.deepEqual(refused.map((e) => [e.op, e.who.uid, e.who.gid, e.who.user, e.who.verified]),
        [['mkdir', NOBODY, NOBODY, `uid ${NOBODY}`, true], ['status', NOBODY, NOBODY, `uid ${NOBODY}`, true]],
        'both refusals are audited under the kernel\'s identity, not the declared root');
      assert.ok(refused.every((e) => e.who.pid !== 1 && e.who.pid > 0));
      const log = fs.readFileSync(runFiles(pool).log, 'utf8');
      assert.equal(log.split('\n').filter((l) => l.includes('admin request refused')).length, 2);
    } finally {
      await stopChild(served.child);
    }
  });
});

test('admin socket: members of admin.monitorGroup run read-only commands only; the socket follows the setting', async () => {
  await withTmpDir(async (root) => {
    const { pool } = makePool(root);
    const served = await startServe(pool);
    try {
      const sock = runFiles(pool).socket;
      for (const dir of [root, pool]) fs.chmodSync(dir, 0o755);
      const MONITORS = 4242;
      fails('EINVAL', ['config', pool, '--set', 'admin.monitorGroup=4294967295']);
      assert.equal(ok('config', pool).admin.monitorGroup, null, 'refused: nothing set');
      assert.equal(ok('config', pool, '--set', `admin.monitorGroup=${MONITORS}`).admin.monitorGroup, MONITORS);
      const st = fs.statSync(sock);
      assert.deepEqual([st.mode & 0o777, st.gid], [0o660, MONITORS], 'the running coordinator opened the socket to the group');
      const dir = fs.statSync(runFiles(pool).dir);
      assert.deepEqual([dir.mode & 0o777, dir.gid], [0o750, MONITORS], 'and the run directory, to search only');

      const status = { id: 1, op: 'status', args: {} };
      const jobs = { id: 2, op: 'jobs', args: {} };
      const mkdir = { id: 3, op: 'mkdir', args: { path: '/by-monitor', parents: false } };
      // A member by primary group and one by a supplementary group: both may look.
      for (const [gid, groups] of [[MONITORS, []], [NOBODY, [MONITORS]]] as [number, number[]][]) {
        const r = requestAsNobody(sock, status, gid, groups) as { ok: boolean; data: { pool: string } };
        assert.equal(r.ok, true, `status as gid ${gid} groups [${groups}]: ${JSON.stringify(r)}`);
        assert.equal(r.data.pool, pool);
        assert.equal((requestAsNobody(sock, jobs, gid, groups) as { ok: boolean }).ok, true, 'jobs (looking) is read-only');
        const history = requestAsNobody(sock, { id: 5, op: 'events', args: { kinds: ['disk'] } }, gid, groups) as { ok: boolean; data: { events: { kind: string }[] } };
        assert.equal(history.ok, true, `events (reading the history) is read-only: ${JSON.stringify(history)}`);
        assert.deepEqual(history.data.events.map((e) => e.kind), ['disk', 'disk', 'disk', 'disk', 'disk', 'disk'], 'the six disks\' additions');
        const w = requestAsNobody(sock, mkdir, gid, groups) as { ok: boolean; error: { code: string; message: string } };
        assert.deepEqual([w.ok, w.error.code], [false, 'EACCES']);
        assert.match(w.error.message, /^mkdir: uid 65534 \(PID \d+\) is in the monitoring group 4242 \(admin\.monitorGroup\), which may run read-only commands only: .*status.*; run mkdir as root or uid 0$/);
        const cancel = requestAsNobody(sock, { id: 4, op: 'jobs', args: { action: 'cancel', id: 1 } }, gid, groups) as { error: { code: string } };
        assert.equal(cancel.error.code, 'EACCES', 'jobs with an action changes something');
        const up = requestAsNobody(sock, { id: 5, op: 'upgrade', args: { dryRun: true } }, gid, groups) as { error: { code: string } };
        assert.equal(up.error.code, 'EACCES', 'upgrade is an administrator\'s action, even as a dry run');
      }
      // Not in the group: the socket's mode keeps it out.
      assert.deepEqual(requestAsNobody(sock, status), { connectError: 'EACCES' });
      assert.equal(ok('ls', pool, '/').entries.length, 0, 'the monitors made nothing');
      const refused = readAuditLog(path.join(runFiles(pool).dir, 'audit.log')).filter((e) => e.result === 'EACCES');
      assert.deepEqual(refused.map((e) => [e.op, e.who.uid]),
        [['mkdir', NOBODY], ['jobs', NOBODY], ['upgrade', NOBODY], ['mkdir', NOBODY], ['jobs', NOBODY], ['upgrade', NOBODY]]);

      // Cleared: back to 0600, and members are out again.
      assert.equal(ok('config', pool, '--set', 'admin.monitorGroup=0').admin.monitorGroup, null);
      assert.equal(fs.statSync(sock).mode & 0o777, 0o600);
      assert.equal(fs.statSync(runFiles(pool).dir).mode & 0o777, 0o700);
      assert.deepEqual(requestAsNobody(sock, status, MONITORS), { connectError: 'EACCES' });
    } finally {
      await stopChild(served.child);
    }
  });
});

test('admin socket: at most 32 requests in flight per connection (the rest get EBUSY), at most 64 connections', { timeout: 60_000 }, async () => {
  await withTmpDir(async (root) => {
    const { pool } = makePool(root);
    const served = await startServe(pool);
    const sockets: net.Socket[] = [];
    try {
      const sock = runFiles(pool).socket;
      const connect = (): Promise<net.Socket> => new Promise((resolve, reject) => {
        const c = net.connect(sock, () => resolve(c));
        c.once('error', reject);
        sockets.push(c);
      });
      // 40 requests in one write: the server dispatches them together, before any can finish.
      const c = await connect();
      const reader = new FrameReader(MAX_REPLY_BYTES);
      const replies: { id: number; ok: boolean; error?: { code: string } }[] = [];
      const all = new Promise<void>((resolve) => c.on('data', (d: Buffer) => {
        for (const f of reader.push(d)) if (f.ok) replies.push(f.value as (typeof replies)[number]);
        if (replies.length === 40) resolve();
      }));
      c.write(Buffer.concat(Array.from({ length: 40 }, (_, i) => encodeFrame({ id: i + 1, op: 'status', args: {} }))));
      await all;
      replies.sort((a, b) => a.id - b.id);
      assert.deepEqual(replies.filter((r) => r.ok).map((r) => r.id), Array.from({ length: 32 }, (_, i) => i + 1));
      assert.deepEqual(replies.filter((r) => !r.ok).map((r) => [r.id, r.error!.code]), Array.from({ length: 8 }, (_, i) => [33 + i, 'EBUSY']));

      // 64 connections are served (this one included); the 65th is closed at once.
      for (let i = 1; i < 64; i++) await connect();
      const extra = await connect();
      const closed = await new Promise<boolean>((resolve) => {
        if (extra.destroyed) return resolve(true);
        const t = setTimeout(() => resolve(false), 10_000);
        extra.once('close', () => { clearTimeout(t); resolve(true); });
      });
      assert.equal(closed, true, 'the 65th connection is closed by the server');
      const last = sockets[63]!;
      const r = new FrameReader(MAX_REPLY_BYTES);
      const reply = new Promise<unknown>((resolve) => last.on('data', (d: Buffer) => { const f = r.push(d); if (f.length) resolve(f[0]!.ok && f[0]!.value); }));
      last.write(encodeFrame({ id: 99, op: 'ping', args: {} }));
      assert.equal((await reply as { id: number; ok: boolean }).ok, true, 'the 64th connection is served');
    } finally {
      for (const s of sockets) s.destroy();
      await stopChild(served.child);
    }
  });
});
