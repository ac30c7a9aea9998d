/**
 * The read path's caches stay coherent: the metadata store's extent records and maps
 * (meta/sqlite/extent-maps.ts), the namespace cache and the open files. Each test
 * changes a file's extents while the mount has read it (through another handle, through
 * the mount, or by an admin command that moves the bytes) and reads it again: a stale
 * record would return old bytes, or read fragments that are gone (counted as disk errors).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ok, type Json } from '../helpers/cli';
import { withMount } from '../helpers/mount';
import { writeCommitted } from '../helpers/files';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Commit the open transaction group (with an empty marker file next to `file`: see writeCommitted). */
function commitGroup(file: string): void {
  writeCommitted(path.join(path.dirname(file), '.commit'), Buffer.alloc(0));
}

function readAt(fd: number, length: number): Buffer {
  const b = Buffer.alloc(length);
  assert.equal(fs.readSync(fd, b, 0, length, 0), length);
  return b;
}

/** Fragment files under a disk's frags/ directory. */
function fragmentFiles(disk: string): string[] {
  const dir = path.join(disk, 'frags');
  return fs.existsSync(dir) ? (fs.readdirSync(dir, { recursive: true }) as string[]).filter((f) => /\.\d+$/.test(f)) : [];
}

// Inline (at most 16 KiB), packed (up to 256 KiB) and with fragments of its own (5 MiB: two extents).
const SIZES = { inline: 3_000, packed: 100_000, fragments: 5 * 1024 * 1024 };

test('a file rewritten through the mount reads back new through every handle, old or new, inline, packed or with fragments', async () => {
  await withMount(async ({ mnt, pool }) => {
    for (const [kind, size] of Object.entries(SIZES)) {
      const f = path.join(mnt, `${kind}.bin`);
      const v1 = randomBytes(size);
      fs.writeFileSync(f, v1);
      assert.equal(sha(fs.readFileSync(f)), sha(v1), `${kind}: first version`);
      commitGroup(f);
      assert.equal(sha(fs.readFileSync(f)), sha(v1), `${kind}: first version, committed`);

      // A reader opened before the rewrite sees it too (one OpenFile per inode).
      const reader = fs.openSync(f, 'r');
      const v2 = randomBytes(size);
      try {
        fs.writeFileSync(f, v2);
        assert.equal(sha(readAt(reader, size)), sha(v2), `${kind}: old handle after the rewrite`);
        assert.equal(sha(fs.readFileSync(f)), sha(v2), `${kind}: new handle while the old one is open`);
      } finally {
        fs.closeSync(reader);
      }
      // Every handle closed: the next open builds the file from the store's (cached) extent map.
      assert.equal(sha(fs.readFileSync(f)), sha(v2), `${kind}: new handle after every handle closed`);

      // In place, from a handle of its own, then committed with the group.
      const fd = fs.openSync(f, 'r+');
      const patch = Buffer.from('patched through the mount');
      fs.writeSync(fd, patch, 0, patch.length, 1000);
      fs.closeSync(fd);
      const v3 = Buffer.from(v2);
      patch.copy(v3, 1000);
      assert.equal(sha(fs.readFileSync(f)), sha(v3), `${kind}: patched in place`);
      // close(2) put the patch in the store (readers' closes skip the commit; a writer's must not).
      const got = path.join(path.dirname(pool), `${kind}.patched`);
      ok('get', pool, `/${kind}.bin`, got);
      assert.equal(sha(fs.readFileSync(got)), sha(v3), `${kind}: dynamicfs get after the writer's close`);
      commitGroup(f);
      assert.equal(sha(fs.readFileSync(f)), sha(v3), `${kind}: patched, committed`);

      // Cut by truncate(2) on the path, with no handle open.
      fs.truncateSync(f, 1500);
      assert.equal(sha(fs.readFileSync(f)), sha(v3.subarray(0, 1500)), `${kind}: truncated`);
      // The admin socket reads the same store: the CLI agrees with the mount.
      const out = path.join(path.dirname(pool), `${kind}.out`);
      ok('get', pool, `/${kind}.bin`, out);
      assert.equal(sha(fs.readFileSync(out)), sha(v3.subarray(0, 1500)), `${kind}: dynamicfs get`);
    }
  });
});

test('compaction and a drain move the bytes of files the mount has read; reads follow, and no disk counts an error', async () => {
  await withMount(async ({ mnt, pool, disks }) => {
    const files = new Map<string, Buffer>();
    for (let i = 0; i < 20; i++) files.set(`small${i}`, randomBytes(SIZES.packed));
    files.set('large', randomBytes(SIZES.fragments));
    for (const [name, data] of files) fs.writeFileSync(path.join(mnt, name), data);
    commitGroup(path.join(mnt, 'large'));
    for (const [name, data] of files) assert.equal(sha(fs.readFileSync(path.join(mnt, name))), sha(data), `${name} before`);

    // Most small files go: their pack is left sparse, and compaction rewrites it.
    for (let i = 4; i < 20; i++) {
      fs.unlinkSync(path.join(mnt, `small${i}`));
      files.delete(`small${i}`);
    }
    commitGroup(path.join(mnt, 'large'));
    const held = fs.openSync(path.join(mnt, 'small0'), 'r'); // open across the move: its OpenFile holds the old record
    try {
      const c = ok('compact', pool, '--below', '0.5', '--wait');
      assert.deepEqual([c.finished, c.job.state], [true, 'done'], JSON.stringify(c));
      assert.equal(sha(readAt(held, SIZES.packed)), sha(files.get('small0')!), 'small0 through the handle held across compaction');
    } finally {
      fs.closeSync(held);
    }
    for (const [name, data] of files) assert.equal(sha(fs.readFileSync(path.join(mnt, name))), sha(data), `${name} after compaction`);

    // A drain moves every fragment off disk 0 (same extents, new placements) and deletes the old ones.
    assert.ok(fragmentFiles(disks[0]!).length > 0, 'disk 0 holds fragments before the drain');
    const d = ok('drain', pool, disks[0]!, '--wait');
    assert.deepEqual([d.finished, d.job.state], [true, 'done'], JSON.stringify(d));
    assert.deepEqual(fragmentFiles(disks[0]!), [], 'no fragment left on the drained disk');
    for (const [name, data] of files) assert.equal(sha(fs.readFileSync(path.join(mnt, name))), sha(data), `${name} after the drain`);

    const counted = (ok('disks', pool).disks as Json[]).map((x) => [x.readErrors, x.checksumErrors, x.writeErrors]);
    assert.deepEqual(counted, disks.map(() => [0, 0, 0]), 'no read went to a fragment that had moved');
  }, { redundancy: 'rs:3+2' }); // six disks: one can be drained
});
