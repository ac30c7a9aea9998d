/** Rate and ETA of a job: never negative, 0 once done (even when the total grew), unknown rather than made up. */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import { emptyProgress, liveFigures } from '../../../src/engine/jobs';
import { RateLimiter } from '../../../src/engine/rate-limiter';

const p = (done: number, total: number, extra: Record<string, unknown> = {}) => ({ ...emptyProgress(), bytesDone: done, bytesTotal: total, extentsDone: 1, extentsTotal: 2, ...extra });

describe('job rate and ETA', () => {
  it('is unknown with fewer than two samples, and computed from the window otherwise', () => {
    assert.deepEqual(liveFigures([{ at: 0, bytes: 0 }], p(0, 100)), { rateBytesPerSec: null, etaSeconds: null, timeToSafetySeconds: null });
    const f = liveFigures([{ at: 0, bytes: 0 }, { at: 2000, bytes: 100 }], p(100, 300));
    assert.equal(f.rateBytesPerSec, 50);
    assert.equal(f.etaSeconds, 4);
  });

  it('is 0 once done, also when done overshot the total', () => {
    assert.equal(liveFigures([{ at: 0, bytes: 0 }, { at: 1000, bytes: 500 }], p(500, 400)).etaSeconds, 0);
    assert.equal(liveFigures([{ at: 0, bytes: 0 }], p(400, 400)).etaSeconds, 0);
  });

  it('is unknown, not infinite, when nothing moved in the window', () => {
    assert.equal(liveFigures([{ at: 0, bytes: 10 }, { at: 5000, bytes: 10 }], p(10, 1e12)).etaSeconds, null);
  });

  it('reports time to safety from the bytes still at zero margin', () => {
    const f = liveFigures([{ at: 0, bytes: 0 }, { at: 1000, bytes: 100 }], p(100, 1000, { atRiskBytes: 250 }));
    assert.equal(f.timeToSafetySeconds, 3);
    assert.equal(liveFigures([{ at: 0, bytes: 0 }, { at: 1000, bytes: 100 }], p(100, 1000, { atRiskBytes: 0 })).timeToSafetySeconds, 0);
  });
});

describe('rate limiter', () => {
  // Virtual time (mocked Date and setTimeout): the waits are exact, whatever the machine's load.
  beforeEach(() => mock.timers.enable({ apis: ['Date', 'setTimeout'], now: 0 }));
  afterEach(() => mock.timers.reset());

  /** Await `p`, advancing virtual time 1 ms whenever it is waiting; returns the virtual ms it took. */
  async function virtualMs(p: Promise<void>): Promise<number> {
    let done = false;
    void p.then(() => { done = true; });
    const t0 = Date.now();
    for (;;) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (done) return Date.now() - t0;
      mock.timers.tick(1);
    }
  }

  it('holds a caller to its rate after the first second of burst', async () => {
    const r = new RateLimiter(1_000_000);
    // The full 1 MB bucket pays for the first ten 100 kB units at once.
    for (let i = 0; i < 10; i++) assert.equal(await virtualMs(r.take(100_000)), 0, `unit ${i} is in the burst`);
    // The bucket is empty: 1 ms to earn a token, the unit goes into 99 kB of debt,
    // then each further unit waits the 100 ms that 100 kB costs at 1 MB/s.
    assert.equal(await virtualMs(r.take(100_000)), 1);
    for (let i = 0; i < 4; i++) assert.equal(await virtualMs(r.take(100_000)), 100);
  });

  it('is unlimited at rate 0 and stops waiting when aborted', async () => {
    assert.equal(await virtualMs(new RateLimiter(0).take(1e12)), 0);
    const r = new RateLimiter(1);
    assert.equal(await virtualMs(r.take(1e9)), 0, 'the first unit is paid from the bucket into debt');
    // Deep in debt: an unaborted take waits 250 ms slices; an aborted one returns without waiting.
    let aborted = false;
    const waiting = r.take(1, () => aborted);
    assert.equal(await virtualMs(Promise.race([waiting, new Promise<void>((resolve) => setTimeout(resolve, 1000))])), 1000,
      'still waiting after a virtual second');
    aborted = true;
    assert.equal(await virtualMs(waiting), 250, 'the abort is seen at the end of the current 250 ms slice');
    assert.equal(await virtualMs(r.take(1, () => true)), 0);
  });
});
