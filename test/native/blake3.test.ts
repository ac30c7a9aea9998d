import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import * as fs from 'node:fs';
import { blake3, blake3Async, blake3DeriveKey, blake3Hasher, blake3Into, blake3Keyed } from '../../src/native';
import { DfsError } from '../../src/errors';
import { Rng } from '../helpers/random';

interface Vectors {
  key: string;
  context_string: string;
  cases: { input_len: number; hash: string; keyed_hash: string; derive_key: string }[];
}

// Compiled tests run from dist/test/native; the fixture stays in the source tree.
const fixture = path.resolve(__dirname, '../../../test/fixtures/blake3_test_vectors.json');
const vectors = JSON.parse(fs.readFileSync(fixture, 'utf8')) as Vectors;
const key = Buffer.from(vectors.key, 'ascii');

function input(len: number): Buffer {
  const b = Buffer.alloc(len);
  for (let i = 0; i < len; i++) b[i] = i % 251;
  return b;
}

/** Feed `data` to an incremental hasher in pieces of the given sizes, cycling. */
function pieces(h: ReturnType<typeof blake3Hasher>, data: Buffer, sizes: number[]): void {
  let off = 0;
  for (let i = 0; off < data.length; i++) {
    const n = sizes[i % sizes.length]!;
    h.update(data.subarray(off, off + n));
    off += n;
  }
}

test('official vectors: hash, keyed_hash, derive_key, full extended output', () => {
  for (const c of vectors.cases) {
    const data = input(c.input_len);
    const outLen = c.hash.length / 2;
    assert.equal(blake3(data, outLen).toString('hex'), c.hash, `hash len ${c.input_len}`);
    assert.equal(blake3(data).toString('hex'), c.hash.slice(0, 64), `hash default len ${c.input_len}`);
    assert.equal(blake3Keyed(key, data, outLen).toString('hex'), c.keyed_hash, `keyed len ${c.input_len}`);
    assert.equal(blake3DeriveKey(vectors.context_string, data, outLen).toString('hex'), c.derive_key,
      `derive_key len ${c.input_len}`);
  }
});

test('official vectors through the incremental hasher in odd pieces, with seek', () => {
  const splits = [[1], [7], [63], [64], [65], [1023], [1024], [1025], [3, 1000, 5000]];
  for (const c of vectors.cases) {
    const data = input(c.input_len);
    const outLen = c.hash.length / 2;
    const split = splits[c.input_len % splits.length]!;
    for (const [mode, expected] of [['hash', c.hash], ['keyed', c.keyed_hash], ['derive', c.derive_key]] as const) {
      const h = mode === 'hash' ? blake3Hasher() : mode === 'keyed' ? blake3Hasher({ key }) : blake3Hasher({ context: vectors.context_string });
      pieces(h, data, split);
      assert.equal(h.digest(outLen).toString('hex'), expected, `${mode} len ${c.input_len} split ${split}`);
      // Finalize does not change the state, and seeking gives the suffix of the stream.
      assert.equal(h.digest(outLen - 37, 37).toString('hex'), expected.slice(74), `${mode} seek len ${c.input_len}`);
      h.reset();
      h.update(data);
      assert.equal(h.digest(outLen).toString('hex'), expected, `${mode} after reset len ${c.input_len}`);
    }
  }
});

test('one-shot, incremental and async agree on random lengths', async () => {
  const rng = new Rng();
  for (let i = 0; i < 30; i++) {
    const len = rng.pick([0, 1, 1024, 4096, 65536, rng.int(0, 300_000)]);
    const data = rng.bytes(len);
    const one = blake3(data);
    const h = blake3Hasher();
    pieces(h, data, [rng.int(1, 5000), rng.int(1, 70)]);
    assert.deepEqual(h.digest(), one, `seed ${rng.seed} len ${len}`);
    assert.deepEqual(await blake3Async(data), one, `async seed ${rng.seed} len ${len}`);
  }
});

test('bad arguments are typed errors', () => {
  const bad = (fn: () => unknown, re: RegExp) =>
    assert.throws(fn, (e: unknown) => e instanceof DfsError && e.code === 'EINVAL' && re.test(e.message));
  bad(() => blake3('text' as unknown as Buffer), /Buffer/);
  bad(() => blake3Keyed(Buffer.alloc(31), Buffer.alloc(1)), /32 bytes/);
  bad(() => blake3Hasher({ key: Buffer.alloc(32), context: 'x' }), /not both/);
  bad(() => blake3(Buffer.alloc(1), -1), /outLen/);
});

test('blake3Into writes the hash at an offset and refuses a short buffer', () => {
  const data = Buffer.from('into');
  const out = Buffer.alloc(40, 0xaa);
  blake3Into(data, out, 5);
  assert.deepEqual(out.subarray(5, 37), blake3(data));
  assert.equal(out[4], 0xaa);
  assert.equal(out[37], 0xaa);
  assert.throws(() => blake3Into(data, out, 9), (e: unknown) => e instanceof DfsError && e.code === 'EINVAL');
});
