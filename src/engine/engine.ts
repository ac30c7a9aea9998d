/**
 * The engine: a pool plus the extent pipelines and the worker pools. Entry points
 * (CLI, daemon, FUSE) call it; it calls down into meta/, pool/ and native/. The
 * pipelines see it through EngineServices (context.ts) and never import this file;
 * job kinds come in through the constructor (open.ts passes them), so engine.ts imports
 * no pipeline.
 */
import { EventEmitter } from 'node:events';
import { toDfsError } from '../errors';
import { ForegroundMeter } from '../pool/foreground-meter';
import type { Pool } from '../pool/pool';
import type { MetaStore } from '../meta/store';
import { Metrics } from '../metrics/metrics';
import type { DroppedExtent, EngineServices, ReadFailure } from './context';
import { crashPoint } from './crash-points';
import { instrumentPool } from './engine-metrics';
import { DiskHealth } from './disk-health';
import { IntentLog } from './intent-log';
import { JobRunner, type JobFn, type JobKind } from './jobs';
import { Packer } from './packer';
import { Placement } from './placement';
import { AccessHistory, heatSettings } from './tier-access';
import { TxGroups } from './txg';
import type { WorkPools } from './work-pools';

export type { DroppedExtent } from './context';

export class Engine extends EventEmitter implements EngineServices {
  readonly placement: Placement;
  readonly health: DiskHealth;
  readonly jobs: JobRunner;
  /** When the stores last served foreground (not scrub) I/O: a rate-limited scrub yields to it. */
  readonly foreground = new ForegroundMeter();
  /** Transaction groups: off until a coordinator starts them. */
  readonly txg: TxGroups;
  /** Small files' bytes waiting to be written in a shared pack (in a transaction group). */
  readonly packs: Packer;
  /** fsync without a group commit: records on m+1 disks, obsolete once the next group commits. */
  readonly intentLog: IntentLog;
  /**
   * The mount's open files, while a coordinator serves a mount (fs/vfs.ts sets it): a
   * snapshot commits them first, a rollback refuses while any is open.
   */
  mountFiles: { flushAll(): Promise<void>; openCount(): number } | undefined;
  /** When each extent was last read or written (tier-access.ts), saved with the groups and at close. */
  readonly access: AccessHistory;
  /** Per-extent critical sections (two repairs of one extent must not race). */
  private readonly extentLocks = new Map<string, Promise<unknown>>();
  /**
   * Extents whose fragments are (being) written but not yet committed, by hex id. gc
   * must not take their fragments for orphans, whatever its minimum age.
   */
  private readonly uncommitted = new Set<string>();

  /** Use openEngine / attachEngine (open.ts), which pass the job kinds. */
  constructor(readonly pool: Pool, readonly work: WorkPools, jobKinds: Readonly<Record<string, JobFn | JobKind>>, readonly metrics: Metrics = new Metrics()) {
    super();
    // The meter sits under the metrics decorator: a test's store swapped in below both is seen by each.
    pool.decorateStores((s) => this.foreground.wrap(s));
    instrumentPool(pool, metrics);
    this.health = new DiskHealth(pool);
    this.placement = new Placement(pool, this.health, pool.events, metrics);
    this.access = AccessHistory.of(pool.dir, heatSettings(pool.meta));
    this.jobs = new JobRunner(this, jobKinds);
    this.packs = new Packer(this);
    this.txg = new TxGroups({
      meta: pool.meta,
      store: (id) => pool.store(id),
      deleteFragments: (dropped) => this.deleteFragments(dropped),
      hold: (ids) => { for (const id of ids) this.holdExtent(id); },
      release: (ids) => { for (const id of ids) this.uncommitted.delete(id.toString('hex')); },
      flushPacks: () => this.packs.flush(),
      grouping: (on) => pool.copies.setDeferred(on),
      durable: (g) => pool.copies.durable(g),
      onCommitted: (c, seconds) => { metrics.groupCommits.inc({ reason: c.reason }); metrics.groupCommitSeconds.observe(seconds); this.access.saveSoon(); },
      onPhase: (phase, seconds) => metrics.groupPhaseSeconds.observe({ phase }, seconds),
      // The group stays open and the next commit retries it; whoever asked (fsync, an admin request) gets the error.
      onCommitFailed: (err) => metrics.groupCommitFailures.inc({ code: toDfsError(err).code }),
    });
    this.intentLog = new IntentLog(pool, this.placement, metrics);
    this.txg.join(this.intentLog.participant());
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
    await this.intentLog.close();
    await this.work.close();
    this.access.save((id) => this.meta.getExtent(Buffer.from(id, 'hex')) !== undefined); // extents gone are forgotten
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

  /**
   * One extent at a time (its fragments together): a big file's hundreds of removals do
   * not flood the I/O threads ahead of reads, and the `during-delete` crash point lands
   * between extents, with exactly the extents before it gone and none after it touched.
   */
  private async deleteFragments(dropped: DroppedExtent[]): Promise<void> {
    for (const d of dropped) {
      // A disk removed from the pool since is not ours to touch any more.
      const frags = d.fragments.filter((f) => this.pool.disk(f.diskId));
      await Promise.all(frags.map((f) => this.pool.store(f.diskId).remove(d.extentId, f.index).catch(() => undefined)));
      crashPoint('during-delete');
    }
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
      if (f.code === 'ENODEV' && !this.health.present(f.diskId)) {
        this.health.degrade(f.diskId, 'failed', 'errors', 'disk directory or its label vanished (noticed by a read)');
      }
    }
    this.health.afterErrors(failures.filter((f) => f.code !== 'ENODEV').map((f) => f.diskId));
    this.emit('repair-queued');
  }

  /** Write failures: a full disk is not a sick one; a read-only one is suspect; the rest count. */
  async countWriteErrors(failures: { diskId: number; code: string }[]): Promise<void> {
    const counted = failures.filter((f) => f.code !== 'ENOSPC' && f.code !== 'EDQUOT');
    this.meta.transact((tx) => {
      for (const f of counted) tx.countDiskErrors(f.diskId, 'write');
    });
    for (const f of counted) {
      if (f.code === 'EROFS') this.health.degrade(f.diskId, 'suspect', 'errors', 'a fragment write failed with EROFS: the disk turned read-only');
      if (f.code === 'ENOENT' && (await this.health.vanished(f.diskId))) this.health.degrade(f.diskId, 'failed', 'errors', 'disk directory or its label vanished (noticed by a write)');
    }
    this.health.afterErrors(counted.map((f) => f.diskId));
  }
}
