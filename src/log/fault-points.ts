/**
 * Crash and hold points below the engine, for the metadata copies' tests (the engine's own
 * are engine/crash-points.ts, which the layers below it cannot import). Both read the
 * environment once; unset (always, in production) a point is one comparison.
 *
 * - DYNAMICFS_CRASH_AT=name[:N]: the Nth time `name` is reached the process SIGKILLs itself,
 *   like a power cut from the pool's point of view (from a worker thread too).
 * - DYNAMICFS_FAIL_AT=name: reaching `name` throws an EIO DfsError there, as a failing disk
 *   or system call would (the upgrade's rollback test).
 * - DYNAMICFS_HOLD_AT=name:FILE: reaching `name` creates FILE and blocks the thread that
 *   reached it until FILE is removed, so a test can act while that work is under way (a
 *   test holding a point on the main thread would find the coordinator stalled: that is
 *   what the hold is for). holdPointAsync holds without blocking: the coordinator keeps
 *   answering requests (a test cancels the job held there).
 */
import * as fs from 'node:fs';
import { DfsError } from '../errors';

export type FaultPoint =
  /** A checkpoint's file on a disk is half written, its head not yet switched. */
  | 'meta-checkpoint-half-written'
  /** A checkpoint's copy of the store (VACUUM INTO) is made, in its worker. */
  | 'meta-checkpoint-copied'
  /** An upgrade's work is done (every disk has its metadata copy), its final commit (pool.json) not yet written. */
  | 'upgrade-before-commit';

const crashSpec = process.env.DYNAMICFS_CRASH_AT;
const crashAt = crashSpec ? { name: crashSpec.split(':')[0], nth: Number(crashSpec.split(':')[1] ?? '1') } : undefined;
let crashHits = 0;

const failAt = process.env.DYNAMICFS_FAIL_AT;

const holdSpec = process.env.DYNAMICFS_HOLD_AT;
const holdAt = holdSpec ? { name: holdSpec.slice(0, holdSpec.indexOf(':')), file: holdSpec.slice(holdSpec.indexOf(':') + 1) } : undefined;

export function crashPoint(name: FaultPoint): void {
  if (name !== crashAt?.name) return;
  crashHits++;
  if (crashHits >= crashAt.nth) process.kill(process.pid, 'SIGKILL');
}

export function failPoint(name: FaultPoint): void {
  if (name === failAt) throw new DfsError('EIO', `injected failure at ${name} (DYNAMICFS_FAIL_AT)`);
}

export function holdPoint(name: FaultPoint): void {
  if (name !== holdAt?.name) return;
  fs.writeFileSync(holdAt.file, `${process.pid}\n`);
  const nap = new Int32Array(new SharedArrayBuffer(4));
  while (fs.existsSync(holdAt.file)) Atomics.wait(nap, 0, 0, 20);
}

/**
 * DYNAMICFS_HOLD_AT for code that may wait without blocking its thread (a job between two
 * steps): reaching `name` creates FILE and waits until FILE is removed, calling `between`
 * every 20 ms; if `between` throws (the job was cancelled meanwhile) the hold ends with
 * that error and FILE is removed.
 */
export async function holdPointAsync(name: FaultPoint, between: () => Promise<void>): Promise<void> {
  if (name !== holdAt?.name) return;
  fs.writeFileSync(holdAt.file, `${process.pid}\n`);
  try {
    while (fs.existsSync(holdAt.file)) {
      await new Promise((r) => setTimeout(r, 20));
      await between();
    }
  } finally {
    fs.rmSync(holdAt.file, { force: true });
  }
}
