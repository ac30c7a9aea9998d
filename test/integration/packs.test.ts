/**
 * Small-file packing through the mount: many small files closed in one group share packs
 * (far fewer fragment files than files), each file's range verified on read; deleting
 * leaves sparse packs that `compact` rewrites; everything reads back, also after a
 * remount with two of the six disks gone (rs:4+2 keeps packs as redundant as extents).
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { ok } from '../helpers/cli';
import { startCoordinator, stopCoordinator, withMount } from '../helpers/mount';
import { Rng } from '../helpers/random';
import { writeCommitted, fragmentFiles } from '../helpers/files';

/**
 * The committed packs, with the bytes of the packed extents in each; and how many extents
 * are packed (read from the store: a `stat` per file would take minutes for hundreds).
 */
function packsOf(pool: string): { packs: Map<string, number>; packed: number } {
  const db = new Database(path.join(pool, 'meta.db'), { readonly: true });
  try {
    const rows = db.prepare('SELECT hex(pack_id) AS id, SUM(length) AS live, COUNT(*) AS n FROM extents WHERE pack_id IS NOT NULL GROUP BY pack_id')
      .all() as { id: string; live: number; n: number }[];
    return { packs: new Map(rows.map((r) => [r.id.toLowerCase(), r.live])), packed: rows.reduce((n, r) => n + r.n, 0) };
  } finally {
    db.close();
  }
}

/** Commit the open group (see writeCommitted). */
function commitGroup(mnt: string): void {
  writeCommitted(path.join(mnt, '.commit'), Buffer.alloc(0)); // empty: no extent, no pack
}

test('packs: many small files share packs, compaction rewrites sparse ones, all reads back, also with two disks lost', async () => {
  await withMount(async ({ pool, mnt, disks, child }) => {
    const rng = new Rng(1313);
    const want = new Map<string, Buffer>();
    fs.mkdirSync(path.join(mnt, 'a'));
    fs.mkdirSync(path.join(mnt, 'b'));
    for (let i = 0; i < 240; i++) {
      // Above the 16 KiB inline limit, at most the 256 KiB packing limit.
      const size = rng.int(16_385, 136_384);
      const name = `/${i % 2 ? 'a' : 'b'}/f${i}`;
      const bytes = rng.bytes(size);
      fs.writeFileSync(path.join(mnt, name), bytes);
      want.set(name, bytes);
    }
    // A big file's small tail is packed too: one full 4 MiB extent plus 50,000 bytes.
    const big = rng.bytes(4 * 1024 * 1024 + 50_000);
    fs.writeFileSync(path.join(mnt, 'big'), big);
    want.set('/big', big);
    commitGroup(mnt);

    // What `stat` shows of one small file and of the big file's tail.
    const small = ok('stat', pool, '/a/f1').extents;
    assert.equal(small.length, 1);
    assert.equal(small[0].scheme, 'packed');
    assert.equal(small[0].fragments.length, 0);
    assert.deepEqual(ok('stat', pool, '/big').extents.map((e: { scheme: string }) => e.scheme), ['rs', 'packed']);
    const before = packsOf(pool);
    assert.equal(before.packed, 241, 'every small file and the big file\'s tail are packed');
    // 240 files of 16-136 KiB (about 18 MiB) fit in packs of at most 1 MiB: far fewer than one per file.
    assert.ok(before.packs.size >= 17 && before.packs.size <= 30, `${before.packs.size} packs`);
    // Nothing was dead when they were written: a pack's length is the bytes of its files.
    const packLength = new Map(before.packs);
    // Each pack and the big file's full extent: k+m = 6 fragment files, nothing else.
    assert.equal(fragmentFiles(disks), 6 * (before.packs.size + 1));
    for (const [name, bytes] of want) assert.ok(fs.readFileSync(path.join(mnt, name)).equals(bytes), `${name} reads back`);

    // Delete two of every three small files: every pack is left about a third full.
    for (let i = 0; i < 240; i++) {
      if (i % 3 === 0) continue;
      const name = `/${i % 2 ? 'a' : 'b'}/f${i}`;
      fs.unlinkSync(path.join(mnt, name));
      want.delete(name);
    }
    commitGroup(mnt);
    const sparse = packsOf(pool);
    const toCompact = [...sparse.packs].filter(([id, live]) => live <= 0.6 * packLength.get(id)!).map(([id]) => id);
    assert.ok(toCompact.length >= 10, `${toCompact.length} sparse packs`);
    // Without --below, the pool's compact.belowFraction decides: at 0.2 no pack (each about a third full) qualifies, at 0.6 every sparse one.
    ok('config', pool, '--set', 'compact.belowFraction=0.2');
    const none = ok('compact', pool, '--wait');
    assert.deepEqual([none.job.state, none.job.progress.extentsTotal, none.job.progress.packsRewritten], ['done', 0, 0]);
    ok('config', pool, '--set', 'compact.belowFraction=0.6');
    const job = ok('compact', pool, '--wait');
    assert.equal(job.job.state, 'done');
    assert.equal(job.job.progress.extentsTotal, toCompact.length);
    assert.equal(job.job.progress.packsRewritten, toCompact.length);
    commitGroup(mnt);
    const after = packsOf(pool);
    assert.equal(after.packed, want.size);
    assert.ok(after.packs.size < sparse.packs.size, `compaction merged packs: ${sparse.packs.size} -> ${after.packs.size}`);
    for (const id of after.packs.keys()) assert.equal(toCompact.includes(id), false, `pack ${id} was rewritten, not kept`);
    // The old packs' fragments are gone with them: exactly the live packs' and the big extent's remain.
    assert.equal(fragmentFiles(disks), 6 * (after.packs.size + 1));
    assert.equal(ok('compact', pool, '--below', '0.6', '--wait').job.progress.extentsTotal, 0, 'nothing is left to compact');
    for (const [name, bytes] of want) assert.ok(fs.readFileSync(path.join(mnt, name)).equals(bytes), `${name} reads back after compaction`);

    // Lose two disks while unmounted: every pack still has its 4 of 6 fragments.
    await stopCoordinator(mnt, child);
    fs.rmSync(disks[1]!, { recursive: true, force: true });
    fs.rmSync(disks[4]!, { recursive: true, force: true });
    const again = await startCoordinator(pool, mnt);
    try {
      for (const [name, bytes] of want) assert.ok(fs.readFileSync(path.join(mnt, name)).equals(bytes), `${name} reads back with two disks lost`);
      const packs = after.packs.size + 1; // and the big file's full extent
      const lost = ok('status', pool).extents;
      assert.deepEqual([lost.unrecoverable, lost.degraded], [0, packs + after.packed],
        'every pack (and the big extent) lost two fragments; each packed extent is as degraded as its pack');
      // Rebuild the lost disks' fragments onto two new ones: packs are rebuilt like any extent.
      for (const i of [1, 4]) {
        const fresh = path.join(path.dirname(disks[i]!), `fresh${i}`);
        fs.mkdirSync(fresh);
        ok('add-disk', pool, fresh);
      }
      const r = ok('rebuild', pool, '--wait');
      assert.equal(r.job.state, 'done', JSON.stringify(r.job));
      assert.equal(r.job.progress.extentsTotal, packs, 'the packs (and the big extent) are what is rebuilt; packed extents own no fragments');
      const healed = ok('status', pool).extents;
      assert.deepEqual([healed.degraded, healed.unrecoverable], [0, 0]);
      const scrub = ok('scrub', pool);
      assert.deepEqual(scrub.fragments, { checked: 6 * packs, bad: 0 }, 'scrub reads every fragment of every pack');
      for (const [name, bytes] of want) assert.ok(fs.readFileSync(path.join(mnt, name)).equals(bytes), `${name} reads back after the rebuild`);
    } finally {
      await stopCoordinator(mnt, again.child);
    }
  });
});

test('packs: a file whose small extents fill a pack in one commit reads back after a remount (the pack is written)', async () => {
  await withMount(async ({ pool, mnt, child }) => {
    // Six extents each written in part (4 MiB extents, 200 KiB in each): none is full, so
    // all six are packed by the one commit at close, and the pack (1 MiB) fills at the sixth.
    const E = 4 * 1024 * 1024;
    const rng = new Rng(1717);
    const file = path.join(mnt, 'sparse');
    const chunks = Array.from({ length: 6 }, () => rng.bytes(200 * 1024));
    const fd = fs.openSync(file, 'w');
    try {
      chunks.forEach((c, i) => fs.writeSync(fd, c, 0, c.length, i * E));
    } finally {
      fs.closeSync(fd);
    }
    const want = Buffer.alloc(5 * E + chunks[5]!.length);
    chunks.forEach((c, i) => c.copy(want, i * E));
    commitGroup(mnt);
    const { packs, packed } = packsOf(pool);
    assert.equal(packed, 6, 'each of the six extents is packed');
    const db = new Database(path.join(pool, 'meta.db'), { readonly: true });
    try {
      for (const id of packs.keys()) {
        assert.ok(db.prepare('SELECT 1 FROM extents WHERE id = ?').get(Buffer.from(id, 'hex')), `pack ${id} has its row (it was written)`);
      }
    } finally {
      db.close();
    }
    await stopCoordinator(mnt, child);
    const again = await startCoordinator(pool, mnt);
    try {
      assert.ok(fs.readFileSync(file).equals(want), 'the file reads back from its packs');
    } finally {
      await stopCoordinator(mnt, again.child);
    }
  });
});
