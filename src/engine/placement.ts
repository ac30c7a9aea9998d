/**
 * Placement: which disks receive an extent's fragments. Every fragment of an extent
 * goes to a distinct Healthy, present disk; among those, the least loaded (fewest
 * writes in flight) and then the emptiest win, so a pool of unequal disks fills
 * evenly and a slow disk does not collect a queue.
 *
 * Tiers: an extent goes to the disks of one tier, the one it wants (its file's
 * user.dynamicfs.tier, else the setting tier.foreground), with that tier's redundancy
 * (tier.<tier>.redundancy, else the file's policy). A tier with no disks at all is not
 * part of the pool and is passed over silently (so a pool of one tier places as if there
 * were no tiers); one with too few healthy disks, or too few with room, is fallen back
 * from along tierOrder, with an event and a metric (tier-fallback.ts). When no one tier
 * can hold the extent it is spread over every healthy disk, as in an untiered pool.
 */
import { sectionSettings } from '../config/values';
import { DfsError } from '../errors';
import type { EventSink } from '../log/events';
import type { DiskRow, Tier } from '../meta/records';
import type { Metrics } from '../metrics/metrics';
import type { Pool } from '../pool/pool';
import { formatPolicy, parsePolicy, width, type Policy } from '../pool/policy';
import { TIER_NAMES, tierOrder } from '../pool/tier-policy';
import { TierFallbacks, type Fallback, type SkippedTier } from './tier-fallback';

/** The tier settings placement reads (config/settings.ts, section `tier`). */
interface TierSettings {
  foreground: Tier;
  'hot.redundancy': string | null;
  'warm.redundancy': string | null;
  'cold.redundancy': string | null;
}

/** Where one extent goes: the tier (null: any healthy disk), the redundancy it gets there, and the fallback if any. */
export interface TierChoice {
  tier: Tier | null;
  policy: Policy;
  fallback: Fallback | null;
}

/** Payload bytes of each fragment of an extent of `length` bytes under `p`. */
export function fragmentBytes(p: Policy, length: number): number {
  return p.scheme === 'mirror' ? length : Math.ceil(length / p.k);
}

const SPACE_TTL_MS = 1000;

export class Placement {
  private inflight = new Map<number, number>();
  private free = new Map<number, { bytes: number; at: number }>();

  private readonly fallbacks: TierFallbacks;

  constructor(private readonly pool: Pool, private readonly presence: { present(diskId: number): boolean }, events: EventSink, metrics: Metrics) {
    this.fallbacks = new TierFallbacks(events, metrics);
  }

  /** Disks new fragments may go to (of one tier when given). */
  writable(tier?: Tier | null): DiskRow[] {
    return this.pool.disks().filter((d) => d.state === 'healthy' && this.presence.present(d.id) && (tier == null || d.tier === tier));
  }

  /** The tier settings now (a change applies to the next extent). */
  tierSettings(): TierSettings {
    return sectionSettings<TierSettings>(this.pool.meta, 'tier');
  }

  /** The redundancy an extent of `filePolicy` gets on `tier`: the tier's own, else the file's. */
  tierPolicy(tier: Tier, filePolicy: Policy, settings = this.tierSettings()): Policy {
    const own = settings[`${tier}.redundancy`];
    return own ? { ...parsePolicy(own), tier: filePolicy.tier } : filePolicy;
  }

  /** The tiers that have disks, hottest first. */
  tiersPresent(): Tier[] {
    const have = new Set(this.pool.disks().map((d) => d.tier));
    return TIER_NAMES.filter((t) => have.has(t));
  }

  /**
   * The tier an extent of `length` bytes wanting `policy.tier` (else tier.foreground) goes
   * to, and its redundancy there: the first tier along tierOrder with enough healthy disks
   * with room. Call refresh() first for fresh space figures; `ignoreSpace` judges by
   * healthy disks alone (check()).
   */
  chooseTier(policy: Policy, length: number, ignoreSpace = false): TierChoice {
    const settings = this.tierSettings();
    const present = this.tiersPresent();
    if (present.length <= 1) {
      // One tier (or none): every disk is of it; placement is what it was before tiers.
      const tier = present[0] ?? null;
      return { tier, policy: tier ? this.tierPolicy(tier, policy, settings) : policy, fallback: null };
    }
    const wantedAny = policy.tier ?? settings.foreground;
    const order = tierOrder(wantedAny).filter((t) => present.includes(t));
    const wanted = order[0]!;
    const skipped: SkippedTier[] = [];
    for (const tier of order) {
      const p = this.tierPolicy(tier, policy, settings);
      const needed = width(p);
      const healthy = this.writable(tier);
      const bytes = fragmentBytes(p, length) + 4096;
      const roomy = ignoreSpace ? healthy.length : healthy.filter((d) => (this.free.get(d.id)?.bytes ?? Infinity) > bytes + 4096).length;
      if (roomy >= needed) return { tier, policy: p, fallback: skipped.length ? { wanted, placed: tier, skipped } : null };
      skipped.push({ tier, reason: healthy.length < needed ? 'too-few-disks' : 'full', healthy: healthy.length, roomy, needed });
    }
    return { tier: null, policy, fallback: { wanted, placed: 'any', skipped } };
  }

  /** `policy` on `tier` and nowhere else: ENODISKS or ENOSPC, naming the tier, when it cannot take the extent now. */
  onTier(tier: Tier, policy: Policy, length: number): TierChoice {
    const needed = width(policy);
    const healthy = this.writable(tier);
    const bytes = fragmentBytes(policy, length) + 4096;
    const roomy = healthy.filter((d) => (this.free.get(d.id)?.bytes ?? Infinity) > bytes + 4096).length;
    if (healthy.length < needed) {
      throw new DfsError('ENODISKS', `the ${tier} tier has ${healthy.length} healthy disks, ${formatPolicy(policy)} needs ${needed}: add ${tier} disks or set tier.${tier}.redundancy`);
    }
    if (roomy < needed) throw new DfsError('ENOSPC', `the ${tier} tier has room on ${roomy} of its ${healthy.length} healthy disks, ${needed} needed: add ${tier} disks or free space`);
    return { tier, policy, fallback: null };
  }

  /** Tell the event log and the metrics of an extent written off its wanted tier. */
  fellBack(f: Fallback, extentId: Buffer): void {
    this.fallbacks.record(f, extentId);
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

  /** Refuse early, with the fix, when the policy cannot be met at all (on any one tier nor on all disks together). */
  check(policy: Policy): void {
    const c = this.chooseTier(policy, 0, true);
    if (c.tier !== null && this.writable(c.tier).length >= width(c.policy)) return;
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

  /** Pick n distinct disks (of `tier` when given), none in `exclude`. Call refresh() first for fresh space figures. */
  pick(n: number, exclude: ReadonlySet<number>, fragmentBytes: number, tier?: Tier | null): number[] {
    const cands = this.writable(tier)
      .filter((d) => !exclude.has(d.id) && (this.free.get(d.id)?.bytes ?? Infinity) > fragmentBytes + 4096)
      .map((d) => ({ id: d.id, load: this.inflight.get(d.id) ?? 0, free: this.free.get(d.id)?.bytes ?? 0, tie: Math.random() }))
      .sort((a, b) => a.load - b.load || b.free - a.free || a.tie - b.tie);
    if (cands.length < n) {
      const healthy = this.writable(tier).filter((d) => !exclude.has(d.id)).length;
      if (healthy < n) {
        throw new DfsError('ENODISKS', `cannot place ${n} fragments: only ${healthy} healthy ${tier ? `${tier} ` : ''}disks are available (see \`dynamicfs disks\` ` +
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
