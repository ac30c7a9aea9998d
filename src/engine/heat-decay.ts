/**
 * The baseline heat classifier: a read count that decays exponentially, halved at the end
 * of every interval (s ← s/2 + the interval's reads), hot once it reaches `hotReads`
 * (tier.promoteReads). One number per extent; a burst of hotReads reads in one interval
 * makes it hot at once, as the sliding window it replaces did.
 */

/** What the count keeps of itself from one interval to the next. */
export const DECAY = 0.5;

/** One interval with `count` reads. */
export function decayStep(score: number, count: number): number {
  return score * DECAY + count;
}

/** `n` intervals without a read. */
export function decayIdle(score: number, n: number): number {
  return score * DECAY ** n;
}
