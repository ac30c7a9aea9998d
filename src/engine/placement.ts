/**
 * Placement: which disks receive an extent's fragments. Every fragment of an extent
 * goes to a distinct Healthy, present disk; among those, the least loaded (fewest
 * writes in flight) and then the emptiest win, so a pool of unequal disks fills
 * evenly and a slow disk does not collect a queue.
 */
import { DfsError } from '../errors';
import type { DiskRow } from '../meta/records';
import type { Pool } from '../pool/pool';
import { formatPolicy, type Policy } from '../pool/policy';

const SPACE_TTL_MS = 1000;

export class Placement {
  private inflight = new Map<number, number>();
  private free = new Map<number, { bytes: number; at: number }>();

  constructor(private readonly pool: Pool, private readonly presence: { present(diskId: number): boolean }) {}

  /** Disks new fragments may go to. */
  writable(): DiskRow[] {
    return this.pool.disks().filter((d) => d.state === 'healthy' && this.presence.present(d.id));
  }

  /**
   * Disks a repair may fall back to when no healthy disk can take a fragment: every
   * present disk that still serves reads (degraded, suspect). Draining and failed disks
   * are never written.
   */
  fallback(): DiskRow[] {
    return this.pool.disks().filter((d) => (d.state === 'degraded' || d.state === 'suspect') && this.presence.present(d.id));
  }

  /** The least loaded, emptiest fallback disk not in `exclude` with room for the fragment, if any. */
  pickFallback(exclude: ReadonlySet<number>, fragmentBytes: number): number | undefined {
    return this.fallback()
      .filter((d) => !exclude.has(d.id) && (this.free.get(d.id)?.bytes ?? Infinity) > fragmentBytes + 4096)
      .map((d) => ({ id: d.id, load: this.inflight.get(d.id) ?? 0, free: this.free.get(d.id)?.bytes ?? 0 }))
      .sort((a, b) => a.load - b.load || b.free - a.free || a.id - b.id)[0]?.id;
  }

  /** Refuse early, with the fix, when the policy cannot be met at all. */
  check(policy: Policy): void {
    const need = policy.k + policy.m;
    const have = this.writable().length;
    if (have < need) {
      throw new DfsError('ENODISKS', `redundancy ${formatPolicy(policy)} needs ${need} healthy disks but the pool has ${have}: ` +
        `add ${need - have} more with \`dynamicfs add-disk\``, undefined, { needed: need, healthy: have });
    }
  }

  /** Refresh cached free space (statfs) of every writable disk that is stale. */
  async refresh(): Promise<void> {
    const now = Date.now();
    await Promise.all(this.writable().map(async (d) => {
      const c = this.free.get(d.id);
      if (c && now - c.at < SPACE_TTL_MS) return;
      const s = await this.pool.store(d.id).space();
      this.free.set(d.id, { bytes: s.freeBytes, at: now });
    }));
  }

  /** Pick n distinct disks, none in `exclude`. Call refresh() first for fresh space figures. */
  pick(n: number, exclude: ReadonlySet<number>, fragmentBytes: number): number[] {
    const cands = this.writable()
      .filter((d) => !exclude.has(d.id) && (this.free.get(d.id)?.bytes ?? Infinity) > fragmentBytes + 4096)
      .map((d) => ({ id: d.id, load: this.inflight.get(d.id) ?? 0, free: this.free.get(d.id)?.bytes ?? 0, tie: Math.random() }))
      .sort((a, b) => a.load - b.load || b.free - a.free || a.tie - b.tie);
    if (cands.length < n) {
      const healthy = this.writable().filter((d) => !exclude.has(d.id)).length;
      if (healthy < n) {
        throw new DfsError('ENODISKS', `cannot place ${n} fragments: only ${healthy} healthy disks are available (see \`dynamicfs disks\` ` +
          'and `disk-events` for why the others are not healthy); add disks, or set a repaired disk healthy again');
      }
      throw new DfsError('ENOSPC', `cannot place ${n} fragments: only ${cands.length} healthy disks with free space remain; add disks or free space`);
    }
    return cands.slice(0, n).map((c) => c.id);
  }

  /** Track a write in flight on a disk (and account the space it will take). */
  begin(diskId: number, bytes: number): void {
    this.inflight.set(diskId, (this.inflight.get(diskId) ?? 0) + 1);
    const c = this.free.get(diskId);
    if (c) c.bytes -= bytes;
  }

  end(diskId: number): void {
    this.inflight.set(diskId, Math.max(0, (this.inflight.get(diskId) ?? 1) - 1));
  }

  load(diskId: number): number {
    return this.inflight.get(diskId) ?? 0;
  }
}
