/** walkView: a tree as self-contained entries, parents first, hard links as links, extents by hash. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { blake3 } from '../../../src/native';
import { putFile } from '../../../src/fs/files';
import { streamSource } from '../../../src/fs/sources';
import { Namespace } from '../../../src/fs/namespace';
import { walkView } from '../../../src/fs/tree-entries';
import { LIVE_GEN } from '../../../src/meta/store';
import { dirPool } from '../../helpers/dir-pool';
import { withTmpDir } from '../../helpers/tmp';

test('walkView lists every entry once, parents before children, links and extents by hash', async () => {
  await withTmpDir(async (dir) => {
    const { engine } = dirPool(dir, [1, 2, 3], { extentSize: 64 * 1024, policy: 'rs:2+1' });
    try {
      const ns = new Namespace(engine.meta, engine);
      ns.mkdir('/a/b', { parents: true });
      const big = Buffer.alloc(150 * 1024, 7);
      await putFile(engine, '/a/b/big', streamSource(Readable.from([big])));
      await putFile(engine, '/a/small', streamSource(Readable.from([Buffer.from('hi')])));
      engine.meta.transact((tx) => {
        const ino = engine.meta.lookup(engine.meta.lookup(1, 'a')!, 'small')!;
        tx.link(1, 'z-link', ino);
        const i = engine.meta.getInode(ino)!;
        tx.putInode({ ...i, nlink: 2 });
        tx.setXattr(ino, 'user.b', Buffer.from('2'));
        tx.setXattr(ino, 'user.a', Buffer.from('1'));
      });
      const entries = [...walkView(engine.meta.viewAt(LIVE_GEN))];
      assert.deepEqual(entries.map((e) => [e.path, e.kind, e.link]), [
        ['', 'dir', null], ['a', 'dir', null], ['a/b', 'dir', null], ['a/b/big', 'file', null],
        ['a/small', 'file', null], ['z-link', 'file', 'a/small'],
      ]);
      const bigEntry = entries[3];
      assert.deepEqual(bigEntry.extents.map((e) => [e.offset, e.length]), [[0, 65536], [65536, 65536], [131072, 22528]]);
      assert.deepEqual(bigEntry.extents[2].hash, blake3(big.subarray(131072)));
      assert.deepEqual(entries[4].xattrs.map(([k, v]) => `${k}=${v}`), ['user.a=1', 'user.b=2']);
      assert.equal(entries[5].extents.length, 0, 'a later link carries no extents');
      assert.equal(entries[5].ino, entries[4].ino);
      assert.deepEqual([...walkView(engine.meta.viewAt(LIVE_GEN), '/a/b')].map((e) => e.path), ['', 'big']);
      assert.throws(() => [...walkView(engine.meta.viewAt(LIVE_GEN), '/nope')], { code: 'ENOENT' });
    } finally {
      await engine.close();
    }
  });
});
