/**
 * The heat classifiers on hand-computed cases (hotReads 4: the HMM's hot rate 4 and cold
 * rate 4/16 = 0.25 reads an interval, P(cold → hot) 0.05, P(hot → cold) 0.1; the decayed
 * count halves each interval and is hot from 4). Each expected posterior is written out
 * as the odds a reader can compute by hand — prior odds × (4/0.25)^count × e^(0.25 − 4) —
 * not through the module's log-odds code, and checked with a rounded literal too.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { heatClassifier } from '../../../src/engine/heat';
import { decayIdle, decayStep } from '../../../src/engine/heat-decay';
import { hmmIdle, hmmParams, hmmPredict, hmmStep, hmmUpdate } from '../../../src/engine/heat-hmm';

const P = hmmParams(4);
const LR0 = Math.exp(0.25 - 4);
const fromOdds = (odds: number): number => odds / (1 + odds);
const close = (actual: number, expected: number, what: string): void => assert.ok(Math.abs(actual - expected) < 1e-12, `${what}: ${actual} vs ${expected}`);

test('HMM parameters follow hotReads', () => {
  assert.deepEqual(hmmParams(4), { hotRate: 4, coldRate: 0.25, toHot: 0.05, toCold: 0.1 });
  assert.deepEqual(hmmParams(16), { hotRate: 16, coldRate: 1, toHot: 0.05, toCold: 0.1 });
});

test('HMM predict: through the transition matrix', () => {
  assert.equal(hmmPredict(0, P), 0.05);
  assert.equal(hmmPredict(1, P), 0.9);
  close(hmmPredict(0.5, P), 0.475, 'predict(0.5)');
});

test('HMM forward step from cold: one read (a scan) stays cold, two stay cold, three turn hot, four are sure', () => {
  const prior = 0.05 / 0.95; // odds after predicting from P(hot) = 0
  const cases: [number, number, number][] = [[0, fromOdds(prior * LR0), 0.0012362], [1, fromOdds(prior * 16 * LR0), 0.0194198],
    [2, fromOdds(prior * 16 ** 2 * LR0), 0.2406240], [3, fromOdds(prior * 16 ** 3 * LR0), 0.8352535], [4, fromOdds(prior * 16 ** 4 * LR0), 0.9878225]];
  const hmm = heatClassifier('hmm', 4);
  for (const [count, expected, rounded] of cases) {
    const p = hmmStep(0, count, P);
    close(p, expected, `${count} reads`);
    assert.equal(Number(p.toFixed(7)), rounded, `${count} reads`);
    assert.equal(hmm.hot(hmm.step(0, count)), count >= 3, `${count} reads: hot?`);
  }
});

test('HMM: a hot extent with an interval without reads turns cold; with one read it stays hot', () => {
  const hot = hmmStep(0, 4, P); // 0.98782
  const predicted = hot * 0.9 + (1 - hot) * 0.05;
  close(hmmStep(hot, 0, P), fromOdds(predicted / (1 - predicted) * LR0), 'an empty interval');
  assert.equal(Number(hmmStep(hot, 0, P).toFixed(7)), 0.1593814);
  close(hmmStep(hot, 1, P), fromOdds(predicted / (1 - predicted) * 16 * LR0), 'one read');
  assert.equal(Number(hmmStep(hot, 1, P).toFixed(7)), 0.7520827);
});

test('HMM idle: n empty intervals are n steps, bounded; a huge count does not overflow', () => {
  const hot = hmmStep(0, 4, P);
  assert.equal(hmmIdle(hot, 0, P), hot);
  assert.equal(hmmIdle(hot, 2, P), hmmStep(hmmStep(hot, 0, P), 0, P));
  assert.equal(hmmIdle(hot, 1_000_000, P), hmmIdle(hot, 64, P), 'past 64 intervals the state does not move');
  assert.equal(hmmUpdate(0.05, 100_000, P), 1);
  assert.equal(hmmUpdate(0.9, 0, hmmParams(16)) > 0, true, 'e^-15 stays above zero');
});

test('decayed count: halved each interval, hot from hotReads', () => {
  assert.equal(decayStep(0, 4), 4);
  assert.equal(decayStep(4, 0), 2);
  assert.equal(decayStep(2, 3), 4);
  assert.equal(decayIdle(8, 3), 1);
  assert.equal(decayIdle(8, 0), 8);
  const d = heatClassifier('decayed', 4);
  assert.deepEqual([d.name, d.initial, d.hot(3.999), d.hot(4), d.step(6, 1), d.idle(6, 1)], ['decayed', 0, false, true, 4, 3]);
  const h = heatClassifier('hmm', 4);
  assert.deepEqual([h.name, h.initial, h.hot(0.4999), h.hot(0.5)], ['hmm', 0, false, true]);
});
