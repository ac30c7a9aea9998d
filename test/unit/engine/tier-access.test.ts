/**
 * The access history's heat (tier-access.ts), with a 10 s interval and hotReads 4, on a
 * moved clock: reads closer than a second to the last counted one are one access (a
 * scan's 32 calls per extent are one read); an extent is judged on whole intervals, each
 * starting at its first read after the last ended (the one under way counts once over); both classifiers' states after each interval are the
 * hand-computed ones of heat.test.ts; writes touch without counting; the history saved
 * and opened again (version 2, states to 6 digits) and a version 1 file (read times
 * replayed) give the same answers; a damaged file starts afresh.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AccessHistory, ACCESS_FILE } from '../../../src/engine/tier-access';
import { sealJson } from '../../../src/pool/durable-file';
import { withTmpDir } from '../../helpers/tmp';

const S = { intervalMs: 10_000, hotReads: 4 };
const A = Buffer.from('aa'.repeat(16), 'hex');
const B = Buffer.from('bb'.repeat(16), 'hex');
const T0 = 1_000_000_000_000;
/** P(hot) after one interval of 4 reads from cold, and after one of 1 read (heat.test.ts). */
const HMM_4 = 0.9878225345328485;
const HMM_1 = 0.019419819351520373;
const close = (actual: number, expected: number, what: string): void => assert.ok(Math.abs(actual - expected) < 1e-9, `${what}: ${actual} vs ${expected}`);

test('reads are counted once a second per extent, judged on whole intervals, by both classifiers', async () => {
  await withTmpDir((dir) => {
    const h = new AccessHistory(path.join(dir, ACCESS_FILE), T0, S);
    // Extent A: 6 touches, 4 of them a second or more after the last counted one; its interval is [1000, 11000).
    for (const t of [1000, 1500, 2100, 2200, 3200, 4300]) h.touch(A, true, T0 + t);
    // Extent B: a scan through the mount, 32 reads in 310 ms: one access; its interval is [5000, 15000).
    for (let i = 0; i < 32; i++) h.touch(B, true, T0 + 5000 + i * 10);
    assert.equal(h.lastAccessMs(A), T0 + 4300);
    for (const name of ['hmm', 'decayed'] as const) {
      assert.equal(h.hot(A, name, T0 + 10_999), false, `${name}: the interval under way does not count yet`);
      assert.equal(h.state(A, name, T0 + 10_999), 0);
    }
    // The intervals ended: A had 4 reads, B 1.
    close(h.state(A, 'hmm', T0 + 11_000), HMM_4, 'A hmm');
    assert.equal(h.state(A, 'decayed', T0 + 11_000), 4);
    close(h.state(B, 'hmm', T0 + 15_000), HMM_1, 'B hmm');
    assert.equal(h.state(B, 'decayed', T0 + 15_000), 1);
    assert.deepEqual([h.hot(A, 'hmm', T0 + 15_000), h.hot(A, 'decayed', T0 + 15_000), h.hot(B, 'hmm', T0 + 15_000), h.hot(B, 'decayed', T0 + 15_000)],
      [true, true, false, false], 'A is hot; the scanned B is not');
    // One more interval without reads: both cold again (decayed 2; hmm 0.159).
    assert.equal(h.state(A, 'decayed', T0 + 21_000), 2);
    assert.deepEqual([h.hot(A, 'hmm', T0 + 21_000), h.hot(A, 'decayed', T0 + 21_000)], [false, false]);
    // A read after the interval closes it for good, and opens the next: [12000, 22000).
    h.touch(A, true, T0 + 12_000);
    assert.equal(h.state(A, 'decayed', T0 + 21_999), 4);
    assert.equal(h.state(A, 'decayed', T0 + 22_000), 3, '4/2 + 1');
  });
});

test('writes touch without counting; an extent never read is cold and idle since its last write or the history\'s start', async () => {
  await withTmpDir((dir) => {
    const h = new AccessHistory(path.join(dir, ACCESS_FILE), T0, S);
    h.touch(A, false, T0 + 500);
    assert.equal(h.lastAccessMs(A), T0 + 500);
    assert.equal(h.lastAccessMs(B), T0, 'unknown: as of the history\'s start');
    for (const x of [A, B]) assert.deepEqual([h.state(x, 'hmm', T0 + 50_000), h.state(x, 'decayed', T0 + 50_000)], [0, 0]);
  });
});

test('saved and opened again (version 2), the answers are the same; a version 1 file\'s reads are counted again; a damaged one starts afresh', async () => {
  await withTmpDir((dir) => {
    const file = path.join(dir, ACCESS_FILE);
    const h = new AccessHistory(file, T0, S);
    for (const t of [1000, 2100, 3200, 4300]) h.touch(A, true, T0 + t);
    h.touch(B, false, T0 + 4400);
    h.touch(A, true, T0 + 11_000); // the first interval has ended: A's states are 0.98782... and 4, the next one starts
    assert.equal(h.save(), true);
    const doc = JSON.parse(fs.readFileSync(file, 'utf8'));
    assert.deepEqual([doc.format, doc.version, doc.sinceMs], ['dynamicfs-tier-access', 2, T0]);
    assert.deepEqual(doc.extents, { [A.toString('hex')]: [T0 + 11_000, T0 + 11_000, T0 + 11_000, 1, 0.987823, 4], [B.toString('hex')]: T0 + 4400 });
    const again = new AccessHistory(file, T0 + 60_000, S);
    assert.equal(again.damaged, undefined);
    assert.deepEqual([again.lastAccessMs(A), again.lastAccessMs(B)], [T0 + 11_000, T0 + 4400]);
    assert.equal(again.state(A, 'decayed', T0 + 21_000), 3);
    close(again.state(A, 'hmm', T0 + 20_000), 0.987823, 'kept to 6 digits');

    fs.writeFileSync(file, sealJson({ format: 'dynamicfs-tier-access', version: 1, sinceMs: T0, lastMs: { [A.toString('hex')]: T0 + 4300, [B.toString('hex')]: T0 + 4400 },
      readsMs: { [A.toString('hex')]: [T0 + 3200, T0 + 1000, T0 + 4300, T0 + 2100] } }));
    const v1 = new AccessHistory(file, T0 + 60_000, S);
    assert.equal(v1.damaged, undefined);
    assert.deepEqual([v1.lastAccessMs(A), v1.lastAccessMs(B)], [T0 + 4300, T0 + 4400]);
    close(v1.state(A, 'hmm', T0 + 11_000), HMM_4, 'version 1 reads replayed in order');
    assert.equal(v1.state(A, 'decayed', T0 + 11_000), 4);

    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace(String(T0 + 4400), String(T0 + 4401)));
    const damaged = new AccessHistory(file, T0 + 70_000, S);
    assert.match(damaged.damaged ?? '', /damaged|checksum/i);
    assert.deepEqual([damaged.lastAccessMs(A), damaged.state(A, 'decayed', T0 + 80_000)], [T0 + 70_000, 0], 'afresh: nothing idle for longer than it can show');
  });
});

test('configure: a new interval length and hot rate apply to the intervals that end from then on', async () => {
  await withTmpDir((dir) => {
    const h = new AccessHistory(path.join(dir, ACCESS_FILE), T0, S);
    for (const t of [1000, 2100]) h.touch(A, true, T0 + t);
    assert.equal(h.hot(A, 'decayed', T0 + 10_000), false, '2 reads: not 4');
    assert.equal(h.state(A, 'decayed', T0 + 6000), 0);
    h.configure({ intervalMs: 5000, hotReads: 2 });
    assert.equal(h.state(A, 'decayed', T0 + 6000), 2);
    assert.equal(h.hot(A, 'decayed', T0 + 6000), true, '2 reads in an interval of 5 s, with hotReads 2');
  });
});
