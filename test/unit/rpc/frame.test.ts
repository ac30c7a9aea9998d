/** The admin socket's framing: frames split and joined anywhere, bad bodies, oversized lengths. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { asReply, asRequest, encodeFrame, errorFromReply, FrameReader, requestId } from '../../../src/rpc/frame';
import { DfsError } from '../../../src/errors';

test('frames survive any split and any concatenation', () => {
  const values = [{ id: 1, op: 'ls', args: { path: '/' } }, { id: 2, op: 'status', args: {} }, { id: 3, ok: true, data: { big: 2 ** 40, buf: Buffer.from('ab'), none: null } }];
  const stream = Buffer.concat(values.map((v) => encodeFrame(v)));
  for (const step of [1, 3, 7, stream.length]) {
    const reader = new FrameReader(1 << 20);
    const got: unknown[] = [];
    for (let i = 0; i < stream.length; i += step) {
      for (const f of reader.push(stream.subarray(i, i + step))) {
        assert.ok(f.ok);
        got.push(f.value);
      }
    }
    assert.deepEqual(got, values);
    assert.equal(reader.pending, 0);
  }
});

test('a body that is not msgpack is a failed frame; the next frame still decodes', () => {
  const reader = new FrameReader(1 << 20);
  const frames = reader.push(Buffer.concat([Buffer.from([0, 0, 0, 2, 0xc1, 0xc1]), encodeFrame({ id: 9, op: 'ping', args: {} })]));
  assert.equal(frames.length, 2);
  assert.ok(!frames[0]!.ok && frames[0]!.error.code === 'EPROTO');
  assert.ok(frames[1]!.ok);
});

test('a length above the limit throws EPROTO (the stream is not framed)', () => {
  const reader = new FrameReader(1024);
  assert.throws(() => reader.push(Buffer.from([0, 0, 4, 1])), (e: DfsError) => e.code === 'EPROTO' && /exceeds the limit of 1024/.test(e.message));
});

test('requests and replies are checked; errors round-trip with code, path and details', () => {
  assert.deepEqual(asRequest({ id: 4, op: 'ls' }), { id: 4, op: 'ls', args: {} });
  for (const bad of [null, [1], { op: 'ls' }, { id: 1.5, op: 'ls' }, { id: 1, op: 2 }, { id: 1, op: 'ls', args: [1] }]) {
    assert.throws(() => asRequest(bad), (e: DfsError) => e.code === 'EPROTO');
  }
  // A request id the client chose is kept when it is a plain token; anything else is EPROTO naming the rule.
  assert.deepEqual(asRequest({ id: 5, op: 'scrub', args: {}, reqId: 'nightly-scrub.42' }), { id: 5, op: 'scrub', args: {}, reqId: 'nightly-scrub.42' });
  for (const reqId of ['', 'has space', '-leading', 'x'.repeat(65), 'line\nbreak', 7]) {
    assert.throws(() => asRequest({ id: 5, op: 'scrub', args: {}, reqId }), (e: DfsError) => e.code === 'EPROTO' && /request id .* is not 1 to 64 letters/.test(e.message), String(reqId));
  }
  assert.equal(requestId({ id: 7, op: 3 }), 7);
  assert.equal(requestId('x'), null);
  const err = new DfsError('EPOOLBUSY', 'pool is busy', '/p', { pid: 42 });
  const reply = asReply({ id: 1, ok: false, error: err.toJSON() });
  assert.ok(!reply.ok);
  const back = errorFromReply(reply.error);
  assert.deepEqual([back.code, back.message, back.path, back.details], ['EPOOLBUSY', 'pool is busy', '/p', { pid: 42 }]);
  assert.throws(() => asReply({ id: 1 }), (e: DfsError) => e.code === 'EPROTO');
});
