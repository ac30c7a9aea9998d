/** Recycled encode buffers: whole buffers come back, views and detached ones do not, and the free list is capped. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { freeBufferCount, recycleBuffer, takeBuffer } from '../../../src/engine/encode-buffers';

describe('encode buffers', () => {
  it('hands a recycled buffer out again for the same size only', () => {
    const a = takeBuffer(1 << 16);
    a[0] = 7;
    recycleBuffer(a);
    assert.equal(takeBuffer(1 << 17).byteLength, 1 << 17);
    const b = takeBuffer(1 << 16);
    assert.equal(b.buffer, a.buffer);
    assert.equal(b[0], 7); // not zeroed: callers fill what they use
  });

  it('ignores views into a larger buffer and detached buffers', () => {
    const before = freeBufferCount();
    recycleBuffer(takeBuffer(8192).subarray(4096));
    const moved = takeBuffer(8192);
    structuredClone(moved, { transfer: [moved.buffer as ArrayBuffer] }); // detaches it
    recycleBuffer(moved);
    assert.equal(freeBufferCount(), before);
  });

  it('keeps at most a few free buffers per size, each once', () => {
    const bufs = Array.from({ length: 20 }, () => takeBuffer(12288));
    recycleBuffer(bufs[0]!);
    recycleBuffer(bufs[0]!);
    for (const b of bufs) recycleBuffer(b);
    const got = new Set(Array.from({ length: 20 }, () => takeBuffer(12288).buffer));
    assert.equal([...got].filter((ab) => bufs.some((b) => b.buffer === ab)).length, 8);
  });
});
