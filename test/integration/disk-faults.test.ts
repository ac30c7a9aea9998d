/**
 * Disks misbehaving under the pool, through the real CLI: a disk out of space during a put
 * (the fragment is retried on another disk; with none left the put fails whole), a failed
 * disk coming back with stale fragments after its extents were rebuilt elsewhere (they are
 * never used, and gc removes exactly them), and two coordinators started at the same
 * instant on one pool (exactly one wins, the other fails with EPOOLBUSY).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { dfs, fails, makePool, ok, type Json } from '../helpers/cli';
import { BIN } from '../helpers/mount';
import { cleanupPool, stopChild } from '../helpers/daemon';
import { Rng } from '../helpers/random';
import { withTmpDir, withTmpfs } from '../helpers/tmp';

// A tmpfs with room for its root, the label, frags/ and tmp/ and nothing more: statfs says
// 1 TiB free (so placement ranks it first), and every fragment write to it fails ENOSPC.
const FULL_SIZE = 2 ** 40;
const FULL_INODES = 4;

function fragmentFiles(disk: string): string[] {
  const dir = path.join(disk, 'frags');
  if (!fs.existsSync(dir)) return []; // created with the first fragment the disk takes
  return (fs.readdirSync(dir, { recursive: true }) as string[]).filter((f) => fs.statSync(path.join(dir, f)).isFile()).sort();
}

function diskOf(pool: string, dir: string): Json {
  return (ok('disks', pool).disks as Json[]).find((d) => d.path === dir)!;
}

function putFile(root: string, pool: string, name: string, data: Buffer): void {
  const src = path.join(root, `src-${name}`);
  fs.writeFileSync(src, data);
  ok('put', pool, src, `/${name}`);
}

function readsBack(root: string, pool: string, files: Map<string, Buffer>): void {
  for (const [name, data] of files) {
    const dest = path.join(root, `back-${name}`);
    ok('get', pool, `/${name}`, dest);
    assert.ok(fs.readFileSync(dest).equals(data), `/${name} reads back exactly`);
  }
}

test('ENOSPC on a disk during a put: each fragment is retried on another disk; with none left the put fails whole', async () => {
  await withTmpDir((root) => withTmpfs(FULL_SIZE, (full) => withTmpfs(FULL_SIZE, async (full2) => {
    const { pool, disks } = makePool(root, 6, '--extent-size', '64k');
    ok('add-disk', pool, full);
    const rng = new Rng();
    const files = new Map<string, Buffer>();
    for (let i = 0; i < 3; i++) {
      // One extent each: placed at load 0, so the emptiest disk (the full tmpfs) is picked first.
      const data = rng.bytes(50_000);
      putFile(root, pool, `f${i}`, data);
      files.set(`f${i}`, data);
      const ids = (ok('stat', pool, `/f${i}`).extents as Json[])[0]!.fragments.map((f: Json) => f.diskPath as string).sort();
      assert.deepEqual(ids, [...disks].sort(), `f${i}: the fragment meant for the full disk went to the one disk left`);
    }
    const d = diskOf(pool, full);
    assert.deepEqual([d.state, d.fragments, d.writeErrors], ['healthy', 0, 0], 'a full disk is not a failing one: ENOSPC counts no error');
    assert.deepEqual(fragmentFiles(full), []);
    readsBack(root, pool, files);

    // A second full disk, and one good disk taking no new fragments (suspect): 7 writable
    // disks, 2 of them full, so an extent needs two retries and only one disk is left for
    // them. The put fails with ENOSPC and stores nothing.
    ok('add-disk', pool, full2);
    ok('set-disk-health', pool, disks[0]!, 'suspect', '--reason', 'test: takes no new fragments');
    const src = path.join(root, 'src-big');
    fs.writeFileSync(src, rng.bytes(50_000));
    const err = fails('ENOSPC', ['put', pool, src, '/big']);
    assert.match(err.message, /could not be written/);
    fails('ENOENT', ['stat', pool, '/big']);
    assert.deepEqual(ok('ls', pool, '/').entries.map((e: Json) => e.name).sort(), ['f0', 'f1', 'f2']);
    // What the failed put wrote is unreferenced: gc takes exactly that, and the files stand.
    const dry = ok('gc', pool, '--min-age', '0', '--dry-run');
    assert.equal(ok('gc', pool, '--min-age', '0').removed, dry.orphans.length);
    assert.equal(ok('gc', pool, '--min-age', '0', '--dry-run').orphans.length, 0);
    assert.deepEqual([fragmentFiles(full), fragmentFiles(full2)], [[], []]);
    readsBack(root, pool, files);
  }, FULL_INODES), FULL_INODES));
});

test('ENOSPC on a disk during a rebuild and a drain: the fragment is retried on another disk', async () => {
  await withTmpDir((root) => withTmpfs(FULL_SIZE, async (full) => {
    const { pool, disks } = makePool(root, 6, '--extent-size', '64k');
    const rng = new Rng();
    const files = new Map<string, Buffer>();
    for (let i = 0; i < 3; i++) {
      const data = rng.bytes(rng.int(70_000, 200_000));
      putFile(root, pool, `f${i}`, data);
      files.set(`f${i}`, data);
    }
    // Extents on disks (the status total also counts inline ones): each has a fragment on every disk.
    const extents = diskOf(pool, disks[0]!).fragments as number;
    // Every extent is on all six disks. Now a full disk (ranked first: 1 TiB free) and one with room.
    ok('add-disk', pool, full);
    const spare = path.join(root, 'spare');
    fs.mkdirSync(spare);
    ok('add-disk', pool, spare);

    ok('set-disk-health', pool, disks[0]!, 'failed', '--reason', 'test: rebuild away from it');
    const rebuilt = ok('rebuild', pool).job as Json;
    assert.deepEqual([rebuilt.state, rebuilt.progress.extentsDone, rebuilt.progress.stuck], ['done', extents, 0], JSON.stringify(rebuilt));
    assert.deepEqual([diskOf(pool, disks[0]!).fragments, diskOf(pool, full).fragments, diskOf(pool, spare).fragments], [0, 0, extents]);
    assert.deepEqual(fragmentFiles(full), []);
    readsBack(root, pool, files);

    const spare2 = path.join(root, 'spare2');
    fs.mkdirSync(spare2);
    ok('add-disk', pool, spare2);
    const drained = ok('drain', pool, disks[1]!).job as Json;
    assert.deepEqual([drained.state, drained.progress.stuck], ['done', 0], JSON.stringify(drained));
    assert.deepEqual([diskOf(pool, disks[1]!).fragments, diskOf(pool, full).fragments, diskOf(pool, spare2).fragments], [0, 0, extents]);
    assert.deepEqual(fragmentFiles(full), []);
    const d = diskOf(pool, full);
    assert.deepEqual([d.state, d.writeErrors], ['healthy', 0], 'ENOSPC counts no error against the full disk');
    readsBack(root, pool, files);
  }, FULL_INODES));
});

test('a failed disk that comes back after its extents were rebuilt elsewhere: its stale fragments are unused and gc removes exactly them', async () => {
  await withTmpDir((root) => {
    // 7 disks for rs:4+2: every extent has one disk without a fragment of it, where a rebuild can go.
    const { pool, disks } = makePool(root, 7, '--extent-size', '64k');
    const rng = new Rng();
    const files = new Map<string, Buffer>();
    for (let i = 0; i < 4; i++) {
      const data = rng.bytes(rng.int(70_000, 300_000));
      putFile(root, pool, `f${i}`, data);
      files.set(`f${i}`, data);
    }
    const victim = disks[2]!;
    const stale = fragmentFiles(victim);
    assert.equal(stale.length, diskOf(pool, victim).fragments);
    assert.ok(stale.length > 0, `seed ${rng.seed}: the victim holds fragments`);

    // The disk goes away and is declared failed; its extents are rebuilt onto the others.
    const away = `${victim}.away`;
    fs.renameSync(victim, away);
    ok('set-disk-health', pool, victim, 'failed', '--reason', 'test: pulled');
    const rebuilt = ok('rebuild', pool);
    const job = rebuilt.job as Json;
    assert.equal(job.state, 'done', JSON.stringify(rebuilt));
    assert.equal(job.progress.extentsDone, job.progress.extentsTotal);
    assert.deepEqual([job.progress.unrecoverable, job.progress.stuck], [[], 0]);
    assert.equal(diskOf(pool, victim).fragments, 0);
    readsBack(root, pool, files);

    // It comes back with every fragment it had, and the operator declares it healthy.
    fs.renameSync(away, victim);
    ok('set-disk-health', pool, victim, 'healthy', '--reason', 'test: back');
    assert.deepEqual(fragmentFiles(victim), stale);
    const victimId = diskOf(pool, victim).id as number;
    for (const name of files.keys()) {
      for (const e of ok('stat', pool, `/${name}`).extents as Json[]) {
        assert.ok(!(e.fragments as Json[]).some((f) => f.diskId === victimId), `/${name}: no extent refers to the stale copy`);
      }
    }
    assert.equal(diskOf(pool, victim).fragments, 0);
    readsBack(root, pool, files);
    const scrub = ok('scrub', pool);
    assert.deepEqual([scrub.clean, scrub.fragments.bad], [true, 0]);

    // gc: the stale fragments, all of them, and nothing else.
    const dry = ok('gc', pool, '--min-age', '0', '--dry-run');
    assert.equal(dry.orphans.length, stale.length, JSON.stringify(dry.orphans.slice(0, 3)));
    assert.equal(ok('gc', pool, '--min-age', '0').removed, stale.length);
    assert.deepEqual(fragmentFiles(victim), []);
    assert.equal(ok('gc', pool, '--min-age', '0', '--dry-run').orphans.length, 0);
    readsBack(root, pool, files);
  });
});

test('two coordinators started at the same instant on one pool: exactly one serves, the other fails with EPOOLBUSY', async () => {
  await withTmpDir(async (root) => {
    const { pool } = makePool(root, 6);
    for (let round = 0; round < 3; round++) {
      const start = () => {
        const child = spawn(process.execPath, [BIN, 'serve', pool, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        child.stdout!.on('data', (b: Buffer) => { out += b.toString(); });
        const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
        return { child, out: () => out, exited };
      };
      const both = [start(), start()];
      try {
        // The loser exits on its own; the winner serves until stopped.
        const first = await Promise.race(both.map((c, i) => c.exited.then((code) => ({ i, code }))));
        const loser = both[first.i]!;
        const winner = both[1 - first.i]!;
        assert.equal(first.code, 1, `round ${round}: ${loser.out()}`);
        const reply = JSON.parse(loser.out()) as Json;
        assert.equal(reply.error.code, 'EPOOLBUSY', loser.out());
        assert.equal(reply.error.pid, winner.child.pid, 'the error names the winner');
        const who = ok('status', pool);
        assert.equal(who.pool, pool);
        assert.equal(winner.child.exitCode, null, 'the winner is still serving');
        assert.equal(dfs('status', pool).code, 0);
      } finally {
        for (const c of both) await stopChild(c.child, 'SIGTERM');
        await cleanupPool(pool);
      }
    }
  });
});
