/**
 * tree-apply: a walked tree rebuilt in another pool under an unnamed staging root, unseen
 * (and no orphan to check) until one transaction publishes it, then equal to its source
 * in every attribute, link and byte; a discarded one leaves nothing; bad entries and
 * destinations are refused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { readExtent } from '../../../src/engine/extent-reader';
import type { Engine } from '../../../src/engine/engine';
import { getFile, putFile } from '../../../src/fs/files';
import { scanNamespace } from '../../../src/fs/check-namespace';
import { Namespace } from '../../../src/fs/namespace';
import { streamSource } from '../../../src/fs/sources';
import {
  applyEntry, checkEntry, createStaging, discardTree, entryPolicy, publishTree, recordExtent, stagingRoots, writeEntryExtent,
} from '../../../src/fs/tree-apply';
import { walkView, type TreeEntry } from '../../../src/fs/tree-entries';
import { createSnapshot, diffGenerations } from '../../../src/fs/snapshots';
import { LIVE_GEN, ROOT_INO } from '../../../src/meta/store';
import { blake3 } from '../../../src/native';
import { dirPool } from '../../helpers/dir-pool';
import { withTmpDir } from '../../helpers/tmp';
import { Writable } from 'node:stream';

/** A tree with every kind of entry, odd modes, owners, fractional times, a hard link and xattrs. */
async function sourceTree(engine: Engine): Promise<void> {
  const ns = new Namespace(engine.meta, engine);
  ns.mkdir('/a/b', { parents: true });
  await putFile(engine, '/a/b/big', streamSource(Readable.from([Buffer.alloc(150 * 1024, 7)])));
  await putFile(engine, '/a/small', streamSource(Readable.from([Buffer.from('hello')])));
  const meta = engine.meta;
  meta.transact((tx) => {
    const a = meta.lookup(ROOT_INO, 'a')!;
    const small = meta.lookup(a, 'small')!;
    tx.putInode({ ...meta.getInode(small)!, mode: 0o4751, uid: 1000, gid: 44, atimeMs: 1_600_000_000_123.456, mtimeMs: 1_500_000_000_001.5, ctimeMs: 1_700_000_000_000, nlink: 2 });
    tx.link(ROOT_INO, 'hard', small);
    tx.setXattr(small, 'user.note', Buffer.from([0, 1, 2, 255]));
    const ln = tx.allocIno();
    tx.putInode({ ino: ln, kind: 'symlink', mode: 0o777, uid: 5, gid: 6, size: 7, nlink: 1, atimeMs: 1, mtimeMs: 2, ctimeMs: 3, policy: null, target: 'a/small', rdev: 0 });
    tx.link(a, 'ln', ln);
    const dev = tx.allocIno();
    tx.putInode({ ino: dev, kind: 'chardev', mode: 0o600, uid: 0, gid: 0, size: 0, nlink: 1, atimeMs: 1, mtimeMs: 2, ctimeMs: 3, policy: null, target: null, rdev: 0x0103 });
    tx.link(ROOT_INO, 'null', dev);
    tx.putInode({ ...meta.getInode(a)!, mode: 0o710, uid: 7, mtimeMs: 42 });
    tx.setXattr(ROOT_INO, 'user.root', Buffer.from('r'));
  });
}

/** Entries without what only their pool knows (inode numbers, extent ids), for comparing two trees. */
function comparable(entries: TreeEntry[]): unknown[] {
  return entries.map(({ ino: _ino, extents, ...rest }) => ({ ...rest, extents: extents.map(({ id: _id, ...x }) => x) }));
}

async function bytesOf(engine: Engine, ino: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  await getFile(engine, ino, new Writable({ write(c: Buffer, _e, cb) { chunks.push(c); cb(); } }));
  return Buffer.concat(chunks);
}

/** Build `src`'s tree in `dst` under a staging root recorded by a job, as a receive does; returns the root. */
async function build(src: Engine, dst: Engine): Promise<number> {
  const root = dst.meta.transact((tx) => {
    const r = createStaging(tx);
    tx.createJob('receive', { staging: r });
    return r;
  });
  for (const e of walkView(src.meta.viewAt(LIVE_GEN))) {
    const ino = dst.meta.transact((tx) => applyEntry(tx, dst.meta, root, e));
    for (const x of e.extents) {
      const bytes = await readExtent(src, src.meta.getExtent(x.id)!);
      const written = await writeEntryExtent(dst, x, bytes, entryPolicy(dst, e));
      dst.meta.transact((tx) => recordExtent(tx, ino, written));
      dst.releaseExtents([written.id]);
    }
  }
  return root;
}

test('a tree applied under a staging root is unseen until published, then equals its source', async () => {
  await withTmpDir(async (dir) => {
    const a = dirPool(`${dir}/a`, [1, 2, 3], { extentSize: 64 * 1024, policy: 'rs:2+1' });
    const b = dirPool(`${dir}/b`, [1, 2, 3, 4], { extentSize: 64 * 1024, policy: 'mirror:2' });
    try {
      await sourceTree(a.engine);
      const root = await build(a.engine, b.engine);
      const meta = b.engine.meta;
      assert.deepEqual(meta.readdir(ROOT_INO), [], 'nothing is visible before the publish');
      assert.deepEqual([...stagingRoots(meta)], [root]);
      assert.deepEqual(scanNamespace(meta).problems, [], 'an unfinished job\'s staging root is no orphan');

      const before = meta.generation();
      const pub = meta.transact((tx) => publishTree(tx, meta, root, '/copy'));
      assert.equal(meta.generation(), before + 1, 'one transaction');
      assert.deepEqual(pub, { ino: root, path: '/copy' });
      meta.transact((tx) => tx.updateJob(1, { state: 'done' }));
      assert.deepEqual(comparable([...walkView(meta.viewAt(LIVE_GEN), '/copy')]), comparable([...walkView(a.engine.meta.viewAt(LIVE_GEN))]));
      const big = meta.lookup(meta.lookup(meta.lookup(root, 'a')!, 'b')!, 'big')!;
      assert.deepEqual(await bytesOf(b.engine, big), Buffer.alloc(150 * 1024, 7));
      assert.equal(meta.extentsOf(big)[0]!.scheme, 'mirror', 'written at the receiving pool\'s redundancy');
      assert.deepEqual(scanNamespace(meta).problems, []);
    } finally {
      await a.engine.close();
      await b.engine.close();
    }
  });
});

test('publishing into an empty directory moves the tree in; a full one or a file is refused; discard leaves nothing', async () => {
  await withTmpDir(async (dir) => {
    const a = dirPool(`${dir}/a`, [1, 2, 3], { extentSize: 64 * 1024, policy: 'rs:2+1' });
    const b = dirPool(`${dir}/b`, [1, 2, 3], { extentSize: 64 * 1024, policy: 'rs:2+1' });
    try {
      await sourceTree(a.engine);
      const meta = b.engine.meta;
      const rootA = await build(a.engine, b.engine);
      meta.transact((tx) => publishTree(tx, meta, rootA, '/'));
      assert.deepEqual(comparable([...walkView(meta.viewAt(LIVE_GEN))]), comparable([...walkView(a.engine.meta.viewAt(LIVE_GEN))]),
        'the empty root took the tree and its attributes');
      assert.equal(meta.getInode(rootA), undefined, 'the staging root is gone');

      const rootB = await build(a.engine, b.engine);
      assert.throws(() => meta.transact((tx) => publishTree(tx, meta, rootB, '/')), { code: 'ENOTEMPTY' });
      assert.throws(() => meta.transact((tx) => publishTree(tx, meta, rootB, '/hard')), { code: 'EEXIST' });
      assert.throws(() => meta.transact((tx) => publishTree(tx, meta, rootB, '/nope/x')), { code: 'ENOENT' });
      const counts = meta.counts();
      const dropped = meta.transact((tx) => discardTree(tx, meta, rootB));
      await b.engine.removeFragments(dropped);
      assert.equal(dropped.length, 4, 'big\'s three extents and small\'s (inline: no fragments) are dropped');
      assert.equal(meta.getInode(rootB), undefined);
      assert.equal(counts.inodes - meta.counts().inodes, 7, 'the staging root and its six inodes');
      meta.transact((tx) => tx.updateJob(2, { state: 'cancelled' }));
      assert.deepEqual(scanNamespace(meta).problems, []);
    } finally {
      await a.engine.close();
      await b.engine.close();
    }
  });
});

test('bad entries and bytes are refused naming the entry', async () => {
  await withTmpDir(async (dir) => {
    const b = dirPool(dir, [1, 2, 3], { extentSize: 64 * 1024, policy: 'rs:2+1' });
    try {
      const file: TreeEntry = { path: 'f', kind: 'file', mode: 0o644, uid: 0, gid: 0, size: 10, atimeMs: 0, mtimeMs: 0, ctimeMs: 0, rdev: 0,
        target: null, xattrs: [], ino: 9, link: null, extents: [] };
      assert.throws(() => checkEntry({ ...file, xattrs: [['trusted.x', Buffer.from('1')]] }), { code: 'EINVAL', message: /only user\.\* attributes/ });
      assert.throws(() => checkEntry({ ...file, kind: 'symlink' }), { code: 'EINVAL', message: /needs a target/ });
      assert.throws(() => checkEntry({ ...file, mode: 0o10000 }), { code: 'EINVAL' });
      assert.throws(() => checkEntry({ ...file, extents: [{ offset: 0, length: 11, hash: blake3(Buffer.alloc(11)) }] }), { message: /past the size 10/ });
      const meta = b.engine.meta;
      const root = meta.transact((tx) => createStaging(tx));
      assert.throws(() => meta.transact((tx) => applyEntry(tx, meta, root, { ...file, path: 'x/f' })), { code: 'ENOENT' });
      meta.transact((tx) => applyEntry(tx, meta, root, file));
      assert.throws(() => meta.transact((tx) => applyEntry(tx, meta, root, file)), { code: 'EEXIST', message: /comes twice/ });
      const bytes = Buffer.alloc(64 * 1024, 1);
      await assert.rejects(writeEntryExtent(b.engine, { offset: 0, length: bytes.length, hash: blake3(Buffer.alloc(64 * 1024, 2)) }, bytes, b.engine.pool.policy),
        { code: 'EDIGEST' });
    } finally {
      await b.engine.close();
    }
  });
});

test('a tree published after a snapshot is all new to a diff from that snapshot, though its rows are older', async () => {
  await withTmpDir(async (dir) => {
    const a = dirPool(`${dir}/a`, [1, 2, 3], { extentSize: 64 * 1024, policy: 'rs:2+1' });
    const b = dirPool(`${dir}/b`, [1, 2, 3], { extentSize: 64 * 1024, policy: 'rs:2+1' });
    try {
      await sourceTree(a.engine);
      const root = await build(a.engine, b.engine);
      const meta = b.engine.meta;
      const mid = await createSnapshot(b.engine, 'mid');
      meta.transact((tx) => publishTree(tx, meta, root, '/copy'));
      assert.deepEqual(diffGenerations(meta, mid.gen, LIVE_GEN).map((d) => `${d.change} ${d.path}`), [
        'modified /', 'added /copy', 'added /copy/a', 'added /copy/a/b', 'added /copy/a/b/big', 'added /copy/a/ln', 'added /copy/hard',
        'added /copy/null',
      ]);
    } finally {
      await a.engine.close();
      await b.engine.close();
    }
  });
});
