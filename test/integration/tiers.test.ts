/**
 * Placement by tier: new extents go to the disks of the tier they want (tier.foreground,
 * or a directory's user.dynamicfs.tier) with that tier's redundancy; a tier with too few
 * healthy disks, or full (a real tmpfs), is fallen back from with a `tier` event and the
 * fallback metric, never an error; everything reads back. Through the CLI (put/get) and
 * through the mount.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { ok, type Json } from '../helpers/cli';
import { startCoordinator, stopCoordinator, isMounted } from '../helpers/mount';
import { Rng } from '../helpers/random';
import { rmrf, tmpDir, withTmpDir, withTmpfs } from '../helpers/tmp';

interface TierPool {
  pool: string;
  hot: string[];
  warm: string[];
}

/** A pool (rs:2+1) of `hot` disks made by `hotDir`, then three warm ones (the default tier) under root. */
function tierPool(root: string, hotDirs: string[]): TierPool {
  const pool = path.join(root, 'pool');
  ok('init', pool, '--redundancy', 'rs:2+1');
  for (const d of hotDirs) {
    fs.mkdirSync(d, { recursive: true });
    assert.equal(ok('add-disk', pool, d, '--tier', 'hot').disk.tier, 'hot');
  }
  const warm = [1, 2, 3].map((i) => path.join(root, `warm${i}`));
  for (const d of warm) {
    fs.mkdirSync(d);
    assert.equal(ok('add-disk', pool, d).disk.tier, 'warm');
  }
  return { pool, hot: hotDirs, warm };
}

/** The disk directories holding a fragment of `extentHex` (found on disk, not asked of the metadata). */
function holders(disks: string[], extentHex: string): string[] {
  const dir = (d: string) => path.join(d, 'frags', extentHex.slice(0, 2), extentHex.slice(2, 4));
  return disks.filter((d) => fs.existsSync(dir(d)) && fs.readdirSync(dir(d)).some((f) => f.startsWith(`${extentHex}.`)));
}

/** The one extent of a file, by `stat`: its id, scheme and the disks of its fragments (a packed file's pack). */
function extentOf(pool: string, file: string): { id: string; scheme: string; k: number; m: number; diskPaths: string[] } {
  const s = ok('stat', pool, file);
  assert.equal(s.extents.length, 1, `${file} is one extent`);
  const e = s.extents[0];
  const where = e.pack ?? e;
  return { id: where.id, scheme: where.scheme, k: where.k, m: where.m, diskPaths: where.fragments.map((f: Json) => f.diskPath).sort() };
}

function tierEvents(pool: string): Json[] {
  return ok('events', pool, '--kind', 'tier').events;
}

function getBack(pool: string, file: string, dest: string): Buffer {
  ok('get', pool, file, dest);
  return fs.readFileSync(dest);
}

describe('placement by tier (CLI)', () => {
  test('a file lands on the hot disks with the hot tier\'s redundancy; too few healthy hot disks: warm, with an event', async () => {
    await withTmpDir(async (root) => {
      const { pool, hot, warm } = tierPool(root, [path.join(root, 'hot1'), path.join(root, 'hot2')]);
      ok('config', pool, '--set', 'tier.hot.redundancy=mirror:2');
      const rng = new Rng(1717);
      const a = rng.bytes(300_000);
      fs.writeFileSync(path.join(root, 'a'), a);
      ok('put', pool, path.join(root, 'a'), '/a');
      const ea = extentOf(pool, '/a');
      assert.deepEqual([ea.scheme, ea.k, ea.m], ['mirror', 1, 1], 'the hot tier\'s redundancy, not the pool\'s rs:2+1');
      assert.deepEqual(ea.diskPaths, [...hot].sort());
      assert.deepEqual(holders([...hot, ...warm], ea.id), hot, 'fragment files on the hot disks only');
      assert.deepEqual(tierEvents(pool), [], 'no fallback');
      assert.ok(getBack(pool, '/a', path.join(root, 'a.out')).equals(a));

      // One hot disk failed: mirror:2 needs two healthy hot disks; the extent goes warm (the file's rs:2+1).
      ok('set-disk-health', pool, hot[1]!, 'failed', '--reason', 'test');
      const b = rng.bytes(300_000);
      fs.writeFileSync(path.join(root, 'b'), b);
      ok('put', pool, path.join(root, 'b'), '/b');
      const eb = extentOf(pool, '/b');
      assert.deepEqual([eb.scheme, eb.k, eb.m], ['rs', 2, 1]);
      assert.deepEqual(eb.diskPaths, [...warm].sort());
      assert.deepEqual(holders([...hot, ...warm], eb.id), warm);
      const ev = tierEvents(pool);
      assert.equal(ev.length, 1);
      assert.equal(ev[0].subject, 'tier hot');
      assert.deepEqual({ wanted: ev[0].details.wanted, placed: ev[0].details.placed, reason: ev[0].details.reason, extent: ev[0].details.extent },
        { wanted: 'hot', placed: 'warm', reason: 'too-few-disks', extent: eb.id });
      assert.deepEqual(ev[0].details.skipped, [{ tier: 'hot', reason: 'too-few-disks', healthy: 1, roomy: 1, needed: 2 }]);
      assert.ok(getBack(pool, '/b', path.join(root, 'b.out')).equals(b));
      assert.ok(getBack(pool, '/a', path.join(root, 'a.out2')).equals(a), 'the hot file still reads (one copy left)');

      // tier status: bytes by where the fragments lie, /b off its tier because hot is short, the cost at the set prices.
      ok('config', pool, '--set', 'tier.warm.pricePerGiBMonth=1024', 'tier.hot.pricePerGiBMonth=0');
      const frag = (payload: number) => 4096 + Math.ceil(payload / 4096) * 4096; // header + payload padded to 4 KiB
      const s = ok('tier', 'status', pool);
      assert.equal(s.foreground, 'hot');
      assert.deepEqual(s.tiers.map((t: Json) => [t.tier, t.disks, t.healthyDisks, t.fragments, t.storedBytes, t.extents, t.logicalBytes]), [
        ['hot', 2, 1, 2, 2 * frag(300_000), 1, 300_000],
        ['warm', 3, 3, 3, 3 * frag(150_000), 1, 300_000],
        ['cold', 0, 0, 0, 0, 0, 0]]);
      assert.equal(s.costPerMonth, (3 * frag(150_000) / 1024 ** 3) * 1024);
      assert.deepEqual(s.compliance.byReason, { fallback: 1, stale: 0, 'mixed-tiers': 0 });
      assert.deepEqual([s.compliance.checked, s.compliance.compliant, s.compliance.nonCompliant], [2, 1, 1]);
      assert.deepEqual(s.compliance.listed, [{ extent: eb.id, path: '/b', wanted: 'hot', placed: 'warm', reason: 'fallback', detail: 'hot has 1 healthy disks, 2 needed' }]);
      // The hot disk back: /b could now go hot; nothing has moved it.
      ok('set-disk-health', pool, hot[1]!, 'healthy', '--reason', 'test');
      assert.deepEqual(ok('tier', 'status', pool).compliance.listed.map((x: Json) => [x.path, x.reason, x.detail]), [['/b', 'stale', null]]);
    });
  });

  test('the hot tier full (a tmpfs): the extent lands warm with an event; a file that fits lands hot', async () => {
    await withTmpDir(async (root) => {
      await withTmpfs(1024 * 1024, async (fast) => {
        const { pool, hot, warm } = tierPool(root, [path.join(fast, 'hot1'), path.join(fast, 'hot2')]);
        ok('config', pool, '--set', 'tier.hot.redundancy=mirror:2');
        const rng = new Rng(1718);
        const small = rng.bytes(100_000);
        fs.writeFileSync(path.join(root, 'small'), small);
        ok('put', pool, path.join(root, 'small'), '/small');
        assert.deepEqual(holders([...hot, ...warm], extentOf(pool, '/small').id), hot);

        // 900 KB per copy: more than the tmpfs has left after the small file's two copies.
        const big = rng.bytes(900_000);
        fs.writeFileSync(path.join(root, 'big'), big);
        ok('put', pool, path.join(root, 'big'), '/big');
        const e = extentOf(pool, '/big');
        assert.deepEqual(holders([...hot, ...warm], e.id), warm);
        const ev = tierEvents(pool);
        assert.equal(ev.length, 1);
        assert.deepEqual([ev[0].details.wanted, ev[0].details.placed, ev[0].details.reason], ['hot', 'warm', 'full']);
        assert.equal(ev[0].details.skipped[0].healthy, 2);
        assert.equal(ev[0].details.skipped[0].roomy, 0);
        assert.ok(getBack(pool, '/big', path.join(root, 'big.out')).equals(big));
        assert.ok(getBack(pool, '/small', path.join(root, 'small.out')).equals(small));
      });
    });
  });

  test('a rebuild keeps a hot extent on the hot tier while a hot disk is free of it; when none is, it goes warm and says so', async () => {
    await withTmpDir(async (root) => {
      const { pool, hot, warm } = tierPool(root, [1, 2, 3].map((i) => path.join(root, `hot${i}`)));
      ok('config', pool, '--set', 'tier.hot.redundancy=mirror:2');
      const bytes = new Rng(1723).bytes(300_000);
      fs.writeFileSync(path.join(root, 'f'), bytes);
      ok('put', pool, path.join(root, 'f'), '/f');
      const first = extentOf(pool, '/f').diskPaths;
      assert.equal(first.filter((d) => hot.includes(d)).length, 2);
      const [lost, kept] = first;
      const spare = hot.find((d) => !first.includes(d))!;
      ok('set-disk-health', pool, lost!, 'failed', '--reason', 'test');
      ok('rebuild', pool);
      assert.deepEqual(extentOf(pool, '/f').diskPaths, [kept!, spare].sort(), 'rebuilt onto the third hot disk, not a warm one');
      ok('set-disk-health', pool, spare, 'failed', '--reason', 'test');
      ok('rebuild', pool);
      const now = extentOf(pool, '/f').diskPaths;
      assert.equal(now.filter((d) => warm.includes(d)).length, 1, 'no hot disk left free of it: a warm one');
      assert.ok(now.includes(kept!));
      const repairs = ok('events', pool, '--kind', 'repair').events as Json[];
      assert.match(JSON.stringify(repairs[repairs.length - 1]), /a warm disk: no healthy hot disk free of it has room/);
      assert.ok(getBack(pool, '/f', path.join(root, 'f.out')).equals(bytes));
    });
  });

  test('tier.foreground=warm sends new extents to warm disks; bad tier settings are EINVAL and change nothing', async () => {
    await withTmpDir(async (root) => {
      const { pool, hot, warm } = tierPool(root, [path.join(root, 'hot1'), path.join(root, 'hot2'), path.join(root, 'hot3')]);
      ok('config', pool, '--set', 'tier.foreground=warm');
      const bytes = new Rng(1719).bytes(200_000);
      fs.writeFileSync(path.join(root, 'f'), bytes);
      ok('put', pool, path.join(root, 'f'), '/f');
      assert.deepEqual(holders([...hot, ...warm], extentOf(pool, '/f').id), warm);
      for (const bad of ['tier.foreground=lukewarm', 'tier.hot.redundancy=mirror:1', 'tier.cold.redundancy=rs:30+3', 'tier.cold.pricePerGiBMonth=-1',
        'tier.classifier=lru', 'tier.migrateEvery=-1', 'tier.migrateRate=fast']) {
        const r = spawnSync(process.execPath, [path.join(__dirname, '../../../bin/dynamicfs.js'), 'config', pool, '--set', bad, '--json'], { encoding: 'utf8' });
        assert.equal(r.status, 1, bad);
        const err = JSON.parse(r.stdout).error;
        assert.equal(err.code, 'EINVAL');
        assert.ok(err.message.includes(bad.split('=')[0]!), err.message);
      }
      const settings = ok('config', pool).settings as Json[];
      assert.deepEqual(settings.filter((s) => s.key.startsWith('tier.')).map((s) => [s.key, s.value]),
        [['tier.foreground', 'warm'], ['tier.background', null], ['tier.demoteAfterSeconds', 2_592_000],
          ['tier.promote', false], ['tier.promoteReads', 4], ['tier.promoteWindowSeconds', 3600],
          ['tier.classifier', 'hmm'], ['tier.migrateEvery', 3600], ['tier.migrateRate', 33_554_432], ['tier.hot.redundancy', null], ['tier.warm.redundancy', null], ['tier.cold.redundancy', null],
          ['tier.hot.pricePerGiBMonth', 0.1], ['tier.warm.pricePerGiBMonth', 0.03], ['tier.cold.pricePerGiBMonth', 0.01]]);
    });
  });
});

/** python3's os.setxattr/getxattr on a path: the kernel's answer (errno on failure). */
function xattr(op: 'set' | 'get', file: string, value = ''): { status: number; out: string } {
  const code = op === 'set'
    ? 'import os, sys\ntry:\n  os.setxattr(sys.argv[1], "user.dynamicfs.tier", sys.argv[2].encode())\nexcept OSError as e:\n  print(e.errno); sys.exit(1)'
    : 'import os, sys; print(os.getxattr(sys.argv[1], "user.dynamicfs.tier").decode())';
  const r = spawnSync('python3', ['-c', code, file, value], { encoding: 'utf8' });
  return { status: r.status ?? -1, out: r.stdout.trim() };
}

test('placement by tier through the mount: a directory\'s user.dynamicfs.tier is inherited; a setting change falls back at once, counted', async () => {
  const root = tmpDir();
  const mnt = path.join(root, 'mnt');
  let child: Awaited<ReturnType<typeof startCoordinator>>['child'] | undefined;
  try {
    const { pool, hot, warm } = tierPool(root, [path.join(root, 'hot1'), path.join(root, 'hot2')]);
    ok('config', pool, '--set', 'tier.hot.redundancy=mirror:2');
    child = (await startCoordinator(pool, mnt)).child;
    const rng = new Rng(1720);
    fs.mkdirSync(path.join(mnt, 'archive'));
    assert.deepEqual(xattr('set', path.join(mnt, 'archive'), 'lukewarm'), { status: 1, out: '22' }, 'EINVAL');
    assert.equal(xattr('set', path.join(mnt, 'archive'), 'warm').status, 0);
    assert.equal(xattr('get', path.join(mnt, 'archive')).out, 'foreground=warm', 'stored in its canonical form');
    fs.mkdirSync(path.join(mnt, 'archive', 'sub'));
    assert.equal(xattr('get', path.join(mnt, 'archive', 'sub')).out, 'foreground=warm', 'a new directory inherits it');

    const files = new Map<string, Buffer>([['/hotfile', rng.bytes(600_000)], ['/archive/sub/old', rng.bytes(600_000)],
      ['/archive/packed', rng.bytes(100_000)], ['/packed', rng.bytes(100_000)]]);
    for (const [name, bytes] of files) fs.writeFileSync(path.join(mnt, name), bytes);
    spawnSync('sync', [path.join(mnt, 'hotfile')]); // fsync: commits the group, packs too
    const where = (name: string) => holders([...hot, ...warm], extentOf(pool, name).id);
    assert.deepEqual(where('/hotfile'), hot);
    assert.deepEqual(where('/packed'), hot, 'a small file\'s pack too');
    assert.deepEqual(where('/archive/sub/old'), warm);
    assert.deepEqual(where('/archive/packed'), warm, 'packs are per tier: the warm file is not in the hot pack');
    const viaPut = rng.bytes(300_000);
    fs.writeFileSync(path.join(root, 'viaput'), viaPut);
    ok('put', pool, path.join(root, 'viaput'), '/archive/viaput');
    assert.deepEqual(where('/archive/viaput'), warm, 'put into the directory takes its tier policy too');
    files.set('/archive/viaput', viaPut);
    assert.deepEqual(tierEvents(pool), []);

    // Three copies wanted on two hot disks: the next extent goes warm, at once, counted.
    ok('config', pool, '--set', 'tier.hot.redundancy=mirror:3');
    const late = rng.bytes(600_000);
    fs.writeFileSync(path.join(mnt, 'late'), late);
    spawnSync('sync', [path.join(mnt, 'late')]);
    assert.deepEqual(where('/late'), warm);
    const ev = tierEvents(pool);
    assert.equal(ev.length, 1);
    assert.deepEqual([ev[0].details.placed, ev[0].details.reason], ['warm', 'too-few-disks']);
    const metrics = ok('metrics', pool).metrics as Json[];
    const fallbacks = metrics.find((m) => m.name === 'dynamicfs_tier_fallback_extents_total');
    assert.deepEqual(fallbacks?.values.map((v: Json) => [v.labels, v.value]), [[{ wanted: 'hot', placed: 'warm', reason: 'too-few-disks' }, 1]]);
    const gauge = (name: string) => new Map(metrics.find((m) => m.name === name)?.values.map((v: Json) => [Object.values(v.labels)[0], v.value]));
    assert.deepEqual(gauge('dynamicfs_tier_noncompliant_extents'), new Map([['fallback', 1], ['stale', 0], ['mixed-tiers', 0]]));
    const status = ok('tier', 'status', pool);
    assert.deepEqual(gauge('dynamicfs_tier_stored_bytes'), new Map(status.tiers.map((t: Json) => [t.tier, t.storedBytes])), 'the metrics are tier status\'s figures');
    assert.deepEqual(gauge('dynamicfs_tier_extents'), new Map([['hot', 2], ['warm', 4], ['cold', 0]]), 'hotfile and the hot pack; old, the warm pack, viaput and late');
    for (const [name, bytes] of [...files, ['/late', late] as const]) assert.ok(fs.readFileSync(path.join(mnt, name)).equals(bytes), name);
  } finally {
    if (child) await stopCoordinator(mnt, child);
    else if (isMounted(mnt)) spawnSync('umount', ['-l', mnt]);
    rmrf(root);
  }
});
