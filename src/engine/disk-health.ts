/**
 * Applies the health model (pool/health.ts) to the pool's disks: by hand (set-disk-health),
 * from error counters after I/O, and from what the running coordinator's monitor sees
 * (a disk directory that vanished, turned read-only or fails to read its label). Every
 * transition is one transaction that also records the event; listeners hear of it
 * (the coordinator starts a rebuild when a disk fails).
 */
import { EventEmitter } from 'node:events';
import type { DiskRow, DiskState, TransitionSource } from '../meta/records';
import { healthConfig, stateForErrors, worse } from '../pool/health';
import { labelStatus, type LabelStatus } from '../pool/label';
import type { Pool } from '../pool/pool';

export interface Transition {
  diskId: number;
  from: DiskState;
  to: DiskState;
  source: TransitionSource;
  reason: string;
  /** The admin request that caused it (its event carries it too); undefined for the monitor's and the I/O paths' own. */
  reqId?: string;
}

export class DiskHealth extends EventEmitter {
  constructor(private readonly pool: Pool) {
    super();
  }

  /** Move a disk to `to` (no-op when it is there already) and record why, and the admin request that asked (`reqId`). */
  set(diskId: number, to: DiskState, source: TransitionSource, reason: string, reqId?: string): Transition | undefined {
    const d = this.disk(diskId);
    if (!d || d.state === to) return undefined;
    this.pool.meta.transact((tx) => {
      tx.setDiskState(diskId, to, source, reason, reqId);
      if (source === 'operator' && to === 'healthy') tx.resetDiskErrors(diskId);
    });
    const t: Transition = { diskId, from: d.state, to, source, reason, ...(reqId === undefined ? {} : { reqId }) };
    this.emit('transition', t);
    return t;
  }

  /** Automatic: only ever a step down (an operator brings a disk back). */
  degrade(diskId: number, to: DiskState, source: TransitionSource, reason: string, reqId?: string): Transition | undefined {
    const d = this.disk(diskId);
    if (!d || !worse(to, d.state)) return undefined;
    return this.set(diskId, to, source, reason, reqId);
  }

  /**
   * A fragment read or write on the disk took `ms`: slower than the configured limit
   * makes the disk suspect (a dying disk often gets slow before it gets errors). Called
   * on every fragment I/O, so the config is read at most once a second.
   */
  observeLatency(diskId: number, ms: number, op: 'read' | 'write'): void {
    const now = Date.now();
    if (!this.cfg || now - this.cfg.at > 1000) this.cfg = { at: now, value: healthConfig(this.pool.meta) };
    const limit = this.cfg.value.suspectLatencyMs;
    if (ms <= limit) return;
    this.degrade(diskId, 'suspect', 'errors', `a fragment ${op} took ${Math.round(ms)} ms (limit health.suspectLatencyMs = ${limit} ms)`);
  }

  private cfg: { at: number; value: ReturnType<typeof healthConfig> } | undefined;

  /** After errors were counted against these disks: apply the thresholds. */
  afterErrors(diskIds: Iterable<number>): Transition[] {
    const cfg = healthConfig(this.pool.meta);
    const out: Transition[] = [];
    for (const id of new Set(diskIds)) {
      const d = this.disk(id);
      const want = d && stateForErrors(d, cfg);
      const t = want && this.degrade(id, want.state, 'errors', want.reason);
      if (t) out.push(t);
    }
    return out;
  }

  /**
   * What a running coordinator checks every few seconds, cheaply, through each disk's
   * store: is its label there and this disk's, and does it take writes? Records which
   * disks are present on the way.
   */
  async check(): Promise<Transition[]> {
    const out: Transition[] = [];
    for (const d of this.pool.disks()) {
      const problem = await this.inspect(d);
      if (!problem || d.state === 'failed') continue;
      const t = this.degrade(d.id, problem.state, 'monitor', problem.reason);
      if (t) out.push(t);
    }
    return out;
  }

  /**
   * Whether a disk is there (its label is), as last seen by the monitor, a refresh or
   * an I/O error. Unknown counts as present: the first I/O error on it asks again.
   */
  present(diskId: number): boolean {
    return !this.absent.has(diskId);
  }

  /** Whether a disk can serve reads: registered, not failed, present. The one test every pipeline uses. */
  readable(d: DiskRow | undefined): d is DiskRow {
    return d !== undefined && d.state !== 'failed' && this.present(d.id);
  }

  /** Read every disk's label through its store and record which are present (one read per disk, not per fragment). */
  async refreshPresence(): Promise<void> {
    await Promise.all(this.pool.disks().map((d) => this.checkLabel(d)));
  }

  /**
   * An I/O on the disk failed with ENOENT: is the disk gone (its label too), or only the
   * fragment? Records the answer; concurrent failures on one disk share one label read.
   */
  async vanished(diskId: number): Promise<boolean> {
    const d = this.disk(diskId);
    if (!d) return true;
    let asked = this.asking.get(diskId);
    if (!asked) {
      asked = this.checkLabel(d).finally(() => this.asking.delete(diskId));
      this.asking.set(diskId, asked);
    }
    return (await asked) === 'missing';
  }

  private readonly absent = new Set<number>();
  private readonly asking = new Map<number, Promise<LabelStatus>>();

  /** Judge a disk's label through its store, and record whether the disk is present. */
  async checkLabel(d: DiskRow): Promise<LabelStatus> {
    const store = this.pool.store(d.id);
    const status = await labelStatus(() => store.label(), this.pool.superblock.uuid, d.uuid);
    if (status === 'missing') this.absent.add(d.id);
    else this.absent.delete(d.id);
    return status;
  }

  /** A disk's trouble, if any: vanished, foreign or unreadable label → failed; no writes → suspect. */
  private async inspect(d: DiskRow): Promise<{ state: DiskState; reason: string } | undefined> {
    const label = await this.checkLabel(d);
    if (label !== 'ok') return { state: 'failed', reason: LABEL_PROBLEM[label](d.path) };
    const { writeError } = await this.pool.store(d.id).space();
    if (writeError === 'EROFS') return { state: 'suspect', reason: `disk directory ${d.path} turned read-only` };
    if (writeError) return { state: 'suspect', reason: `disk directory ${d.path} is not writable: ${writeError}` };
    return undefined;
  }

  private disk(id: number): DiskRow | undefined {
    return this.pool.disk(id);
  }
}

/** Why a label that is not ok fails its disk (shared by the monitor and probe-disks). */
export const LABEL_PROBLEM: Record<Exclude<LabelStatus, 'ok'>, (path: string) => string> = {
  missing: (p) => `disk directory ${p} or its label vanished: the disk is gone or not mounted there`,
  foreign: (p) => `the label at ${p} belongs to another disk or pool: the wrong disk is mounted there`,
  unreadable: (p) => `the label at ${p} cannot be read`,
};
