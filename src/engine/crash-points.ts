/**
 * Named crash points for the crash-consistency tests. With DYNAMICFS_CRASH_AT=name
 * (or name:N, the Nth time it is reached) the process SIGKILLs itself there — no
 * cleanup, no flush, exactly like a power cut from the pool's point of view. Unset
 * (always, in production) a crash point is one comparison.
 */
const spec = process.env.DYNAMICFS_CRASH_AT;
const [target, nth] = spec ? [spec.split(':')[0], Number(spec.split(':')[1] ?? '1')] : [undefined, 0];
let hits = 0;

export type CrashPoint = 'after-fragment-write' | 'before-commit' | 'after-commit' | 'during-delete'
  | 'repair-before-commit' | 'repair-after-commit' | 'scrub-extent'
  /** A group's COMMIT is in meta.db, no disk has its record yet; then: the disks have it, its deletes have not run. */
  | 'group-meta-committed' | 'group-meta-on-disks'
  /** An upgrade's copies are on every disk, pool.json not yet rewritten; then: pool.json rewritten, the job not yet marked completed. */
  | 'upgrade-before-commit' | 'upgrade-after-commit'
  /** A snapshot purge's batch is committed, its fragments not yet deleted; a rollback's changes are made, not yet committed. */
  | 'snapshot-purge-batch' | 'rollback-before-commit'
  /** A migrated extent's new copy is written, its placement not yet replaced; then: replaced and committed, the old copy not yet deleted. */
  | 'migrate-before-commit' | 'migrate-after-commit'
  /** A receive's batch of records is committed to its staging (with its cursor), the next not yet read. */
  | 'receive-batch'
  /**
   * A backup's pack is written and indexed; a restore's entry is written and its cursor may move; a restore into a pool
   * committed a batch; prune rewrote or dropped a pack; verify --read-data re-hashed a pack and moved its cursor past it.
   */
  | 'backup-pack-written' | 'restore-entry-written' | 'restore-batch-committed' | 'prune-pack-done' | 'verify-pack-done';

/**
 * Whether reaching `name` now will kill the process. A point that stands for "after a
 * durable commit" asks first, and commits the open transaction group before it crashes
 * (in a group, a transaction's own commit is not durable yet).
 */
export function crashArmed(name: CrashPoint): boolean {
  return name === target && hits + 1 >= nth;
}

export function crashPoint(name: CrashPoint): void {
  if (name !== target) return;
  hits++;
  if (hits >= nth) process.kill(process.pid, 'SIGKILL');
}
