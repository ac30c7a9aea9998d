/**
 * The engine: a pool plus the extent pipelines and the worker pools. Entry points
 * (CLI, daemon, FUSE) call it; it calls down into meta/, pool/ and native/.
 */
import { Pool } from '../pool/pool';
import type { MetaStore } from '../meta/store';
import type { FragmentRef } from '../meta/records';
import { crashPoint } from './crash-points';
import { Placement } from './placement';
import { WorkPools } from './work-pools';
import type { ReadFailure } from './extent-reader';

export interface DroppedExtent {
  extentId: Buffer;
  fragments: FragmentRef[];
}

export class Engine {
  readonly placement: Placement;
  /**
   * Extents whose fragments are (being) written but not yet committed, by hex id. gc
   * must not take their fragments for orphans, whatever its minimum age.
   */
  private readonly uncommitted = new Set<string>();

  private constructor(readonly pool: Pool, readonly work: WorkPools) {
    this.placement = new Placement(pool);
  }

  static open(poolDir: string): Engine {
    return new Engine(Pool.open(poolDir), new WorkPools());
  }

  /** Wrap an already-open pool (init uses this right after creating it). */
  static attach(pool: Pool): Engine {
    return new Engine(pool, new WorkPools());
  }

  /** Mark an extent as written-but-uncommitted (its fragments are not orphans). */
  holdExtent(id: Buffer): void {
    this.uncommitted.add(id.toString('hex'));
  }

  /** The extents are committed, or abandoned (their fragments may now be collected). */
  releaseExtents(ids: Iterable<Buffer>): void {
    for (const id of ids) this.uncommitted.delete(id.toString('hex'));
  }

  isUncommitted(id: Buffer): boolean {
    return this.uncommitted.has(id.toString('hex'));
  }

  get meta(): MetaStore {
    return this.pool.meta;
  }

  async close(): Promise<void> {
    await this.work.close();
    this.pool.close();
  }

  /**
   * Delete the fragments of extents a committed transaction dropped. Best effort: a
   * fragment that cannot be removed now is an orphan, and `gc` removes it later.
   */
  async removeFragments(dropped: DroppedExtent[]): Promise<void> {
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
    });
  }

  countWriteErrors(failures: { diskId: number; code: string }[]): void {
    this.meta.transact((tx) => {
      for (const f of failures) tx.countDiskErrors(f.diskId, 'write');
    });
  }
}
