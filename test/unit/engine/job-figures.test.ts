/** Rate and ETA of a job: never negative, 0 once done (even when the total grew), unknown rather than made up. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
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
  it('holds a caller to its rate after the first second of burst', async () => {
    const r = new RateLimiter(1_000_000);
    const t0 = Date.now();
    for (let i = 0; i < 15; i++) await r.take(100_000);
    // 1.5 MB at 1 MB/s with a 1 MB bucket: at least ~0.5 s of waiting (a floor, not a timing target).
    assert.ok(Date.now() - t0 >= 400, `took ${Date.now() - t0} ms`);
  });

  it('is unlimited at rate 0 and stops waiting when aborted', async () => {
    await new RateLimiter(0).take(1e12);
    const r = new RateLimiter(1);
    await r.take(1e9);
    await r.take(1, () => true);
  });
});
