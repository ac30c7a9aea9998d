/**
 * Applies the health model (pool/health.ts) to the pool's disks: by hand (set-disk-health),
 * from error counters after I/O, and from what the running coordinator's monitor sees
 * (a disk directory that vanished, turned read-only or fails to read its label). Every
 * transition is one transaction that also records the event; listeners hear of it
 * (the coordinator starts a rebuild when a disk fails).
 */
import { EventEmitter } from 'node:events';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { DiskRow, DiskState, TransitionSource } from '../meta/records';
import { healthConfig, stateForErrors, worse } from '../pool/health';
import type { Pool } from '../pool/pool';

export interface Transition {
  diskId: number;
  from: DiskState;
  to: DiskState;
  source: TransitionSource;
  reason: string;
}

export class DiskHealth extends EventEmitter {
  constructor(private readonly pool: Pool) {
    super();
  }

  /** Move a disk to `to` (no-op when it is there already) and record why. */
  set(diskId: number, to: DiskState, source: TransitionSource, reason: string): Transition | undefined {
    const d = this.disk(diskId);
    if (!d || d.state === to) return undefined;
    this.pool.meta.transact((tx) => {
      tx.setDiskState(diskId, to, source, reason);
      if (source === 'operator' && to === 'healthy') tx.resetDiskErrors(diskId);
    });
    const t: Transition = { diskId, from: d.state, to, source, reason };
    this.emit('transition', t);
    return t;
  }

  /** Automatic: only ever a step down (an operator brings a disk back). */
  degrade(diskId: number, to: DiskState, source: TransitionSource, reason: string): Transition | undefined {
    const d = this.disk(diskId);
    if (!d || !worse(to, d.state)) return undefined;
    return this.set(diskId, to, source, reason);
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
   * What a running coordinator checks every few seconds, cheaply: is each disk's
   * directory still there with its label, readable, and writable?
   */
  check(): Transition[] {
    const out: Transition[] = [];
    for (const d of this.pool.disks()) {
      if (d.state === 'failed') continue;
      const problem = inspect(d.path);
      if (!problem) continue;
      const t = this.degrade(d.id, problem.state, 'monitor', problem.reason);
      if (t) out.push(t);
    }
    return out;
  }

  private disk(id: number): DiskRow | undefined {
    return this.pool.disk(id);
  }
}

/** A disk directory's trouble, if any: vanished or unreadable label → failed; read-only → suspect. */
export function inspect(root: string): { state: DiskState; reason: string } | undefined {
  try {
    fs.readFileSync(path.join(root, 'dynamicfs.label'));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return { state: 'failed', reason: `disk directory ${root} or its label vanished` };
    return { state: 'failed', reason: `cannot read the label of ${root}: ${code ?? (err as Error).message}` };
  }
  try {
    fs.accessSync(root, fs.constants.W_OK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EROFS') return { state: 'suspect', reason: `disk directory ${root} turned read-only` };
    return { state: 'suspect', reason: `disk directory ${root} is not writable: ${code ?? (err as Error).message}` };
  }
  return undefined;
}
