/**
 * The pool's metadata durable on its disks (issue 14): the pool directory lost whole, or
 * meta.db damaged, loses nothing that was committed; `import` recreates the pool from its
 * disks; stale copies never win. Through the CLI and the mount.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { writeCommitted } from '../helpers/files';
import Database from 'better-sqlite3';
import { spawnSync } from 'node:child_process';
import { dfs, fails, ok } from '../helpers/cli';
import { makePool, startCoordinator, stopCoordinator } from '../helpers/mount';
import { Rng } from '../helpers/random';
import { rmrf, tmpDir } from '../helpers/tmp';

type Tree = Map<string, Buffer>;

/** Write a tree of small (inline and packed) and large (erasure-coded) files through the mount; the last ones fsync'd. */
function writeTree(mnt: string, rng: Rng): Tree {
  const tree: Tree = new Map();
  for (const dir of ['a', 'a/b', 'c']) fs.mkdirSync(path.join(mnt, dir));
  const put = (name: string, data: Buffer, sync: boolean): void => {
    if (sync) writeCommitted(path.join(mnt, name), data);
    else fs.writeFileSync(path.join(mnt, name), data);
    tree.set(name, data);
  };
  for (let i = 0; i < 40; i++) put(`${rng.pick(['a', 'a/b', 'c'])}/small-${i}`, rng.bytes(rng.int(1, 20_000)), false);
  put('a/large-1', rng.bytes(3_000_000), false);
  put('c/large-2', rng.bytes(9_500_000), false);
  put('a/b/last-large', rng.bytes(1_200_000), true);
  put('last-small', rng.bytes(700), true);
  return tree;
}

async function checkTreeMounted(pool: string, mnt: string, tree: Tree): Promise<string> {
  const c = await startCoordinator(pool, mnt);
  try {
    for (const [name, data] of tree) assert.ok(fs.readFileSync(path.join(mnt, name)).equals(data), `${name} reads back identical`);
    return c.output();
  } finally {
    await stopCoordinator(mnt, c.child);
  }
}

/** A pool of 6 disks (rs:4+2) holding the tree, written through a mount and unmounted. */
async function poolWithTree(root: string, seed: number): Promise<{ pool: string; disks: string[]; mnt: string; tree: Tree }> {
  const { pool, disks } = makePool(root, 6, 'rs:4+2', '1M');
  const mnt = path.join(root, 'mnt');
  const c = await startCoordinator(pool, mnt);
  try {
    return { pool, disks, mnt, tree: writeTree(mnt, new Rng(seed)) };
  } finally {
    await stopCoordinator(mnt, c.child);
  }
}

function generation(pool: string): number {
  const db = new Database(path.join(pool, 'meta.db'), { readonly: true });
  try {
    return Number((db.prepare("SELECT value FROM meta WHERE key = 'generation'").get() as { value: number }).value);
  } finally {
    db.close();
  }
}

test('rm -rf POOL after writing through the mount: import from the disks, every file reads back identical', async () => {
  const root = tmpDir('dfs-metacopies-');
  try {
    const { pool, disks, mnt, tree } = await poolWithTree(root, 1401);
    const before = generation(pool);
    // The coordinator wrote zeros ahead of its records (its appends change no file size); a reader stops at them.
    for (const d of disks) {
      const dir = path.join(d, 'meta');
      const log = fs.readdirSync(dir).filter((n) => n.startsWith('log-'));
      assert.equal(log.length, 1);
      const bytes = fs.readFileSync(path.join(dir, log[0]!));
      assert.ok(bytes.length > 1024 * 1024, `${log[0]} on ${d}: ${bytes.length} bytes, the records and 1 MiB of zeros`);
      assert.ok(bytes.subarray(bytes.length - 4096).equals(Buffer.alloc(4096)), 'the file ends in zeros');
    }
    rmrf(pool);
    const scan = ok('import', '--scan', root);
    assert.equal(scan.pools.length, 1);
    assert.deepEqual(scan.pools[0].disks.map((d: { path: string }) => d.path).sort(), [...disks].sort());
    assert.equal(scan.pools[0].generation, before);
    const imported = ok('import', pool, ...disks);
    assert.equal(imported.generation, before, 'the newest generation on the disks is the last committed one');
    assert.deepEqual(imported.disks.map((d: { found: boolean }) => d.found), [true, true, true, true, true, true]);
    fails('EPOOLEXISTS', ['import', pool, ...disks]);
    await checkTreeMounted(pool, mnt, tree);
  } finally {
    rmrf(root);
  }
});

/** Flip the page-type byte (and the header after it) of `count` in-use b-tree pages picked at random. */
function flipPages(file: string, rng: Rng, count: number): number[] {
  const db = new Database(file, { readonly: true });
  const roots = (db.prepare("SELECT rootpage FROM sqlite_schema WHERE rootpage > 1").all() as { rootpage: number }[]).map((r) => r.rootpage);
  const pageSize = Number(db.pragma('page_size', { simple: true }));
  db.close();
  const picked = new Set<number>();
  while (picked.size < Math.min(count, roots.length)) picked.add(rng.pick(roots));
  const fd = fs.openSync(file, 'r+');
  try {
    for (const page of picked) {
      const at = (page - 1) * pageSize;
      const head = Buffer.alloc(8);
      fs.readSync(fd, head, 0, 8, at);
      for (let i = 0; i < 8; i++) head[i] = head[i]! ^ 0xa5;
      fs.writeSync(fd, head, 0, 8, at);
    }
  } finally {
    fs.closeSync(fd);
  }
  return [...picked];
}

function healEvents(pool: string): string[] {
  return ok('disk-events', pool).events.map((e: { reason: string }) => e.reason).filter((r: string) => r.startsWith('metadata rebuilt from the disks'));
}

test('bytes flipped in random pages of meta.db: the coordinator heals it on start, logs it, and every file reads back identical', async () => {
  const root = tmpDir('dfs-metacopies-');
  try {
    const { pool, mnt, tree } = await poolWithTree(root, 1402);
    const before = generation(pool);
    const wal = path.join(pool, 'meta.db-wal');
    assert.equal(fs.existsSync(wal) ? fs.statSync(wal).size : 0, 0, 'unmounted: meta.db itself holds everything');
    flipPages(path.join(pool, 'meta.db'), new Rng(77), 3);
    await checkTreeMounted(pool, mnt, tree);
    const log = fs.readFileSync(path.join(pool, 'run', 'coordinator.log'), 'utf8');
    assert.match(log, /"msg":"metadata rebuilt from the disks"/);
    assert.match(log, /fails its structural check|cannot be opened/);
    const events = healEvents(pool);
    assert.equal(events.length, 1, JSON.stringify(events));
    assert.match(events[0]!, new RegExp(`now generation ${before} \\(checkpoint of `));
    const audit = fs.readFileSync(path.join(pool, 'run', 'audit.log'), 'utf8').split('\n').filter((l) => l.includes('"op":"heal-metadata"'));
    assert.equal(audit.length, 1);
  } finally {
    rmrf(root);
  }
});

test('a coordinator SIGKILLed and meta.db\'s WAL lost with it (its commits are not synced: the disks hold them): every fsync\'d file comes back', async () => {
  const root = tmpDir('dfs-metacopies-');
  try {
    const { pool } = makePool(root, 6, 'rs:4+2', '1M');
    const mnt = path.join(root, 'mnt');
    const files = new Map<string, Buffer>();
    ok('config', pool, '--set', 'commit.intervalMs=60000'); // only the fsyncs commit
    const c = await startCoordinator(pool, mnt);
    try {
      const rng = new Rng(1406);
      for (let i = 0; i < 6; i++) {
        const name = `f${i}`;
        const data = rng.bytes(500 + i * 90_000);
        writeCommitted(path.join(mnt, name), data); // a group commit, on the disks before fsync returns
        files.set(name, data);
      }
    } finally {
      c.child.kill('SIGKILL');
      await new Promise((r) => c.child.once('exit', r));
      spawnSync('umount', ['-l', mnt]);
    }
    // What a power cut may take from a WAL nobody synced: all of it.
    const wal = path.join(pool, 'meta.db-wal');
    assert.ok(fs.statSync(wal).size > 0, 'the groups\' commits are in the WAL');
    fs.rmSync(wal);
    fs.rmSync(path.join(pool, 'meta.db-shm'), { force: true });
    for (const [name, data] of files) {
      const out = path.join(root, `${name}.out`);
      ok('get', pool, `/${name}`, out);
      assert.ok(fs.readFileSync(out).equals(data), `${name} reads back identical`);
    }
    const events = healEvents(pool);
    assert.equal(events.length, 1, JSON.stringify(events));
    assert.match(events[0]!, /^metadata rebuilt from the disks: meta\.db is at generation \d+, the disks at \d+/);
  } finally {
    rmrf(root);
  }
});

test('meta.db truncated: the next CLI run heals it from the disks, every file reads back identical', async () => {
  const root = tmpDir('dfs-metacopies-');
  try {
    const { pool, mnt, tree } = await poolWithTree(root, 1403);
    const before = generation(pool);
    const file = path.join(pool, 'meta.db');
    fs.truncateSync(file, Math.floor(fs.statSync(file).size / 2 / 4096) * 4096);
    const out = path.join(root, 'last-small');
    ok('get', pool, '/last-small', out);
    assert.ok(fs.readFileSync(out).equals(tree.get('last-small')!));
    const events = healEvents(pool);
    assert.equal(events.length, 1, JSON.stringify(events));
    assert.match(events[0]!, new RegExp(`^metadata rebuilt from the disks: meta.db (cannot be opened|fails its structural check).*now generation ${before} `));
    await checkTreeMounted(pool, mnt, tree);
  } finally {
    rmrf(root);
  }
});

test('POOL and m disks lost at once: import from the rest names the missing disks, and every file reads back identical', async () => {
  const root = tmpDir('dfs-metacopies-');
  try {
    const { pool, disks, mnt, tree } = await poolWithTree(root, 1404);
    const before = generation(pool);
    rmrf(pool);
    rmrf(disks[1]!);
    rmrf(disks[4]!);
    const rest = disks.filter((_, i) => i !== 1 && i !== 4);
    // One more away is one more than the parity covers: refused, naming each missing disk.
    fs.renameSync(disks[2]!, `${disks[2]}.away`);
    const tooFew = fails('ETOOMANYLOST', ['import', pool, ...rest.filter((d) => d !== disks[2])]);
    for (const i of [1, 2, 4]) assert.ok(tooFew.message.includes(`disk ${i + 1} (${disks[i]})`), tooFew.message);
    assert.equal(fs.existsSync(pool), false, 'a refused import leaves no pool directory');
    fs.renameSync(`${disks[2]}.away`, disks[2]!);
    const imported = ok('import', pool, ...rest);
    assert.equal(imported.generation, before);
    assert.deepEqual(imported.disks.filter((d: { found: boolean }) => !d.found).map((d: { path: string }) => d.path), [disks[1], disks[4]]);
    await checkTreeMounted(pool, mnt, tree);
  } finally {
    rmrf(root);
  }
});


/** The newest generation each disk's metadata copy holds, as `import --scan` reads it. */
function diskGenerations(root: string): number[] {
  const scan = ok('import', '--scan', root);
  assert.equal(scan.pools.length, 1);
  return scan.pools[0].disks.map((d: { generation: number }) => d.generation);
}

for (const point of ['group-meta-committed', 'group-meta-on-disks'] as const) {
  test(`SIGKILL in a group commit (${point}): the next open finds one consistent newest generation; every fsync'd file intact`, async () => {
    const root = tmpDir('dfs-metacopies-');
    const mnt = path.join(root, 'mnt');
    try {
      const { pool, disks } = makePool(root, 6, 'rs:4+2', '1M');
      ok('config', pool, '--set', 'commit.intervalMs=60000'); // only fsync commits
      const rng = new Rng(1405);
      const a = rng.bytes(2_500_000);
      const b = rng.bytes(1_500_000);
      const first = await startCoordinator(pool, mnt);
      try {
        writeCommitted(path.join(mnt, 'A'), a);
      } finally {
        await stopCoordinator(mnt, first.child);
      }
      const doomed = await startCoordinator(pool, mnt, [], { DYNAMICFS_CRASH_AT: `${point}:1` });
      try {
        assert.throws(() => writeCommitted(path.join(mnt, 'B'), b), 'the fsync that commits B never returns success');
        if (doomed.child.exitCode === null && doomed.child.signalCode === null) await new Promise((r) => doomed.child.once('exit', r));
        assert.equal(doomed.child.signalCode, 'SIGKILL');
      } finally {
        await stopCoordinator(mnt, doomed.child);
      }
      // B's COMMIT is in meta.db; its record reached the disks only at the later point.
      const committed = generation(pool);
      const expected = point === 'group-meta-on-disks' ? committed : committed - 1;
      assert.deepEqual(diskGenerations(root), disks.map(() => expected));
      // Opened again: meta.db is the newest consistent generation; the disks are brought up to it.
      await checkTreeMounted(pool, mnt, new Map([['A', a], ['B', b]]));
      const now = generation(pool);
      assert.deepEqual(diskGenerations(root), disks.map(() => now));
      // So the disks alone now hold B too.
      rmrf(pool);
      assert.equal(ok('import', pool, ...disks).generation, now);
      await checkTreeMounted(pool, mnt, new Map([['A', a], ['B', b]]));
    } finally {
      rmrf(root);
    }
  });
}

/** The head of disk `disk`'s metadata area, parsed. */
function areaHead(disk: string): { checkpoint: { file: string; generation: number }; log: string } {
  return JSON.parse(fs.readFileSync(path.join(disk, 'meta', 'head'), 'utf8')) as { checkpoint: { file: string; generation: number }; log: string };
}

test('SIGKILL during a checkpoint: the half-written one is ignored and removed on the next open, which finds one consistent newest generation', async () => {
  const root = tmpDir('dfs-metacopies-');
  const mnt = path.join(root, 'mnt');
  try {
    const { pool, disks } = makePool(root, 6, 'rs:4+2', '1M');
    const rng = new Rng(1406);
    const files = new Map<string, Buffer>();
    const area = path.join(disks[0]!, 'meta');
    let headBefore: string;
    const doomed = await startCoordinator(pool, mnt, [], { DYNAMICFS_CRASH_AT: 'meta-checkpoint-half-written:1' });
    try {
      for (let i = 0; i < 4; i++) {
        files.set(`f-${i}`, rng.bytes(rng.int(500, 2_000_000)));
        writeCommitted(path.join(mnt, `f-${i}`), files.get(`f-${i}`)!);
      }
      // Disk 1's checkpoint damaged: `check --repair` gives it a new one, and the coordinator dies halfway through writing it.
      const ckpt = path.join(area, areaHead(disks[0]!).checkpoint.file);
      const bytes = fs.readFileSync(ckpt);
      bytes[100] ^= 0x01;
      fs.writeFileSync(ckpt, bytes);
      headBefore = fs.readFileSync(path.join(area, 'head'), 'utf8');
      assert.notEqual(dfs('check', pool, '--repair').code, 0, 'the coordinator died under the command');
      if (doomed.child.exitCode === null && doomed.child.signalCode === null) await new Promise((r) => doomed.child.once('exit', r));
      assert.equal(doomed.child.signalCode, 'SIGKILL');
    } finally {
      await stopCoordinator(mnt, doomed.child);
    }
    // Left: the old head, and beside its files the half of a checkpoint no head names.
    assert.equal(fs.readFileSync(path.join(area, 'head'), 'utf8'), headBefore);
    const h = areaHead(disks[0]!);
    const strays = fs.readdirSync(area).filter((n) => n !== 'head' && n !== h.checkpoint.file && n !== h.log);
    assert.equal(strays.length, 1, JSON.stringify(fs.readdirSync(area)));
    assert.match(strays[0]!, /^ckpt-\d+-[0-9a-f]{8}\.db$/);
    const committed = generation(pool);
    assert.deepEqual(diskGenerations(root), disks.map(() => committed), 'every disk holds the newest committed generation');
    // Opened again: the newest generation is meta.db's, every fsync'd file reads back, the half-written checkpoint is gone.
    await checkTreeMounted(pool, mnt, files);
    assert.deepEqual(fs.readdirSync(area).sort(), ['head', h.checkpoint.file, h.log].sort());
    assert.deepEqual(diskGenerations(root), disks.map(() => generation(pool)));
    // What the repair was for is still to do: check finds it, --repair does it (offline this time).
    assert.deepEqual(fails('ECHECK', ['check', pool]).problems.map((p: { kind: string; disk: number }) => [p.kind, p.disk]), [['meta-checkpoint-corrupt', 1]]);
    assert.equal(ok('check', pool, '--repair').clean, true);
    assert.deepEqual(ok('check', pool).problems, []);
  } finally {
    rmrf(root);
  }
});

test('a disk away while generations commit: its stale copy never wins, and it is brought up to date when it returns', async () => {
  const root = tmpDir('dfs-metacopies-');
  try {
    const { pool, disks } = makePool(root, 6, 'rs:4+2', '1M');
    const src = path.join(root, 'src');
    fs.writeFileSync(src, 'written while every disk was there');
    ok('put', pool, src, '/early');
    const away = disks[2]!;
    fs.renameSync(away, `${away}.away`);
    const whileAway = ok('status', pool).metaCopies;
    assert.deepEqual(whileAway.disks.map((d: { state: string }) => d.state), ['current', 'current', 'stale', 'current', 'current', 'current']);
    assert.equal(whileAway.required, 3);
    const staleAt = generation(pool);
    ok('mkdir', pool, '/later');
    fs.writeFileSync(src, 'written while disk 3 was away');
    ok('put', pool, src, '/later/file');
    const newest = generation(pool);
    assert.ok(newest > staleAt);
    fs.renameSync(`${away}.away`, away);
    const gens = diskGenerations(root);
    assert.equal(gens[2], staleAt, 'the returned disk holds the generation it left at');
    assert.deepEqual(gens.filter((_, i) => i !== 2), [newest, newest, newest, newest, newest]);
    // The pool directory lost: the stale disk, named first, does not win.
    rmrf(pool);
    const imported = ok('import', pool, away, ...disks.filter((d) => d !== away));
    assert.equal(imported.generation, newest);
    const out = path.join(root, 'out');
    ok('get', pool, '/later/file', out);
    assert.equal(fs.readFileSync(out, 'utf8'), 'written while disk 3 was away');
    // Opened, the pool gave the returned disk a fresh checkpoint: it is current again.
    const copies = ok('status', pool).metaCopies;
    assert.deepEqual(copies.disks.map((d: { state: string }) => d.state), ['current', 'current', 'current', 'current', 'current', 'current']);
    assert.equal(copies.disks[2].checkpointGeneration, newest);
    const g = generation(pool);
    assert.deepEqual(copies.disks.map((d: { generation: number }) => d.generation), disks.map(() => g));
  } finally {
    rmrf(root);
  }
});

test('a disk that went on elsewhere holds the same generation with another history: the hash chain keeps it from being healed from or taken as current', async () => {
  const root = tmpDir('dfs-metacopies-');
  try {
    const { pool, disks } = makePool(root, 6, 'rs:4+2', '1M');
    const src = path.join(root, 'src');
    fs.writeFileSync(src, 'before the fork');
    ok('put', pool, src, '/early');
    // The whole pool as it is now: pool directory and every disk's area.
    const saved = path.join(root, 'saved');
    fs.cpSync(pool, path.join(saved, 'pool'), { recursive: true });
    disks.forEach((d, i) => fs.cpSync(path.join(d, 'meta'), path.join(saved, `meta${i}`), { recursive: true }));
    // One history, which disk 3 keeps.
    fs.writeFileSync(src, 'written elsewhere');
    ok('put', pool, src, '/x');
    const n = generation(pool);
    const elsewhere = path.join(root, 'elsewhere');
    fs.cpSync(path.join(disks[2]!, 'meta'), elsewhere, { recursive: true });
    // The pool's history: from the same point, the same writes with other bytes.
    rmrf(pool);
    fs.cpSync(path.join(saved, 'pool'), pool, { recursive: true });
    disks.forEach((d, i) => {
      rmrf(path.join(d, 'meta'));
      fs.cpSync(path.join(saved, `meta${i}`), path.join(d, 'meta'), { recursive: true });
    });
    fs.writeFileSync(src, 'written in the pool');
    ok('put', pool, src, '/x');
    assert.equal(generation(pool), n, 'both histories reach the same generation');
    // Disk 3 comes back holding the other history's generation n.
    rmrf(path.join(disks[2]!, 'meta'));
    fs.cpSync(elsewhere, path.join(disks[2]!, 'meta'), { recursive: true });
    assert.deepEqual(diskGenerations(root), disks.map(() => n));

    // The pool directory lost; the diverged disk named last (the disk whose records a heal would take last).
    rmrf(pool);
    const imported = ok('import', pool, ...disks.filter((d) => d !== disks[2]), disks[2]!);
    assert.equal(imported.generation, n);
    const out = path.join(root, 'out');
    ok('get', pool, '/x', out);
    assert.equal(fs.readFileSync(out, 'utf8'), 'written in the pool');
    // Opened, disk 3 was not taken as current: it got a fresh checkpoint of generation n; the others kept theirs.
    const copies = ok('status', pool).metaCopies.disks as { state: string; checkpointGeneration: number }[];
    assert.deepEqual(copies.map((d) => d.state), disks.map(() => 'current'));
    assert.deepEqual(copies.map((d) => d.checkpointGeneration === n), [false, false, true, false, false, false]);
    assert.deepEqual(ok('check', pool).problems, []);
  } finally {
    rmrf(root);
  }
});

test('in a coordinator the first m+1 disks sync each generation; when one of them fails, fsync still returns, and every fsync\'d file survives meta.db\'s loss', async () => {
  const root = tmpDir('dfs-metacopies-');
  const mnt = path.join(root, 'mnt');
  try {
    const { pool, disks } = makePool(root, 6, 'rs:4+2', '1M');
    ok('config', pool, '--set', 'commit.intervalMs=60000'); // only the fsyncs commit
    const files = new Map<string, Buffer>();
    const rng = new Rng(1407);
    const c = await startCoordinator(pool, mnt);
    try {
      const write = (name: string) => {
        const data = rng.bytes(rng.int(100, 200_000));
        writeCommitted(path.join(mnt, name), data); // a group commit, on m+1 disks before fsync returns
        files.set(name, data);
      };
      write('before');
      // Disk 1, one of the three that sync every record: its metadata area gone under the coordinator.
      rmrf(path.join(disks[0]!, 'meta'));
      for (let i = 0; i < 3; i++) write(`after-${i}`);
    } finally {
      c.child.kill('SIGKILL');
      await new Promise((r) => c.child.once('exit', r));
      spawnSync('umount', ['-l', mnt]);
    }
    // meta.db and its WAL lost as well: the five disks left rebuild every fsync'd file.
    for (const f of ['meta.db', 'meta.db-wal', 'meta.db-shm']) fs.rmSync(path.join(pool, f), { force: true });
    for (const [name, data] of files) {
      const out = path.join(root, `${name}.out`);
      ok('get', pool, `/${name}`, out);
      assert.ok(fs.readFileSync(out).equals(data), `${name} reads back identical`);
    }
    assert.deepEqual(ok('status', pool).metaCopies.disks.map((d: { state: string }) => d.state), disks.map(() => 'current'));
  } finally {
    rmrf(root);
  }
});
