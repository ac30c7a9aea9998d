/**
 * Heat classifiers: whether an extent is hot (read often: promoted to its foreground tier,
 * never demoted) judged from its reads per interval (tier.promoteWindowSeconds). Each
 * keeps one number per extent, updated once per interval (tier-access.ts keeps both, so
 * tier.classifier may change at any time): heat-hmm.ts, a two-state hidden Markov model
 * filtered forward, and heat-decay.ts, a decayed count, the baseline bench:tier compares
 * it with.
 */
import type { HEAT_CLASSIFIERS } from '../config/settings';
import { decayIdle, decayStep } from './heat-decay';
import { HOT_FROM, hmmIdle, hmmParams, hmmStep } from './heat-hmm';

export type ClassifierName = (typeof HEAT_CLASSIFIERS)[number];

export interface HeatClassifier {
  readonly name: ClassifierName;
  /** The state of an extent no read was seen of. */
  readonly initial: number;
  /** After one interval with `count` reads. */
  step(state: number, count: number): number;
  /** After `n` intervals without a read. */
  idle(state: number, n: number): number;
  hot(state: number): boolean;
}

/** The classifier `name` for extents that a hot one reads `hotReads` times an interval. */
export function heatClassifier(name: ClassifierName, hotReads: number): HeatClassifier {
  if (name === 'decayed') {
    return { name, initial: 0, step: decayStep, idle: decayIdle, hot: (s) => s >= hotReads };
  }
  const p = hmmParams(hotReads);
  return { name, initial: 0, step: (s, count) => hmmStep(s, count, p), idle: (s, n) => hmmIdle(s, n, p), hot: (s) => s >= HOT_FROM };
}
