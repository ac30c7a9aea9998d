/**
 * The heat classifier of issue 17: a two-state hidden Markov model. In each interval an
 * extent is hot or cold, and its reads in that interval are Poisson-distributed with the
 * rate of its state; between intervals it stays or switches with fixed probabilities.
 * Forward filtering keeps ONE number per extent, P(hot | every interval's reads so far),
 * updated once per interval: predict through the transition matrix, then weigh by how
 * likely the interval's count is under each state (Bayes' rule).
 *
 * The parameters are design values, not fitted to any trace: a hot extent is read
 * `hotReads` times an interval (tier.promoteReads), a cold one 16 times less; a hot spell
 * ends with probability 0.1 an interval (it lasts ten on average), a cold one with 0.05.
 * An extent with no reads seen yet is cold (P(hot) = 0).
 */

export interface HmmParams {
  /** Mean reads per interval of a hot extent, and of a cold one. */
  hotRate: number;
  coldRate: number;
  /** Per interval: P(cold → hot) and P(hot → cold). */
  toHot: number;
  toCold: number;
}

/** A cold extent's read rate is the hot rate over this. */
export const COLD_SHARE = 16;
export const TO_HOT = 0.05;
export const TO_COLD = 0.1;
/** Hot from this posterior up. */
export const HOT_FROM = 0.5;
/** Empty intervals past this many change the state no more than rounding does (it is at its fixed point). */
const IDLE_STEPS = 64;

export function hmmParams(hotReads: number): HmmParams {
  return { hotRate: hotReads, coldRate: hotReads / COLD_SHARE, toHot: TO_HOT, toCold: TO_COLD };
}

/** P(hot) at the start of the next interval, before its reads are seen. */
export function hmmPredict(pHot: number, p: HmmParams): number {
  return pHot * (1 - p.toCold) + (1 - pHot) * p.toHot;
}

/**
 * P(hot) after an interval with `count` reads, from the predicted P(hot). The Poisson
 * likelihoods' ratio is (hotRate/coldRate)^count · e^(coldRate − hotRate) (the count!
 * cancels); worked in log odds so that a large count cannot overflow.
 */
export function hmmUpdate(predicted: number, count: number, p: HmmParams): number {
  const logOdds = Math.log(predicted) - Math.log1p(-predicted) + count * Math.log(p.hotRate / p.coldRate) - (p.hotRate - p.coldRate);
  return 1 / (1 + Math.exp(-logOdds));
}

/** One interval with `count` reads: predict, then update. */
export function hmmStep(pHot: number, count: number, p: HmmParams): number {
  return hmmUpdate(hmmPredict(pHot, p), count, p);
}

/** `n` intervals without a read (bounded work: the state settles within IDLE_STEPS). */
export function hmmIdle(pHot: number, n: number, p: HmmParams): number {
  let s = pHot;
  for (let i = 0; i < Math.min(n, IDLE_STEPS); i++) s = hmmStep(s, 0, p);
  return s;
}
