/**
 * What a tier migration yields to: the ForegroundMeter moves on foreground reads and
 * writes only (a migration's are marked background, so it never yields to itself), and a
 * rate-limited job accounts each byte four times over while foreground I/O is recent.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { throttleYielding, FOREGROUND_WINDOW_MS } from '../../../src/engine/foreground-yield';
import type { FragmentHeaderInput } from '../../../src/native';
import { ForegroundMeter } from '../../../src/pool/foreground-meter';
import type { FragmentStore } from '../../../src/pool/fragment-store';

/** A store whose reads and writes do nothing but answer. */
const idle = { id: 1, read: async () => Buffer.alloc(0), write: async () => 0 } as unknown as FragmentStore;
const header = {} as FragmentHeaderInput;

test('background reads and writes leave the meter alone; foreground ones move it', async () => {
  const meter = new ForegroundMeter();
  const store = meter.wrap(idle);
  await store.write(header, new Uint8Array(1), false, 'background');
  await store.read(Buffer.alloc(16), 0, Buffer.alloc(32), 'background');
  assert.equal(meter.lastMs, 0);
  const before = Date.now();
  await store.write(header, new Uint8Array(1), false);
  assert.ok(meter.lastMs >= before, 'a foreground write moves it');
  meter.lastMs = 0;
  await store.read(Buffer.alloc(16), 0, Buffer.alloc(32));
  assert.ok(meter.lastMs >= before, 'a foreground read moves it');
});

test('throttleYielding: the bytes once with no foreground I/O, four times over (in two takes) while it is recent', async () => {
  const taken: number[] = [];
  const ctx = { throttle: async (n: number) => { taken.push(n); } };
  await throttleYielding(ctx, { lastMs: Date.now() - FOREGROUND_WINDOW_MS - 1000 }, 1000);
  assert.deepEqual(taken, [1000]);
  taken.length = 0;
  await throttleYielding(ctx, { lastMs: Date.now() }, 1000);
  assert.deepEqual(taken, [1000, 3000]);
});
