/**
 * The send stream's framing: records round-trip; any flipped byte is refused naming the
 * record it sits in and that record's offset; a stream cut anywhere before its end record
 * is refused as truncated; records moved or joined break the chain.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { DfsError } from '../../../src/errors';
import { blake3 } from '../../../src/native';
import { RecordReader, RecordWriter, type ReadRecord, type StreamRecord } from '../../../src/fs/stream-format';
import { pipeInput } from '../../../src/fs/stream-input';

const bytes = Buffer.from('some file bytes');
const records: StreamRecord[] = [
  { type: 'header', body: { name: 's1', guid: Buffer.alloc(16, 1), createdMs: 1.5, from: Buffer.alloc(16, 2), fromName: 's0', pool: 'p', extentSize: 65536, sentMs: 2 } },
  { type: 'delete', body: { path: 'gone/x' } },
  { type: 'entry', body: { path: 'f', kind: 'file', mode: 0o640, uid: 1, gid: 2, size: bytes.length, atimeMs: 1.25, mtimeMs: 2.5, ctimeMs: 3, rdev: 0, target: null,
    xattrs: [['user.a', Buffer.from([0, 9])]], link: null, base: 'old/f', extents: [{ offset: 0, length: bytes.length, hash: blake3(bytes), data: true }] } },
  { type: 'data', body: { entry: 3, path: 'f', offset: 0, hash: blake3(bytes), bytes } },
];

function encode(list: StreamRecord[]): { stream: Buffer; starts: number[] } {
  const w = new RecordWriter();
  const parts = [w.start()];
  const starts: number[] = [];
  for (const r of list) {
    starts.push(w.offset);
    parts.push(w.encode(r));
  }
  starts.push(w.offset);
  parts.push(w.encode({ type: 'end', body: { records: list.length, entries: 1, deletes: 1, data: 1, dataBytes: bytes.length } }));
  return { stream: Buffer.concat(parts), starts };
}

async function readAll(stream: Buffer): Promise<ReadRecord[]> {
  const r = await RecordReader.open(pipeInput(Readable.from([stream])), 'the stream');
  const out: ReadRecord[] = [];
  for (let x = await r.next(); x; x = await r.next()) out.push(x);
  return out;
}

test('records round-trip with their numbers and offsets', async () => {
  const { stream, starts } = encode(records);
  const got = await readAll(stream);
  assert.deepEqual(got.map((r) => [r.number, r.offset, r.type]), [...records.map((r, i) => [i, starts[i], r.type]), [4, starts[4], 'end']]);
  assert.deepEqual(got.slice(0, 4).map(({ type, body }) => ({ type, body })), records);
});

test('a flipped byte anywhere is refused naming its record and offset; a cut anywhere as truncated', async () => {
  const { stream, starts } = encode(records);
  const recordAt = (at: number): number => starts.filter((s) => s <= at).length - 1;
  for (let at = 0; at < stream.length; at++) {
    const bad = Buffer.from(stream);
    bad[at] = bad[at]! ^ 0x10;
    const err = await readAll(bad).then(() => undefined, (e: DfsError) => e);
    assert.ok(err instanceof DfsError, `byte ${at} flipped: refused`);
    if (at < 10) {
      assert.equal(err.code, 'EFORMAT', `byte ${at} (magic, major version)`);
      continue;
    }
    // The minor version is read by no one, but the first record is keyed with the preamble's hash.
    const n = at < 12 ? 0 : recordAt(at);
    assert.equal(err.details?.record, n, `byte ${at} flipped: ${err.message}`);
    assert.equal(err.details?.offset, starts[n]);
    assert.match(err.message, new RegExp(`record ${n} .*at byte ${starts[n]}`));
  }
  for (let len = 0; len < stream.length; len++) {
    await assert.rejects(readAll(stream.subarray(0, len)), (e: DfsError) => e.code === 'EFORMAT' && (len < 12 || /truncated/.test(e.message)), `cut at ${len}`);
  }
  await assert.rejects(readAll(Buffer.concat([stream, stream])), { code: 'EFORMAT', message: /past its end record/ });
});

test('records swapped, dropped or taken from another stream break the chain where they stand', async () => {
  const a = encode(records);
  const swapped = Buffer.concat([a.stream.subarray(0, a.starts[1]), a.stream.subarray(a.starts[2]!, a.starts[3]), a.stream.subarray(a.starts[1]!, a.starts[2]),
    a.stream.subarray(a.starts[3])]);
  await assert.rejects(readAll(swapped), { code: 'EDIGEST', message: /record 1 \(entry\) at byte/ });
  const dropped = Buffer.concat([a.stream.subarray(0, a.starts[1]), a.stream.subarray(a.starts[2])]);
  await assert.rejects(readAll(dropped), { code: 'EDIGEST', message: /record 1 \(entry\)/ });
  await assert.rejects(readAll(Buffer.from('PK\x03\x04 not a stream at all')), { code: 'EFORMAT', message: /not a DynamicFS send stream/ });
});
