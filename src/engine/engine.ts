/**
 * The engine: a pool plus the extent pipelines and the worker pools. Entry points
 * (CLI, daemon, FUSE) call it; it calls down into meta/, pool/ and native/.
 */
import { EventEmitter } from 'node:events';
import { Pool } from '../pool/pool';
import type { MetaStore } from '../meta/store';
import { sqliteStore } from '../meta/sqlite/sqlite-store';
import type { FragmentRef } from '../meta/records';
import { Metrics } from '../metrics/metrics';
import { crashPoint } from './crash-points';
import { instrumentPool } from './engine-metrics';
import { DiskHealth } from './disk-health';
import { JOB_KINDS } from './job-kinds';
import { JobRunner } from './jobs';
import { Placement } from './placement';
import { TxGroups } from './txg';
import { WorkPools } from './work-pools';
import type { ReadFailure } from './extent-reader';

export interface DroppedExtent {
  extentId: Buffer;
  fragments: FragmentRef[];
}

export class Engine extends EventEmitter {
  readonly placement: Placement;
  readonly health: DiskHealth;
  readonly jobs: JobRunner;
  /** Transaction groups: off until the coordinator starts them for a mount. */
  readonly txg: TxGroups;
  /** Per-extent critical sections (two repairs of one extent must not race). */
  private readonly extentLocks = new Map<string, Promise<unknown>>();
  /**
   * Extents whose fragments are (being) written but not yet committed, by hex id. gc
   * must not take their fragments for orphans, whatever its minimum age.
   */
  private readonly uncommitted = new Set<string>();

  private constructor(readonly pool: Pool, readonly work: WorkPools, readonly metrics: Metrics = new Metrics()) {
    super();
    instrumentPool(pool, metrics);
    this.placement = new Placement(pool);
    this.health = new DiskHealth(pool);
    this.jobs = new JobRunner(this, JOB_KINDS);
    this.txg = new TxGroups({
      meta: pool.meta,
      store: (id) => pool.store(id),
      deleteFragments: (dropped) => this.deleteFragments(dropped),
      hold: (ids) => { for (const id of ids) this.holdExtent(id); },
      release: (ids) => { for (const id of ids) this.uncommitted.delete(id.toString('hex')); },
      onCommitted: (c, seconds) => { metrics.groupCommits.inc({ reason: c.reason }); metrics.groupCommitSeconds.observe(seconds); },
    });
  }

  /** Run fn with extent `id` to itself: callers for the same extent run one after another. */
  async exclusiveOnExtent<T>(id: Buffer, fn: () => Promise<T>): Promise<T> {
    const key = id.toString('hex');
    for (let prev = this.extentLocks.get(key); prev; prev = this.extentLocks.get(key)) await prev.catch(() => undefined);
    const run = fn();
    this.extentLocks.set(key, run);
    try {
      return await run;
    } finally {
      if (this.extentLocks.get(key) === run) this.extentLocks.delete(key);
    }
  }

  /** Open the pool (taking its lock) over its SQLite metadata store; `metrics` defaults to a registry of its own. */
  static open(poolDir: string, metrics?: Metrics): Engine {
    return new Engine(Pool.open(poolDir, sqliteStore), new WorkPools(), metrics);
  }

  /** Wrap an already-open pool (init uses this right after creating it). */
  static attach(pool: Pool, metrics?: Metrics): Engine {
    return new Engine(pool, new WorkPools(), metrics);
  }

  /** Mark an extent as written-but-uncommitted (its fragments are not orphans). */
  holdExtent(id: Buffer): void {
    this.uncommitted.add(id.toString('hex'));
  }

  /**
   * The extents are committed, or abandoned (their fragments may now be collected). In a
   * transaction group that is true once the group commits, so they stay held until then.
   */
  releaseExtents(ids: Iterable<Buffer>): void {
    const list = [...ids];
    if (this.txg.releaseAfterCommit(list)) return;
    for (const id of list) this.uncommitted.delete(id.toString('hex'));
  }

  isUncommitted(id: Buffer): boolean {
    return this.uncommitted.has(id.toString('hex'));
  }

  get meta(): MetaStore {
    return this.pool.meta;
  }

  async close(): Promise<void> {
    await this.jobs.stop();
    await this.txg.stop();
    await this.work.close();
    this.pool.close();
  }

  /**
   * Delete the fragments of extents a transaction dropped, once it is committed (in a
   * transaction group: after the group commits). Best effort: a fragment that cannot be
   * removed now is an orphan, and `gc` removes it later.
   */
  removeFragments(dropped: DroppedExtent[]): Promise<void> {
    return this.txg.dropAfterCommit(dropped);
  }

  private async deleteFragments(dropped: DroppedExtent[]): Promise<void> {
    const jobs: Promise<void>[] = [];
    for (const d of dropped) {
      for (const f of d.fragments) {
        jobs.push(this.pool.store(f.diskId).remove(d.extentId, f.index).then(() => crashPoint('during-delete'), () => undefined));
      }
    }
    await Promise.all(jobs);
  }

  /** Count read failures against their disks and queue the extent for repair, in one transaction. */
  recordReadFailures(extentId: Buffer, failures: ReadFailure[]): void {
    this.meta.transact((tx) => {
      for (const f of failures) {
        if (f.code === 'ENODEV') continue; // the disk is gone, not misbehaving: nothing to count
        const checksum = f.code === 'EDIGEST' || f.code === 'EFORMAT';
        tx.countDiskErrors(f.diskId, checksum ? 'checksum' : 'read');
      }
      tx.queueRepair(extentId, failures.map((f) => `fragment ${f.index} on disk ${f.diskId}: ${f.code}`).join('; '));
      if (failures.some((f) => f.code !== 'ENODEV')) tx.clearVerified(extentId); // a fragment failed its check
    });
    // A disk left out because it vanished is failed from now on; the others face the thresholds.
    for (const f of failures) {
      if (f.code === 'ENODEV' && !this.pool.store(f.diskId).present()) {
        this.health.degrade(f.diskId, 'failed', 'errors', 'disk directory or its label vanished (noticed by a read)');
      }
    }
    this.health.afterErrors(failures.filter((f) => f.code !== 'ENODEV').map((f) => f.diskId));
    this.emit('repair-queued');
  }

  /** Write failures: a full disk is not a sick one; a read-only one is suspect; the rest count. */
  countWriteErrors(failures: { diskId: number; code: string }[]): void {
    const counted = failures.filter((f) => f.code !== 'ENOSPC' && f.code !== 'EDQUOT');
    this.meta.transact((tx) => {
      for (const f of counted) tx.countDiskErrors(f.diskId, 'write');
    });
    for (const f of counted) {
      if (f.code === 'EROFS') this.health.degrade(f.diskId, 'suspect', 'errors', 'a fragment write failed with EROFS: the disk turned read-only');
      if (f.code === 'ENOENT' && !this.pool.store(f.diskId).present()) this.health.degrade(f.diskId, 'failed', 'errors', 'disk directory or its label vanished (noticed by a write)');
    }
    this.health.afterErrors(counted.map((f) => f.diskId));
  }
}
