/**
 * Extents placed on another tier than the one they want (placement.ts): each is counted
 * in dynamicfs_tier_fallback_extents_total, and the pool's event log (kind `tier`) says
 * so when it starts and then at most once a minute while it goes on, with the number of
 * extents since the last event: a hot tier full for an hour of writes is a handful of
 * events, not one per extent. A change of what falls back where, or why, is told at once.
 */
import type { EventSink } from '../log/events';
import type { Tier } from '../meta/records';
import type { Metrics } from '../metrics/metrics';

/** Why a tier could not take an extent. */
export type SkipReason = 'too-few-disks' | 'full';

export interface SkippedTier {
  tier: Tier;
  reason: SkipReason;
  /** Healthy, present disks of the tier, and those of them with room for a fragment. */
  healthy: number;
  roomy: number;
  /** Disks the tier's redundancy needs. */
  needed: number;
}

export interface Fallback {
  wanted: Tier;
  /** Where the extent went: a tier, or `any` (no one tier could: spread over every healthy disk). */
  placed: Tier | 'any';
  skipped: SkippedTier[];
}

const QUIET_MS = 60_000;

export class TierFallbacks {
  private last: { key: string; atMs: number } | undefined;
  private pending = 0;

  constructor(private readonly events: EventSink, private readonly metrics: Metrics) {}

  /** One extent written on `f.placed` instead of `f.wanted`. */
  record(f: Fallback, extentId: Buffer, nowMs = Date.now()): void {
    const reason = f.skipped.find((s) => s.tier === f.wanted)?.reason ?? f.skipped[0]?.reason ?? 'too-few-disks';
    this.metrics.tierFallbacks.inc({ wanted: f.wanted, placed: f.placed, reason });
    const key = `${f.wanted}>${f.placed}:${f.skipped.map((s) => `${s.tier}/${s.reason}`).join(',')}`;
    this.pending++;
    if (this.last && this.last.key === key && nowMs - this.last.atMs < QUIET_MS) return;
    const why = f.skipped.map((s) => (s.reason === 'full'
      ? `${s.tier} is full (${s.roomy} of its ${s.healthy} healthy disks have room, ${s.needed} needed)`
      : `${s.tier} has ${s.healthy} healthy disks, ${s.needed} needed`)).join('; ');
    const extents = this.pending;
    this.pending = 0;
    this.last = { key, atMs: nowMs };
    this.events.record({ kind: 'tier', subject: `tier ${f.wanted}`, timeMs: nowMs,
      message: `extents that want the ${f.wanted} tier go to ${f.placed === 'any' ? 'disks of several tiers' : `the ${f.placed} tier`}: ${why}`
        + (extents > 1 ? ` (${extents} extents since the last such event)` : ''),
      details: { wanted: f.wanted, placed: f.placed, reason, skipped: f.skipped, extents, extent: extentId.toString('hex') } });
  }
}
