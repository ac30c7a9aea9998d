/**
 * How a rate-limited background job (a scrub, a tier migration) gives way to foreground
 * I/O: while the mount, a get, a put or a repair has read or written within the last
 * FOREGROUND_WINDOW_MS (the pool's ForegroundMeter, which the jobs' own background I/O
 * does not move), each byte costs FOREGROUND_SHARE times as much of the job's budget, so
 * the job runs at a quarter of its rate. An unlimited job does not yield.
 */
import type { ForegroundMeter } from '../pool/foreground-meter';
import type { JobContext } from './jobs';

/** Foreground I/O this recent makes a rate-limited job yield. */
export const FOREGROUND_WINDOW_MS = 250;
/** While foreground I/O is active, a rate-limited job runs at 1/FOREGROUND_SHARE of its rate. */
export const FOREGROUND_SHARE = 4;

/** Account `bytes` against the job's rate, FOREGROUND_SHARE times over while foreground I/O is active. */
export async function throttleYielding(ctx: Pick<JobContext, 'throttle'>, meter: Pick<ForegroundMeter, 'lastMs'>, bytes: number): Promise<void> {
  await ctx.throttle(bytes);
  if (Date.now() - meter.lastMs < FOREGROUND_WINDOW_MS) await ctx.throttle(bytes * (FOREGROUND_SHARE - 1));
}
