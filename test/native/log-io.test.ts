import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { logWriteAt } from '../../src/native';
import { DfsError } from '../../src/errors';
import { Rng } from '../helpers/random';
import { withTmpDir } from '../helpers/tmp';

const rng = new Rng();

test('logWriteAt writes at the offset, then the zeros after, over what the file held; through a path or a kept descriptor', async () => {
  await withTmpDir(async (dir) => {
    const file = path.join(dir, 'log');
    fs.writeFileSync(file, Buffer.alloc(100, 0xee));
    const a = rng.bytes(30);
    // By path: opened, written, synced, closed; the link count comes back.
    assert.equal(await logWriteAt(-1, file, 10, a, 0, true), 1);
    const want = Buffer.alloc(100, 0xee);
    a.copy(want, 10);
    assert.deepEqual(fs.readFileSync(file), want);
    // Through a descriptor, past the end, with zeros ahead (the file grows by both).
    const fd = fs.openSync(file, 'r+');
    try {
      const b = rng.bytes(70_000);
      assert.equal(await logWriteAt(fd, file, 90, b, 150_000, false), 1);
      const got = fs.readFileSync(file);
      assert.equal(got.length, 90 + 70_000 + 150_000);
      assert.deepEqual(got.subarray(0, 90), want.subarray(0, 90));
      assert.deepEqual(got.subarray(90, 90 + 70_000), b);
      assert.ok(got.subarray(90 + 70_000).every((x) => x === 0), 'the zeros after the record');
      // A file unlinked under an open descriptor: the write lands nowhere, and says so (link count 0).
      fs.unlinkSync(file);
      assert.equal(await logWriteAt(fd, file, 0, rng.bytes(10), 0, true), 0);
    } finally {
      fs.closeSync(fd);
    }
  });
});

test('logWriteAt never creates a file by path, and refuses bad arguments', async () => {
  await withTmpDir(async (dir) => {
    const file = path.join(dir, 'missing');
    await assert.rejects(logWriteAt(-1, file, 0, Buffer.from('x'), 0, true), (e: unknown) => {
      assert.ok(e instanceof DfsError);
      assert.equal(e.code, 'ENOENT');
      assert.match(e.message, /cannot open log .*missing/);
      return true;
    });
    assert.equal(fs.existsSync(file), false);
    for (const [offset, zeros] of [[-1, 0], [1.5, 0], [0, -1]]) {
      await assert.rejects(logWriteAt(-1, file, offset!, Buffer.from('x'), zeros!, true), (e: unknown) => {
        assert.ok(e instanceof DfsError);
        assert.equal(e.code, 'EINVAL');
        return true;
      });
    }
  });
});
