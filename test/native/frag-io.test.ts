import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { blake3, fragCopyTo, fragDirectDisabled, fragRead, fragReadHeader, fragRelativePath, fragWrite, type FragmentHeaderInput } from '../../src/native';
import { DfsError } from '../../src/errors';
import { Rng } from '../helpers/random';
import { remountReadOnly, withRamfs, withTmpDir, withTmpfs } from '../helpers/tmp';

const rng = new Rng();

function header(payload: Buffer, over: Partial<FragmentHeaderInput> = {}): FragmentHeaderInput {
  return { poolUuid: rng.bytes(16), extentId: rng.bytes(16), index: 1, k: 4, m: 2, scheme: 0, payloadHash: blake3(payload), ...over };
}

async function rejectsWith(p: Promise<unknown>, code: string, re?: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof DfsError, `expected DfsError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    if (re) assert.match(e.message, re);
    return true;
  });
}

function tmpEntries(disk: string): string[] {
  return fs.existsSync(path.join(disk, 'tmp')) ? fs.readdirSync(path.join(disk, 'tmp')) : [];
}

test('round trip at awkward sizes; layout is header + payload padded to 4 KiB', async () => {
  await withTmpDir(async (disk) => {
    for (const size of [0, 1, 4095, 4096, 4097, 1 << 20]) {
      const payload = rng.bytes(size);
      const h = header(payload, { index: 5 });
      const w = await fragWrite(disk, h, payload);
      assert.equal(w.path, path.join(disk, fragRelativePath(h.extentId, 5)));
      assert.equal(w.fileBytes, 4096 + Math.ceil(size / 4096) * 4096);
      assert.equal(fs.statSync(w.path).size, w.fileBytes);
      const r = await fragRead(w.path, h.payloadHash);
      assert.deepEqual(r.payload, payload);
      assert.equal(r.header.payloadLength, size);
      assert.deepEqual(r.header.extentId, Buffer.from(h.extentId));
      assert.deepEqual(r.header.poolUuid, Buffer.from(h.poolUuid));
      assert.equal(r.header.index, 5);
      const hdr = await fragReadHeader(w.path);
      assert.deepEqual(hdr.payloadHash, Buffer.from(h.payloadHash));
    }
    assert.deepEqual(tmpEntries(disk), [], 'no temp files left behind');
    assert.match(fragRelativePath(Buffer.from('00112233445566778899aabbccddeeff', 'hex'), 7),
      /^frags\/00\/11\/00112233445566778899aabbccddeeff\.7$/);
  });
});

test('a flipped payload byte is EDIGEST, a flipped header byte or truncation is EFORMAT', async () => {
  await withTmpDir(async (disk) => {
    const payload = rng.bytes(10_000);
    const h = header(payload);
    const { path: file } = await fragWrite(disk, h, payload);
    const pristine = fs.readFileSync(file);

    const flip = (offset: number) => {
      const b = Buffer.from(pristine);
      b[offset]! ^= 0x01;
      fs.writeFileSync(file, b);
    };
    flip(4096 + 1234);
    await rejectsWith(fragRead(file), 'EDIGEST', /checksum/);
    flip(60); // payload length field: caught by the header checksum
    await rejectsWith(fragRead(file), 'EFORMAT', /checksum/);
    flip(0);
    await rejectsWith(fragRead(file), 'EFORMAT', /not a DynamicFS fragment/);
    fs.writeFileSync(file, pristine.subarray(0, pristine.length - 4096));
    await rejectsWith(fragRead(file), 'EFORMAT', /truncated/);
    fs.writeFileSync(file, pristine);
    // The metadata expects another payload: EDIGEST before any bytes are returned.
    await rejectsWith(fragRead(file, blake3(Buffer.from('other'))), 'EDIGEST');
    assert.deepEqual((await fragRead(file, h.payloadHash)).payload, payload);
  });
});

test('errors carry the errno name and the path', async () => {
  await withTmpDir(async (disk) => {
    const missing = path.join(disk, 'frags/00/00/nothing.0');
    await assert.rejects(fragRead(missing), (e: unknown) => e instanceof DfsError && e.code === 'ENOENT' && e.path === missing);
    const payload = rng.bytes(100);
    await rejectsWith(fragWrite(disk, header(payload, { payloadHash: blake3(Buffer.from('x')) }), payload), 'EDIGEST');
    await rejectsWith(fragWrite(disk, header(payload, { index: 6 }), payload), 'EINVAL', /index/);
    // A vanished disk (unmounted, deleted) must not be silently recreated on the root filesystem.
    const vanished = path.join(disk, 'unmounted-disk');
    await rejectsWith(fragWrite(vanished, header(payload), payload), 'ENOENT');
    assert.equal(fs.existsSync(vanished), false);
    assert.deepEqual(tmpEntries(disk), []);
  });
});

test('a full disk is ENOSPC, a read-only disk EROFS; nothing is left in tmp and stored fragments still read', async () => {
  await withTmpfs(256 * 1024, async (disk) => {
    const small = rng.bytes(8192);
    const h = header(small);
    const stored = await fragWrite(disk, h, small);
    assert.equal(stored.direct, !fragDirectDisabled(disk));

    const big = rng.bytes(512 * 1024);
    await rejectsWith(fragWrite(disk, header(big), big), 'ENOSPC');
    assert.deepEqual(tmpEntries(disk), [], 'failed write cleaned its temp file');
    assert.deepEqual((await fragRead(stored.path, h.payloadHash)).payload, small);

    remountReadOnly(disk);
    await rejectsWith(fragWrite(disk, header(small), small), 'EROFS');
    assert.deepEqual((await fragRead(stored.path)).payload, small);
  });
});

test('O_DIRECT is used where the filesystem allows it', async () => {
  await withTmpDir(async (disk) => {
    const payload = rng.bytes(65536);
    const w = await fragWrite(disk, header(payload), payload);
    // Whether it may be used depends on the filesystem; what must hold is consistency.
    assert.equal(w.direct, !fragDirectDisabled(disk));
  });
});

test('a filesystem that refuses O_DIRECT falls back to buffered writes, once, and remembers', async () => {
  await withRamfs(async (disk) => {
    for (let i = 0; i < 3; i++) {
      const payload = rng.bytes(10_000 + i);
      const h = header(payload, { index: i });
      const w = await fragWrite(disk, h, payload);
      assert.equal(w.direct, false);
      assert.deepEqual((await fragRead(w.path, h.payloadHash)).payload, payload);
    }
    assert.equal(fragDirectDisabled(disk), true);
    assert.deepEqual(tmpEntries(disk), [], 'the refused O_DIRECT attempt left no temp file');
  });
});

test('fragCopyTo writes the verified payload at an offset of an open file; a wrong, damaged or short fragment writes nothing', async () => {
  await withTmpDir(async (disk) => {
    const payload = rng.bytes(10_000);
    const h = header(payload, { index: 2 });
    const { path: file } = await fragWrite(disk, h, payload);
    const out = path.join(disk, 'target');
    fs.writeFileSync(out, Buffer.alloc(20_000, 0xaa));
    const fd = fs.openSync(out, 'r+');
    try {
      assert.equal(await fragCopyTo(file, h.payloadHash, h.extentId, 2, fd, 100, 9_000), 10_000);
      const got = fs.readFileSync(out);
      assert.deepEqual(got.subarray(100, 9_100), payload.subarray(0, 9_000));
      assert.ok(got.subarray(0, 100).every((b) => b === 0xaa) && got.subarray(9_100).every((b) => b === 0xaa), 'nothing written outside the range');
      fs.writeFileSync(out, Buffer.alloc(20_000, 0xaa));
      await rejectsWith(fragCopyTo(file, h.payloadHash, h.extentId, 3, fd, 0, 10), 'EFORMAT', /another extent or index/);
      await rejectsWith(fragCopyTo(file, h.payloadHash, rng.bytes(16), 2, fd, 0, 10), 'EFORMAT', /another extent or index/);
      await rejectsWith(fragCopyTo(file, h.payloadHash, h.extentId, 2, fd, 0, 10_001), 'EFORMAT', /fewer than the 10001 to copy/);
      await rejectsWith(fragCopyTo(file, blake3(Buffer.from('other')), h.extentId, 2, fd, 0, 10), 'EDIGEST');
      const bytes = fs.readFileSync(file);
      bytes[4096 + 5]! ^= 1;
      fs.writeFileSync(file, bytes);
      await rejectsWith(fragCopyTo(file, h.payloadHash, h.extentId, 2, fd, 0, 10), 'EDIGEST', /checksum mismatch/);
      assert.ok(fs.readFileSync(out).every((b) => b === 0xaa), 'a refused copy wrote nothing');
    } finally {
      fs.closeSync(fd);
    }
  });
});
