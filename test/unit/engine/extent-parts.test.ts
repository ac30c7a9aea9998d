/**
 * readExtentParts: an RS extent whose data fragments all read comes as those fragments
 * (the last cut to the extent's length), equal to readExtent's bytes; one whose data
 * fragment is lost comes as one piece rebuilt from parity; other schemes as one piece.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { readExtent, readExtentParts } from '../../../src/engine/extent-reader';
import { putFile } from '../../../src/fs/files';
import { Namespace } from '../../../src/fs/namespace';
import { streamSource } from '../../../src/fs/sources';
import { fragRelativePath } from '../../../src/native';
import { dirPool } from '../../helpers/dir-pool';
import { withTmpDir } from '../../helpers/tmp';

test('readExtentParts gives the data fragments uncopied, a rebuilt extent whole, an inline one whole', async () => {
  await withTmpDir(async (dir) => {
    const { engine } = dirPool(dir, [1, 2, 3, 4], { extentSize: 65536, policy: 'rs:3+1' });
    try {
      const bytes = Buffer.from(Array.from({ length: 65536 + 40_000 }, (_, i) => (i * 13 + 5) & 0xff));
      await putFile(engine, '/f', streamSource(Readable.from([bytes])));
      await putFile(engine, '/tiny', streamSource(Readable.from([Buffer.from('tiny')])));
      const ns = new Namespace(engine.meta, engine);
      const [first, second] = engine.meta.extentsOf(ns.stat('/f').ino);
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
      const tiny = engine.meta.extentsOf(ns.stat('/tiny').ino);
      assert.deepEqual((await readExtentParts(engine, tiny[0]!)).map((p) => p.toString()), ['tiny']);
    } finally {
      await engine.close();
    }
  });
});
