/**
 * readExtentParts and copyExtentTo: an RS extent whose data fragments all read comes as those fragments
 * (the last cut to the extent's length), equal to readExtent's bytes; one whose data
 * fragment is lost comes as one piece rebuilt from parity; other schemes as one piece.
 * copyExtentTo writes the same bytes at an offset, copied by the stores when every data
 * fragment is there, rebuilt when one is damaged or gone (and the extent queued for repair).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { copyExtentTo, readExtent, readExtentParts } from '../../../src/engine/extent-reader';
import type { Engine } from '../../../src/engine/engine';
import type { Extent } from '../../../src/meta/records';
import { putFile } from '../../../src/fs/files';
import { Namespace } from '../../../src/fs/namespace';
import { streamSource } from '../../../src/fs/sources';
import { fragRelativePath } from '../../../src/native';
import { dirPool } from '../../helpers/dir-pool';
import { withTmpDir } from '../../helpers/tmp';

/** A pool (rs:3+1, 64 KiB extents) with /f of two extents (the second short) and /tiny inline. */
async function twoFiles(dir: string): Promise<{ engine: Engine; bytes: Buffer; first: Extent; second: Extent; tiny: Extent }> {
  const { engine } = dirPool(dir, [1, 2, 3, 4], { extentSize: 65536, policy: 'rs:3+1' });
  const bytes = Buffer.from(Array.from({ length: 65536 + 40_000 }, (_, i) => (i * 13 + 5) & 0xff));
  await putFile(engine, '/f', streamSource(Readable.from([bytes])));
  await putFile(engine, '/tiny', streamSource(Readable.from([Buffer.from('tiny')])));
  const ns = new Namespace(engine.meta, engine);
  const [first, second] = engine.meta.extentsOf(ns.stat('/f').ino);
  return { engine, bytes, first: first!, second: second!, tiny: engine.meta.extentsOf(ns.stat('/tiny').ino)[0]! };
}

test('readExtentParts gives the data fragments uncopied, a rebuilt extent whole, an inline one whole', async () => {
  await withTmpDir(async (dir) => {
    const { engine, bytes, first, second, tiny: tinyExtent } = await twoFiles(dir);
    try {
      for (const e of [first!, second!]) {
        const parts = await readExtentParts(engine, e);
        assert.equal(parts.length, 3, 'k data fragments');
        assert.ok(Buffer.concat(parts).equals(await readExtent(engine, e)));
      }
      assert.ok(Buffer.concat(await readExtentParts(engine, first!)).equals(bytes.subarray(0, 65536)));
      assert.ok(Buffer.concat(await readExtentParts(engine, second!)).equals(bytes.subarray(65536)));
      // The second extent's first data fragment gone: rebuilt from the parity, as one piece.
      const lost = second!.fragments.find((f) => f.index === 0)!;
      const disk = engine.pool.disks().find((d) => d.id === lost.diskId)!;
      fs.rmSync(path.join(disk.path, fragRelativePath(second!.id, 0)));
      const rebuilt = await readExtentParts(engine, second!);
      assert.equal(rebuilt.length, 1);
      assert.ok(rebuilt[0]!.equals(bytes.subarray(65536)));
      assert.deepEqual((await readExtentParts(engine, tinyExtent)).map((p) => p.toString()), ['tiny']);
    } finally {
      await engine.close();
    }
  });
});

test('copyExtentTo writes an extent at an offset: copied whole, or rebuilt when a data fragment is damaged or gone', async () => {
  await withTmpDir(async (dir) => {
    const { engine, bytes, first, second, tiny } = await twoFiles(dir);
    try {
      const out = path.join(dir, 'out');
      const copyAll = async (): Promise<Buffer> => {
        fs.writeFileSync(out, Buffer.alloc(0));
        const fd = fs.openSync(out, 'r+');
        try {
          await copyExtentTo(engine, first, { fd, offset: 7 });
          await copyExtentTo(engine, second, { fd, offset: 7 + 65536 });
          await copyExtentTo(engine, tiny, { fd, offset: 7 + bytes.length });
        } finally {
          fs.closeSync(fd);
        }
        return fs.readFileSync(out);
      };
      // Count what each store is asked: whole fragments copied by the stores, or read here.
      const asked = { copies: 0, reads: 0 };
      for (const d of engine.pool.disks()) {
        const store = engine.pool.store(d.id);
        const [copyTo, read] = [store.copyTo.bind(store), store.read.bind(store)];
        store.copyTo = (...a) => { asked.copies++; return copyTo(...a); };
        store.read = (...a) => { asked.reads++; return read(...a); };
      }
      const want = Buffer.concat([Buffer.alloc(7), bytes, Buffer.from('tiny')]);
      assert.ok((await copyAll()).equals(want));
      assert.deepEqual(asked, { copies: Math.ceil(65536 / first.fragLen) + Math.ceil(40_000 / second.fragLen), reads: 0 }, 'every data fragment copied by its store, none read here');
      assert.deepEqual(engine.meta.repairQueue(), [], 'nothing failed');

      // A flipped payload byte in the first extent's data fragment 1, and the second's data fragment 0 gone.
      const fileOf = (e: Extent, index: number): string => {
        const f = e.fragments.find((x) => x.index === index)!;
        return path.join(engine.pool.disks().find((d) => d.id === f.diskId)!.path, fragRelativePath(e.id, index));
      };
      const damaged = fs.readFileSync(fileOf(first, 1));
      damaged[4096 + 100]! ^= 0x40;
      fs.writeFileSync(fileOf(first, 1), damaged);
      fs.rmSync(fileOf(second, 0));
      assert.ok((await copyAll()).equals(want), 'rebuilt from parity, every byte right');
      assert.deepEqual(engine.meta.repairQueue().map((r) => r.extentId.toString('hex')).sort(),
        [first.id.toString('hex'), second.id.toString('hex')].sort(), 'both extents queued for repair');
    } finally {
      await engine.close();
    }
  });
});
