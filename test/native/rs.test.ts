import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rsEncode, rsReconstruct, rsReconstructAsync } from '../../src/native';
import { DfsError } from '../../src/errors';
import { referenceEncode } from '../helpers/gf256-reference';
import { Rng, combinations } from '../helpers/random';

const SIZES = [1, 2, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 127, 129, 255, 4095, 4097, 10_007];

function shards(rng: Rng, n: number, len: number): Buffer[] {
  return Array.from({ length: n }, () => rng.bytes(len));
}

function encode(k: number, m: number, data: Buffer[]): Buffer[] {
  const len = data[0]!.length;
  const parity = Array.from({ length: m }, () => Buffer.alloc(len));
  rsEncode(k, m, data, parity);
  return parity;
}

test('encode matches the naive reference over random shapes and odd sizes', () => {
  const rng = new Rng();
  for (let iter = 0; iter < 60; iter++) {
    const m = rng.int(1, 8);
    const k = rng.int(1, 32 - m);
    const len = iter < SIZES.length ? SIZES[iter]! : rng.int(1, 3000);
    const data = shards(rng, k, len);
    assert.deepEqual(encode(k, m, data), referenceEncode(k, m, data).map((p) => Buffer.from(p)),
      `seed ${rng.seed} k=${k} m=${m} len=${len}`);
  }
});

test('encode works on unaligned views into a larger buffer', () => {
  const rng = new Rng();
  const k = 5, m = 3, len = 1000;
  const big = rng.bytes(k * (len + 3) + 7);
  const data = Array.from({ length: k }, (_, i) => big.subarray(1 + i * (len + 3), 1 + i * (len + 3) + len));
  const parityBig = Buffer.alloc(m * (len + 1) + 3);
  const parity = Array.from({ length: m }, (_, i) => parityBig.subarray(3 + i * (len + 1), 3 + i * (len + 1) + len));
  rsEncode(k, m, data, parity);
  assert.deepEqual(parity.map((p) => Buffer.from(p)), referenceEncode(k, m, data).map((p) => Buffer.from(p)));
});

test('every erasure pattern up to m reconstructs exactly, for small shapes', () => {
  const rng = new Rng();
  for (const [k, m] of [[4, 2], [3, 3], [6, 3], [2, 4], [5, 1], [1, 2]] as const) {
    const len = rng.pick([1, 33, 257, 1000]);
    const data = shards(rng, k, len);
    const all = [...data, ...encode(k, m, data)];
    for (let lost = 1; lost <= m; lost++) {
      for (const gone of combinations(k + m, lost)) {
        const work: (Buffer | null)[] = all.map((s) => Buffer.from(s));
        for (const g of gone) work[g] = Buffer.alloc(len, 0xee); // output buffers hold junk
        rsReconstruct(k, m, work, gone);
        for (const g of gone) assert.deepEqual(work[g], all[g], `k=${k} m=${m} lost ${gone} shard ${g}`);
      }
    }
  }
});

test('reconstruct from any k survivors, rebuilding only the wanted shards', async () => {
  const rng = new Rng();
  for (let iter = 0; iter < 40; iter++) {
    const m = rng.int(1, 8);
    const k = rng.int(1, 24);
    const len = rng.int(1, 2000);
    const data = shards(rng, k, len);
    const all = [...data, ...encode(k, m, data)];
    // Drop exactly m shards at random; rebuild a random subset of them; pass nulls for the rest.
    const order = [...all.keys()].sort(() => (rng.next() & 1) - 0.5);
    const gone = order.slice(0, m);
    const wanted = gone.filter((_, i) => i === 0 || (rng.next() & 1) === 1);
    const work: (Buffer | null)[] = all.map((s) => Buffer.from(s));
    for (const g of gone) work[g] = wanted.includes(g) ? Buffer.alloc(len) : null;
    if (iter % 2) rsReconstruct(k, m, work, wanted);
    else await rsReconstructAsync(k, m, work, wanted);
    for (const g of wanted) assert.deepEqual(work[g], all[g], `seed ${rng.seed} k=${k} m=${m} lost ${gone} wanted ${wanted}`);
  }
});

function assertCode(fn: () => unknown, code: string, re?: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof DfsError, `expected DfsError, got ${String(e)}`);
    assert.equal(e.code, code);
    if (re) assert.match(e.message, re);
    return true;
  });
}

test('malformed arguments throw typed errors and never crash', async () => {
  const b = () => Buffer.alloc(64);
  assertCode(() => rsEncode(0, 2, [], [b(), b()]), 'EINVAL', /k must be/);
  assertCode(() => rsEncode(2, 2, [b()], [b(), b()]), 'EINVAL', /data must hold 2/);
  assertCode(() => rsEncode(2, 1, [b(), Buffer.alloc(63)], [b()]), 'EINVAL', /same length/);
  assertCode(() => rsEncode(2, 1, [b(), b()], [Buffer.alloc(65)]), 'EINVAL', /same length/);
  assertCode(() => rsEncode(2, 1, [b(), 'nope' as unknown as Buffer], [b()]), 'EINVAL', /Buffer/);
  assertCode(() => rsEncode(2, 1, [b(), b()], [new Uint16Array(32) as unknown as Buffer]), 'EINVAL', /Buffer/);
  assertCode(() => rsEncode(1.5, 1, [b()], [b()]), 'EINVAL', /integer/);
  assertCode(() => rsEncode(250, 10, Array.from({ length: 250 }, b), Array.from({ length: 10 }, b)), 'EINVAL');
  // more than m missing
  assertCode(() => rsReconstruct(4, 2, [b(), null, null, b(), b(), b()], [0]), 'ETOOMANYLOST', /need 4/);
  await assert.rejects(rsReconstructAsync(4, 2, [b(), null, null, b(), b(), b()], [0]),
    (e: unknown) => e instanceof DfsError && e.code === 'ETOOMANYLOST');
  // a target with no output buffer, an out-of-range target
  assertCode(() => rsReconstruct(2, 1, [null, b(), b()], [0]), 'EINVAL', /output buffer/);
  assertCode(() => rsReconstruct(2, 1, [b(), b(), b()], [3]), 'EINVAL');
  assertCode(() => rsReconstruct(2, 1, [b(), b()], [0]), 'EINVAL', /must hold 3/);
});
