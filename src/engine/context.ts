/**
 * What the extent pipelines (reader, writer, repair, rebuild, scrub, gc, probe) and the
 * job runner need of the engine, declared below engine.ts so none of them imports it:
 * each names the members it uses (Pick<EngineServices, ...>), and Engine provides them
 * all. This keeps engine/ free of import cycles, type-only ones included.
 */
import type { FragmentRef } from '../meta/records';
import type { MetaStore } from '../meta/store';
import type { Metrics } from '../metrics/metrics';
import type { ForegroundMeter } from '../pool/foreground-meter';
import type { Pool } from '../pool/pool';
import type { DiskHealth } from './disk-health';
import type { Placement } from './placement';
import type { AccessHistory } from './tier-access';
import type { TxGroups } from './txg';
import type { WorkPools } from './work-pools';

/** A fragment a read could not use, and why (ENODEV: its disk is failed or gone). */
export interface ReadFailure {
  diskId: number;
  index: number;
  code: string;
}

export interface DroppedExtent {
  extentId: Buffer;
  fragments: FragmentRef[];
}

export interface EngineServices {
  readonly pool: Pool;
  readonly meta: MetaStore;
  readonly metrics: Metrics;
  readonly health: DiskHealth;
  readonly placement: Placement;
  readonly work: WorkPools;
  readonly foreground: ForegroundMeter;
  /** Transaction groups: whether fragment writes defer their syncs, and the gate a write waits at. */
  readonly txg: Pick<TxGroups, 'deferSync' | 'wrote' | 'commit'>;
  /** When each extent was last read or written by a file's I/O (tier migration's idea of idle). */
  readonly access: AccessHistory;
  /** Packs not yet in the store: their bytes, for reads of the files packed in them. */
  readonly packs: { bytes(packId: Buffer): Buffer | undefined };
  /** Run fn with extent `id` to itself: callers for the same extent run one after another. */
  exclusiveOnExtent<T>(id: Buffer, fn: () => Promise<T>): Promise<T>;
  /** Mark an extent as written-but-uncommitted (its fragments are not orphans). */
  holdExtent(id: Buffer): void;
  releaseExtents(ids: Iterable<Buffer>): void;
  isUncommitted(id: Buffer): boolean;
  /** Count read failures against their disks and queue the extent for repair. */
  recordReadFailures(extentId: Buffer, failures: ReadFailure[]): void;
  countWriteErrors(failures: { diskId: number; code: string }[]): Promise<void>;
  /** Delete fragments a transaction dropped, once it is committed (deferred in a transaction group). */
  removeFragments(dropped: DroppedExtent[]): Promise<void>;
}
