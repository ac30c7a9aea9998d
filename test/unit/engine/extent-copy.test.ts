/**
 * copyExtentTo: an RS extent's bytes land at the offset asked, copied by the stores when
 * every data fragment is there; with a data fragment damaged or gone they are rebuilt from
 * parity and written all the same, and the extent is queued for repair.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { copyExtentTo } from '../../../src/engine/extent-reader';
import { putFile } from '../../../src/fs/files';
import { Namespace } from '../../../src/fs/namespace';
import { streamSource } from '../../../src/fs/sources';
import { fragRelativePath } from '../../../src/native';
import { dirPool } from '../../helpers/dir-pool';
import { withTmpDir } from '../../helpers/tmp';

test('copyExtentTo writes an extent at an offset: copied whole, or rebuilt when a data fragment is damaged or gone', async () => {
  await withTmpDir(async (dir) => {
    const { engine } = dirPool(dir, [1, 2, 3, 4], { extentSize: 65536, policy: 'rs:3+1' });
    try {
      const bytes = Buffer.from(Array.from({ length: 65536 + 40_000 }, (_, i) => (i * 13 + 5) & 0xff));
      await putFile(engine, '/f', streamSource(Readable.from([bytes])));
      await putFile(engine, '/tiny', streamSource(Readable.from([Buffer.from('tiny')])));
      const ns = new Namespace(engine.meta, engine);
      const [first, second] = engine.meta.extentsOf(ns.stat('/f').ino);
      const tiny = engine.meta.extentsOf(ns.stat('/tiny').ino)[0]!;
      const out = path.join(dir, 'out');
      const copyAll = async (): Promise<Buffer> => {
        fs.writeFileSync(out, Buffer.alloc(0));
        const fd = fs.openSync(out, 'r+');
        try {
          await copyExtentTo(engine, first!, { fd, offset: 7 });
          await copyExtentTo(engine, second!, { fd, offset: 7 + 65536 });
          await copyExtentTo(engine, tiny, { fd, offset: 7 + bytes.length });
        } finally {
          fs.closeSync(fd);
        }
        return fs.readFileSync(out);
      };
      const want = Buffer.concat([Buffer.alloc(7), bytes, Buffer.from('tiny')]);
      assert.ok((await copyAll()).equals(want));
      assert.deepEqual(engine.meta.repairQueue(), [], 'nothing failed');

      // A flipped payload byte in the first extent's data fragment 1, and the second's data fragment 0 gone.
      const fileOf = (e: typeof first, index: number): string => {
        const f = e!.fragments.find((x) => x.index === index)!;
        return path.join(engine.pool.disks().find((d) => d.id === f.diskId)!.path, fragRelativePath(e!.id, index));
      };
      const damaged = fs.readFileSync(fileOf(first, 1));
      damaged[4096 + 100]! ^= 0x40;
      fs.writeFileSync(fileOf(first, 1), damaged);
      fs.rmSync(fileOf(second, 0));
      assert.ok((await copyAll()).equals(want), 'rebuilt from parity, every byte right');
      assert.deepEqual(engine.meta.repairQueue().map((r) => r.extentId.toString('hex')).sort(),
        [first!.id.toString('hex'), second!.id.toString('hex')].sort(), 'both extents queued for repair');
    } finally {
      await engine.close();
    }
  });
});
