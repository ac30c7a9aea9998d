/**
 * Synthetic access traces for bench:tier's classifier comparison: per extent, the reads
 * counted in each interval (as the access history counts them: one per pass over an
 * extent) and whether the extent is truly hot in it. Generated from a seeded PRNG, so a
 * seed gives the same traces on every run.
 *
 * The generator's parameters are its own, not the classifiers' (heat-hmm.ts assumes a hot
 * rate of hotReads, a cold one of hotReads/16 and geometric spells): a hot spell reads
 * 3 to 12 times an interval, a cold extent has a stray read 0.05 times an interval.
 *   bursty    cold spells of 20-80 intervals, bursts (hot) of 3-12 intervals;
 *   periodic  a daily cycle of 24 intervals, 8 of them hot (working hours), phase per extent;
 *   scan      cold, with one sequential pass over the extent (one read) somewhere: never hot;
 *   mix       segments of 50-150 intervals of the three above, steadily hot and steadily cold.
 */
import type { HeatClassifier } from '../../src/engine/heat';

export interface ExtentTrace {
  counts: number[];
  hot: boolean[];
  /** The intervals of one-off sequential passes (scan). */
  passes: number[];
}

export interface Trace {
  name: string;
  extents: ExtentTrace[];
}

/** mulberry32: a small seeded PRNG, uniform in [0, 1). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const COLD_RATE = 0.05;
const HOT_RATE = [3, 12] as const;
const PERIOD = 24;
const ON_HOURS = 8;

type Fill = (rnd: () => number, t: ExtentTrace, from: number, to: number) => void;

function poisson(rnd: () => number, rate: number): number {
  // Knuth's method: fine for the small rates here.
  const limit = Math.exp(-rate);
  let n = 0;
  for (let p = rnd(); p > limit; p *= rnd()) n++;
  return n;
}

const uniform = (rnd: () => number, lo: number, hi: number): number => lo + (hi - lo) * rnd();
const between = (rnd: () => number, lo: number, hi: number): number => lo + Math.floor(rnd() * (hi - lo + 1));

const cold: Fill = (rnd, t, from, to) => {
  for (let i = from; i < to; i++) {
    t.counts[i] = poisson(rnd, COLD_RATE);
    t.hot[i] = false;
  }
};

const steadyHot: Fill = (rnd, t, from, to) => {
  const rate = uniform(rnd, ...HOT_RATE);
  for (let i = from; i < to; i++) {
    t.counts[i] = poisson(rnd, rate);
    t.hot[i] = true;
  }
};

const bursty: Fill = (rnd, t, from, to) => {
  let i = from;
  let burst = rnd() < 0.2;
  while (i < to) {
    const len = burst ? between(rnd, 3, 12) : between(rnd, 20, 80);
    const end = Math.min(to, i + len);
    (burst ? steadyHot : cold)(rnd, t, i, end);
    i = end;
    burst = !burst;
  }
};

const periodic: Fill = (rnd, t, from, to) => {
  const phase = between(rnd, 0, PERIOD - 1);
  const rate = uniform(rnd, 3, 10);
  for (let i = from; i < to; i++) {
    const on = (i + phase) % PERIOD < ON_HOURS;
    t.counts[i] = poisson(rnd, on ? rate : COLD_RATE);
    t.hot[i] = on;
  }
};

const scan: Fill = (rnd, t, from, to) => {
  cold(rnd, t, from, to);
  const at = between(rnd, from, to - 1);
  t.counts[at]! += 1; // the one pass: one read of the extent
  t.passes.push(at);
};

const mix: Fill = (rnd, t, from, to) => {
  const kinds = [bursty, periodic, scan, cold, steadyHot];
  for (let i = from; i < to;) {
    const end = Math.min(to, i + between(rnd, 50, 150));
    kinds[Math.floor(rnd() * kinds.length)]!(rnd, t, i, end);
    i = end;
  }
};

const KINDS: [string, Fill][] = [['bursty', bursty], ['periodic', periodic], ['scan', scan], ['mix', mix]];

/** The four traces, each of `extents` extents over `intervals` intervals. */
export function makeTraces(seed: number, extents: number, intervals: number): Trace[] {
  const rnd = prng(seed);
  return KINDS.map(([name, fill]) => ({
    name,
    extents: Array.from({ length: extents }, () => {
      const t: ExtentTrace = { counts: new Array<number>(intervals).fill(0), hot: new Array<boolean>(intervals).fill(false), passes: [] };
      fill(rnd, t, 0, intervals);
      return t;
    }),
  }));
}

export interface Score {
  intervals: number;
  hotIntervals: number;
  /** Intervals where the classifier's verdict (after the interval's reads) is the truth. */
  accuracy: number;
  /** Of the truly cold intervals, the share called hot: a cold extent promoted or kept on the hot tier. */
  falsePromotionRate: number;
  /** Of the truly hot intervals, the share called cold. */
  missedHotRate: number;
  /** Verdicts turning hot, and those of them in a truly cold interval. */
  promotions: number;
  falsePromotions: number;
  /** One-off sequential passes (scan), and those in an interval the classifier called hot. */
  passes: number;
  passesCalledHot: number;
}

/** Run the classifier over every extent of the trace, from its initial state, one step per interval. */
export function score(c: HeatClassifier, traces: readonly Trace[]): Score {
  let n = 0, hotN = 0, right = 0, fp = 0, missed = 0, promotions = 0, falsePromotions = 0, passes = 0, passesCalledHot = 0;
  for (const trace of traces) {
    for (const e of trace.extents) {
      let s = c.initial;
      let was = false;
      const pass = new Set(e.passes);
      passes += pass.size;
      for (let i = 0; i < e.counts.length; i++) {
        s = c.step(s, e.counts[i]!);
        const hot = c.hot(s);
        const truth = e.hot[i]!;
        n++;
        if (truth) hotN++;
        if (hot && pass.has(i)) passesCalledHot++;
        if (hot === truth) right++;
        else if (hot) fp++;
        else missed++;
        if (hot && !was) {
          promotions++;
          if (!truth) falsePromotions++;
        }
        was = hot;
      }
    }
  }
  const r = (x: number): number => Number(x.toFixed(4));
  return { intervals: n, hotIntervals: hotN, accuracy: r(right / n), falsePromotionRate: r(n - hotN === 0 ? 0 : fp / (n - hotN)),
    missedHotRate: r(hotN === 0 ? 0 : missed / hotN), promotions, falsePromotions, passes, passesCalledHot };
}
