/**
 * Disk health, rebuild, drain, replace and remove through the real CLI and the mount:
 * a disk removed under live reads, more than m disks lost, a coordinator killed in the
 * middle of a rebuild, and the operator's verbs.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { until } from '../helpers/claims';
import { dfs, fails, ok, run, type Json } from '../helpers/cli';
import { BIN, makePool, startCoordinator, stopCoordinator } from '../helpers/mount';
import { Rng } from '../helpers/random';
import { rmrf, tmpDir, withTmpDir, withTmpfs, remountReadOnly } from '../helpers/tmp';

const EXTENT = '65536';

/** Write `n` files of random sizes (some inline, most several extents) into the pool; returns their bytes by pool path. */
function putFiles(root: string, pool: string, rng: Rng, n: number, maxBytes = 400_000): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  for (let i = 0; i < n; i++) {
    const data = rng.bytes(i === 0 ? 5000 : rng.int(70_000, maxBytes));
    const src = path.join(root, `src${i}`);
    fs.writeFileSync(src, data);
    ok('put', pool, src, `/f${i}`);
    files.set(`/f${i}`, data);
  }
  return files;
}

function status(pool: string): Json {
  return ok('status', pool);
}

/** Every extent of every file has all k+m fragments on distinct, healthy, present disks. */
function assertFullRedundancy(pool: string, files: Iterable<string>): void {
  const disks = new Map((ok('disks', pool).disks as Json[]).map((d) => [d.id as number, d]));
  for (const f of files) {
    for (const e of ok('stat', pool, f).extents as Json[]) {
      if (e.scheme === 'inline') continue;
      const ids = (e.fragments as Json[]).map((x) => x.diskId as number);
      assert.equal(ids.length, e.k + e.m, `${f}: extent at ${e.offset} has ${ids.length} fragments`);
      assert.equal(new Set(ids).size, ids.length, `${f}: two fragments of one extent on one disk`);
      for (const id of ids) {
        const d = disks.get(id);
        assert.ok(d && d.state === 'healthy' && d.present, `${f}: fragment on disk ${id} which is ${d ? d.state : 'gone'}`);
      }
    }
  }
}

/** A temp root for a pool the test mounts at root/mnt when it is ready; unmounted and removed afterwards. */
async function withServed(prefix: string, fn: (t: { root: string; mnt: string; mount: (pool: string) => Promise<void> }) => Promise<void>): Promise<void> {
  const root = tmpDir(prefix);
  const mnt = path.join(root, 'mnt');
  let child: ChildProcess | undefined;
  try {
    await fn({ root, mnt, mount: async (pool) => { child = (await startCoordinator(pool, mnt)).child; } });
  } finally {
    if (child) await stopCoordinator(mnt, child);
    rmrf(root);
  }
}

function sha(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

describe('disk health and rebuild', () => {
  it('a disk removed while mounted and under reads: reads stay correct, it fails, the rebuild restores full redundancy', async () => {
    const rng = new Rng();
    await withServed('dfs-rebuild-', async ({ root, mnt, mount }) => {
      const { pool, disks } = makePool(root, 5, 'rs:2+1', EXTENT);
      const files = putFiles(root, pool, rng, 12);
      await mount(pool);
      let stop = false;
      let reads = 0;
      const reader = (async () => {
        while (!stop) {
          for (const [name, data] of files) {
            const got = await fs.promises.readFile(path.join(mnt, name));
            assert.ok(got.equals(data), `seed ${rng.seed}: ${name} read wrong through the mount`);
            reads++;
          }
        }
      })();
      await until('first reads', () => reads >= 3);
      rmrf(disks[1]!);
      const st = await until('the pool to heal', () => {
        const s = status(pool);
        const d = (s.perDisk as Json[]).find((x) => x.path === disks[1]);
        return d?.state === 'failed' && s.extents.degraded === 0 && s.jobs.length === 0 ? s : undefined;
      });
      // Full redundancy again, but the failed disk is still registered: the operator's to remove or replace.
      assert.equal(st.health, 'degraded');
      assert.deepEqual((st.reasons as Json[]).map((r) => r.code), ['failed-disks']);
      stop = true;
      await reader;
      assert.equal(st.extents.degraded, 0);
      assert.equal(st.extents.unrecoverable, 0);
      assertFullRedundancy(pool, files.keys());
      const events = ok('disk-events', pool, disks[1]!).events as Json[];
      assert.equal(events.at(-1)!.to, 'failed');
      const job = (ok('jobs', pool).jobs as Json[]).find((j) => j.kind === 'rebuild');
      assert.ok(job && job.state === 'done' && job.progress.extentsDone > 0, JSON.stringify(job));
      for (const [name, data] of files) assert.ok(fs.readFileSync(path.join(mnt, name)).equals(data), name);
      // The coordinator's metrics saw the same work.
      const metrics = run(['metrics', pool]).stdout;
      assert.match(metrics, /^dynamicfs_rebuild_extents_total\{result="repaired"\} [1-9]/m);
      assert.match(metrics, /^dynamicfs_rebuild_bytes_total [1-9]/m);
      assert.match(metrics, /^dynamicfs_jobs\{kind="rebuild",state="done"\} 1$/m);
      const failedId = (ok('disks', pool).disks as Json[]).find((d) => d.path === disks[1])!.id as number;
      assert.match(metrics, new RegExp(`^dynamicfs_disk_state\\{disk="${failedId}",state="failed"\\} 1$`, 'm'));
    });
  });

  it('more than m disks lost: affected files fail with EIO and are named by status; the rest read; nothing is rewritten', async () => {
    const rng = new Rng();
    await withServed('dfs-lost-', async ({ root, mnt, mount }) => {
      const { pool, disks } = makePool(root, 5, 'rs:2+1', EXTENT);
      const files = putFiles(root, pool, rng, 10, 140_000);
      // Lose two disks that hold fragments of one extent of /f1: that extent is gone for sure.
      const victim = (ok('stat', pool, '/f1').extents as Json[]).find((e) => e.scheme !== 'inline')!;
      const lostIds = (victim.fragments as Json[]).slice(0, 2).map((f) => f.diskId as number);
      const diskRows = ok('disks', pool).disks as Json[];
      const lostPaths = lostIds.map((id) => diskRows.find((d) => d.id === id)!.path as string);
      // Which files lose an extent: any extent with 2 of its 3 fragments on the lost disks.
      const doomed = new Set<string>();
      for (const f of files.keys()) {
        for (const e of ok('stat', pool, f).extents as Json[]) {
          if (e.scheme !== 'inline' && (e.fragments as Json[]).filter((x) => lostIds.includes(x.diskId)).length > e.m) doomed.add(f);
        }
      }
      const survivors = [...files.keys()].filter((f) => !doomed.has(f));
      assert.ok(doomed.has('/f1') && survivors.length > 0, `seed ${rng.seed}`);
      // The fragment files on the remaining disks, byte for byte, before anything happens.
      const remaining = disks.filter((d) => !lostPaths.includes(d));
      const before = snapshot(remaining);
      for (const p of lostPaths) rmrf(p);

      await mount(pool);
      for (const f of survivors) assert.ok(fs.readFileSync(path.join(mnt, f)).equals(files.get(f)!), `${f} should read`);
      for (const f of doomed) {
        assert.throws(() => fs.readFileSync(path.join(mnt, f)), (e: NodeJS.ErrnoException) => e.code === 'EIO', `${f} should fail with EIO`);
      }
      const st = await until('the rebuild to end', () => {
        const s = status(pool);
        return s.jobs.length === 0 && (ok('jobs', pool).jobs as Json[]).some((j) => j.kind === 'rebuild') ? s : undefined;
      });
      assert.equal(st.health, 'critical');
      assert.deepEqual(new Set((st.extents.lostFiles as Json[]).map((x) => x.path)), doomed);
      const job = (ok('jobs', pool).jobs as Json[]).filter((j) => j.kind === 'rebuild').at(-1)!;
      assert.deepEqual(new Set((job.progress.unrecoverable as Json[]).map((x) => x.path)), doomed, JSON.stringify(job.progress));
      // Survivors were rebuilt elsewhere; not one fragment of a lost extent was touched.
      const after = snapshot(remaining);
      for (const [file, hash] of before) {
        const id = path.basename(file).split('.')[0]!;
        if (lostExtentIds(pool, doomed, lostIds).has(id)) assert.equal(after.get(file), hash, `${file} changed`);
      }
      for (const f of survivors) assert.ok(fs.readFileSync(path.join(mnt, f)).equals(files.get(f)!), `${f} should still read`);
    });
  });

  it('a coordinator killed in the middle of a rebuild resumes it on the next mount, and it finishes', async () => {
    const rng = new Rng();
    await withServed('dfs-rebuild-crash-', async ({ root, mnt, mount }) => {
      const { pool, disks } = makePool(root, 5, 'rs:2+1', EXTENT);
      const files = putFiles(root, pool, rng, 10);
      ok('set-disk-health', pool, disks[2]!, 'failed', '--reason', 'test: pulled');
      // One fragment per extent on a disk: the rebuild's work is every fragment the failed disk holds.
      const work = (ok('disks', pool).disks as Json[]).find((d) => d.path === disks[2])!.fragments as number;
      // A coordinator (serving without a mount: the rebuild may outrun the mount) kills
      // itself right after committing the 5th repaired extent.
      const first = spawn(process.execPath, [BIN, 'serve', pool], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, DYNAMICFS_CRASH_AT: 'repair-after-commit:5' } });
      let out = '';
      first.stdout.on('data', (d) => { out += d; });
      first.stderr.on('data', (d) => { out += d; });
      try {
        await until('the coordinator to die mid-rebuild', () => first.exitCode !== null || first.signalCode !== null);
      } finally {
        if (first.exitCode === null && first.signalCode === null) first.kill('SIGKILL');
      }
      assert.equal(first.signalCode, 'SIGKILL', out);
      const mid = (ok('jobs', pool).jobs as Json[]).find((j) => j.kind === 'rebuild')!;
      assert.equal(mid.state, 'running', 'a killed job is left running in the table');
      // Progress moves in the transaction that commits each repaired extent, so the kill
      // right after the 5th commit leaves exactly 5 done.
      assert.equal(mid.progress.extentsDone, 5, JSON.stringify(mid.progress));
      assert.equal(mid.progress.extentsTotal, work, 'every extent with a fragment on the failed disk');

      await mount(pool);
      const done = await until('the resumed rebuild to finish', () => {
        const j = (ok('jobs', pool).jobs as Json[]).find((x) => x.id === mid.id);
        return j?.state === 'done' ? j : undefined;
      });
      assert.ok(done.progress.extentsDone >= mid.progress.extentsDone, 'progress carried over');
      assert.equal(done.progress.extentsDone, done.progress.extentsTotal);
      assert.equal((ok('jobs', pool).jobs as Json[]).filter((j) => j.kind === 'rebuild').length, 1, 'the same job resumed, no second one');
      const healed = await until('full redundancy', () => {
        const s = status(pool);
        return s.extents.degraded === 0 && s.jobs.length === 0 ? s : undefined;
      });
      assert.equal(healed.health, 'degraded', 'the failed disk is still registered');
      assert.deepEqual((healed.reasons as Json[]).map((r) => r.code), ['failed-disks']);
      assertFullRedundancy(pool, files.keys());
      for (const [name, data] of files) assert.ok(fs.readFileSync(path.join(mnt, name)).equals(data), name);
    });
  });

  it('a disk that turns read-only under a running coordinator becomes suspect and takes no new fragments', async () => {
    await withTmpfs(64 << 20, async (ro) => {
      await withServed('dfs-ro-', async ({ root, mnt, mount }) => {
        const { pool } = makePool(root, 4, 'rs:2+1', EXTENT);
        ok('add-disk', pool, ro);
        await mount(pool);
        remountReadOnly(ro);
        await until('the disk to turn suspect', () => (ok('disks', pool).disks as Json[]).find((d) => d.path === ro)?.state === 'suspect');
        const ev = (ok('disk-events', pool, ro).events as Json[]).at(-1)!;
        assert.equal(ev.source, 'monitor');
        assert.match(ev.reason, /read-only/);
        fs.writeFileSync(path.join(mnt, 'after'), Buffer.alloc(300_000, 7));
        const roId = (ok('disks', pool).disks as Json[]).find((d) => d.path === ro)!.id;
        for (const e of ok('stat', pool, '/after').extents as Json[]) {
          assert.ok(!(e.fragments as Json[]).some((f) => f.diskId === roId), 'a fragment went to the suspect disk');
        }
      });
    });
  });
});

describe('operator verbs: set-disk-health, probe-disks, drain, remove-disk, replace-disk', () => {
  it('set-disk-health records events, refuses bad input, and healthy zeroes the error counters', async () => {
    await withTmpDir((root) => {
      const { pool, disks } = makePool(root, 3, 'rs:2+1', EXTENT);
      // Two extents, a fragment of each on every disk; flip a payload byte of both on disk 1.
      const src = path.join(root, 'src');
      fs.writeFileSync(src, new Rng().bytes(100_000));
      ok('put', pool, src, '/f');
      const frags = (fs.readdirSync(path.join(disks[0]!, 'frags'), { recursive: true }) as string[])
        .map((f) => path.join(disks[0]!, 'frags', f)).filter((f) => fs.statSync(f).isFile());
      assert.equal(frags.length, 2);
      for (const f of frags) {
        const fd = fs.openSync(f, 'r+');
        const b = Buffer.alloc(1);
        fs.readSync(fd, b, 0, 1, 4096);
        b[0] ^= 0xff;
        fs.writeSync(fd, b, 0, 1, 4096);
        fs.closeSync(fd);
      }
      fails('EFINDINGS', ['scrub', pool]);
      const counters = (d: Json) => [d.readErrors, d.checksumErrors, d.writeErrors];
      assert.deepEqual(counters((ok('disks', pool).disks as Json[])[0]!), [0, 2, 0], 'the scrub counted both checksum errors');
      const r = ok('set-disk-health', pool, disks[0]!, 'suspect', '--reason', 'smart warnings');
      assert.deepEqual([r.from, r.to, r.changed], ['healthy', 'suspect', true]);
      ok('set-disk-health', pool, '1', 'healthy');
      const ev = ok('disk-events', pool, '1').events as Json[];
      assert.deepEqual(ev.map((e) => e.to), ['healthy', 'suspect', 'healthy']);
      assert.equal(ev[1]!.reason, 'smart warnings');
      assert.equal(ev[1]!.source, 'operator');
      fails('EINVAL', ['set-disk-health', pool, '1', 'sick']);
      fails('ENODISK', ['set-disk-health', pool, '99', 'failed']);
      const d1 = (ok('disks', pool).disks as Json[])[0]!;
      assert.equal(d1.state, 'healthy', 'nothing changed by the refused calls');
      assert.deepEqual(counters(d1), [0, 0, 0], 'back to healthy zeroed the error counters');
    });
  });

  it('error counters past the configured thresholds degrade a disk; config refuses bad thresholds', async () => {
    await withTmpDir((root) => {
      const rng = new Rng();
      const { pool } = makePool(root, 3, 'rs:2+1', EXTENT);
      fails('EINVAL', ['config', pool, '--set', 'health.degradedErrors=9', 'health.suspectErrors=2']);
      fails('EINVAL', ['config', pool, '--set', 'health.bogus=1']);
      assert.equal(ok('config', pool).health.degradedErrors, 3, 'refused settings changed nothing');
      ok('config', pool, '--set', 'health.degradedErrors=1', 'health.suspectErrors=2');
      const files = putFiles(root, pool, rng, 2, 200_000);
      // Corrupt one byte of the payload of the fragments /f1 has on one disk.
      const e0 = (ok('stat', pool, '/f1').extents as Json[]).filter((e) => e.scheme !== 'inline');
      const victim = e0[0]!.fragments[0];
      let corrupted = 0;
      for (const e of e0) {
        // Data fragments only: a read takes those first, so each corruption is met exactly once.
        const f = (e.fragments as Json[]).find((x) => x.diskId === victim.diskId);
        if (!f || f.index >= e.k) continue;
        const file = path.join(victim.diskPath, 'frags', e.id.slice(0, 2), e.id.slice(2, 4), `${e.id}.${f.index}`);
        const fd = fs.openSync(file, 'r+');
        fs.writeSync(fd, Buffer.from([0xff ^ fs.readFileSync(file)[4096 + 10]!]), 0, 1, 4096 + 10);
        fs.closeSync(fd);
        corrupted++;
      }
      const out = path.join(root, 'out');
      ok('get', pool, '/f1', out);
      assert.ok(fs.readFileSync(out).equals(files.get('/f1')!), 'read correct despite the corruption');
      const d = (ok('disks', pool).disks as Json[]).find((x) => x.id === victim.diskId)!;
      assert.equal(d.checksumErrors, corrupted);
      assert.equal(d.state, corrupted >= 2 ? 'suspect' : 'degraded');
      const ev = (ok('disk-events', pool, String(victim.diskId)).events as Json[]).at(-1)!;
      assert.equal(ev.source, 'errors');
      assert.match(ev.reason, /checksum/);
    });
  });

  it('fragment I/O slower than health.suspectLatencyMs makes the disk suspect', async () => {
    await withTmpDir((root) => {
      // One 96 MiB extent, so each of its three fragments is 48 MiB: writing that much cannot
      // take under 1 ms on any machine (48 GB/s), however fast its disk or idle its cores.
      const { pool } = makePool(root, 3, 'rs:2+1', String(96 << 20));
      ok('config', pool, '--set', 'health.suspectLatencyMs=1');
      const src = path.join(root, 'src');
      fs.writeFileSync(src, Buffer.alloc(96 << 20, 1));
      ok('put', pool, src, '/slow');
      const ev = (ok('disk-events', pool).events as Json[]).filter((e) => e.to === 'suspect');
      assert.deepEqual(ev.map((e) => e.diskId).sort(), [1, 2, 3], 'every disk that took a fragment turned suspect');
      for (const e of ev) assert.match(e.reason, /fragment write took \d+ ms \(limit health.suspectLatencyMs = 1 ms\)/);
      // With every disk suspect, a new file is refused for what it is: no healthy disks.
      assert.deepEqual((ok('disks', pool).disks as Json[]).map((d) => d.state), ['suspect', 'suspect', 'suspect']);
      assert.match(fails('ENODISKS', ['put', pool, src, '/second']).message, /healthy disks/);
    });
  });

  it('probe-disks fails a disk whose label is missing or foreign, and leaves good disks healthy', async () => {
    await withTmpDir((root) => {
      const { pool, disks } = makePool(root, 4, 'rs:2+1', EXTENT);
      const other = makePool(path.join(root, 'other'), 1, 'rs:2+1', EXTENT);
      fs.rmSync(path.join(disks[1]!, 'dynamicfs.label'));
      fs.copyFileSync(path.join(other.disks[0]!, 'dynamicfs.label'), path.join(disks[2]!, 'dynamicfs.label'));
      const r = ok('probe-disks', pool).disks as Json[];
      assert.deepEqual(r.map((d) => [d.label, d.state]), [['ok', 'healthy'], ['missing', 'failed'], ['foreign', 'failed'], ['ok', 'healthy']]);
      assert.ok(r[0]!.latencyMs > 0 && r[0]!.freeBytes > 0);
      assert.equal((ok('disk-events', pool, '3').events as Json[]).at(-1)!.source, 'probe');
    });
  });

  it('drain moves every fragment off; remove-disk refuses before and succeeds after; files intact', async () => {
    await withTmpDir((root) => {
      const rng = new Rng();
      const { pool, disks } = makePool(root, 4, 'rs:2+1', EXTENT);
      const files = putFiles(root, pool, rng, 6);
      const e = fails('EDISKINUSE', ['remove-disk', pool, disks[0]!]);
      assert.match(e.message, /drain/);
      const r = ok('drain', pool, disks[0]!);
      assert.equal(r.job.state, 'done', JSON.stringify(r.job));
      const d0 = (ok('disks', pool).disks as Json[])[0]!;
      assert.deepEqual([d0.state, d0.fragments], ['draining', 0]);
      ok('remove-disk', pool, disks[0]!);
      assert.ok(!fs.existsSync(path.join(disks[0]!, 'dynamicfs.label')), 'label removed so the directory can be reused');
      assert.equal(status(pool).health, 'healthy');
      assertFullRedundancy(pool, files.keys());
      for (const [name, data] of files) {
        const out = path.join(root, 'out');
        ok('get', pool, name, out);
        assert.equal(sha(fs.readFileSync(out)), sha(data), name);
      }
    });
  });

  it('through a running coordinator: drain --wait ends done, remove-disk works, jobs refuses unknown ids', async () => {
    const rng = new Rng();
    await withServed('dfs-drain-served-', async ({ root, mnt, mount }) => {
      const { pool, disks } = makePool(root, 4, 'rs:2+1', EXTENT);
      const files = putFiles(root, pool, rng, 5);
      await mount(pool);
      const r = ok('drain', pool, disks[3]!, '--wait');
      assert.equal(r.finished, true);
      assert.equal(r.job.state, 'done', JSON.stringify(r.job));
      assert.equal((ok('disks', pool).disks as Json[]).find((d) => d.path === disks[3])!.fragments, 0);
      ok('remove-disk', pool, disks[3]!);
      assert.equal((ok('disks', pool).disks as Json[]).length, 3);
      fails('ENOENT', ['jobs', pool, '--cancel', '999']);
      fails('EUSAGE', ['jobs', pool, '--pause', '1', '--resume', '1']);
      assertFullRedundancy(pool, files.keys());
      for (const [name, data] of files) assert.ok(fs.readFileSync(path.join(mnt, name)).equals(data), name);
    });
  });

  it('replace-disk rebuilds a failed disk onto the new one and retires the old', async () => {
    await withTmpDir((root) => {
      const rng = new Rng();
      const { pool, disks } = makePool(root, 3, 'rs:2+1', EXTENT);
      const files = putFiles(root, pool, rng, 6);
      rmrf(disks[1]!);
      const fresh = path.join(root, 'fresh');
      fs.mkdirSync(fresh);
      // Three disks, rs:2+1: the new disk is the only place the lost fragments can go.
      const r = ok('replace-disk', pool, '2', fresh);
      assert.equal(r.job.state, 'done', JSON.stringify(r.job));
      const list = ok('disks', pool).disks as Json[];
      assert.deepEqual(list.map((d) => d.path).sort(), [disks[0], disks[2], fresh].sort());
      assert.equal(status(pool).health, 'healthy');
      assertFullRedundancy(pool, files.keys());
      for (const [name, data] of files) {
        const out = path.join(root, 'out');
        ok('get', pool, name, out);
        assert.ok(fs.readFileSync(out).equals(data), name);
      }
      const bad = dfs('replace-disk', pool, '77', path.join(root, 'nope'));
      assert.equal(bad.json?.error?.code, 'ENODISK');
    });
  });
});

/** sha256 of every fragment file under the disks, by path. */
function snapshot(disks: string[]): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (dir: string): void => {
    for (const ent of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, ent.name);
      if (ent.isDirectory()) walk(p);
      else if (/^[0-9a-f]{32}\.\d+$/.test(ent.name)) out.set(p, sha(fs.readFileSync(p)));
    }
  };
  for (const d of disks) walk(path.join(d, 'frags'));
  return out;
}

/** Hex ids of the extents of `files` that lost more than m fragments to `lostIds`. */
function lostExtentIds(pool: string, files: Set<string>, lostIds: number[]): Set<string> {
  const out = new Set<string>();
  for (const f of files) {
    for (const e of ok('stat', pool, f).extents as Json[]) {
      if (e.scheme !== 'inline' && (e.fragments as Json[]).filter((x) => lostIds.includes(x.diskId)).length > e.m) out.add(e.id as string);
    }
  }
  return out;
}
