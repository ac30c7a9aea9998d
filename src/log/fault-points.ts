/**
 * Crash points below the engine, for the metadata copies' tests (the engine's own
 * are engine/crash-points.ts, which the layers below it cannot import). With
 * DYNAMICFS_CRASH_AT=name[:N], the Nth time `name` is reached the process SIGKILLs itself,
 * like a power cut from the pool's point of view. Unset (always, in production) a point is
 * one comparison.
 */

export type FaultPoint =
  /** A checkpoint's file on a disk is half written, its head not yet switched. */
  | 'meta-checkpoint-half-written';

const crashSpec = process.env.DYNAMICFS_CRASH_AT;
const crashAt = crashSpec ? { name: crashSpec.split(':')[0], nth: Number(crashSpec.split(':')[1] ?? '1') } : undefined;
let crashHits = 0;

export function crashPoint(name: FaultPoint): void {
  if (name !== crashAt?.name) return;
  crashHits++;
  if (crashHits >= crashAt.nth) process.kill(process.pid, 'SIGKILL');
}
