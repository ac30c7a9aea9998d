/**
 * Where the pool's data lies by tier, whether each extent is on the tier it wants, and
 * what it costs: `tier status` and the tier metrics (pool-metrics.ts) both come from
 * tierReport, one walk over every extent in batches.
 *
 * Bytes are the fragments as they lie on the disks (a 4 KiB header and the payload padded
 * to 4 KiB, parity and copies included), counted on the tier of the disk each sits on.
 * What an extent's policy asks is engine/tier-intent.ts's: it complies when its fragments
 * all lie on its foreground tier or on its background tier; an extent idle past its
 * demoteAfter and not hot, not on its background tier, or hot off its foreground tier
 * with promotion on, is pending a move (`tier migrate`, or the coordinator's schedule,
 * whose next look the report shows: engine/tier-scheduler.ts). One that
 * does not comply has a reason, what can be said from the pool as it is now:
 *   fallback     the wanted tier cannot take it now (too few healthy disks, or full);
 *   stale        the wanted tier could take it now: it was written before its tier policy
 *                changed, or during a fallback that has ended (which of the two is not
 *                recorded); `tier migrate` moves idle extents to their background
 *                tier only, and nothing moves these back yet;
 *   mixed-tiers  its fragments lie on disks of several tiers (a repair put one on another
 *                tier, or no one tier could hold it when written).
 */
import { sectionSettings } from '../config/values';
import type { Engine } from '../engine/engine';
import type { ClassifierName } from '../engine/heat';
import { extentIntent, moveTarget, policySettings } from '../engine/tier-intent';
import { decideMigration, TierScheduler, type MigrateDecision } from '../engine/tier-scheduler';
import type { Tier } from '../meta/records';
import { TIER_NAMES } from '../pool/tier-policy';

const GiB = 1024 ** 3;
const MAX_LISTED = 100;

export const COMPLIANCE_REASONS = ['fallback', 'stale', 'mixed-tiers'] as const;
export type ComplianceReason = (typeof COMPLIANCE_REASONS)[number];

export interface TierFigures {
  tier: Tier;
  /** Disks of the tier, and of those the healthy, present ones. */
  disks: number;
  healthyDisks: number;
  /** Fragments on the tier's disks and their bytes as stored. */
  fragments: number;
  storedBytes: number;
  /** Extents wholly on the tier, and their logical bytes. */
  extents: number;
  logicalBytes: number;
  /** Of those, the ones `tier migrate` moves now: idle past their demoteAfter and not hot with a background tier they are not on, or hot off their foreground tier with promotion on. */
  pendingMoveExtents: number;
  pendingMoveBytes: number;
  /** Of those, the ones tier.classifier calls hot now. */
  hotExtents: number;
  pricePerGiBMonth: number;
  costPerMonth: number;
}

export interface NonCompliant {
  extent: string;
  /** The file it belongs to (a pack: its first file). */
  path: string;
  wanted: Tier;
  /** The tier its fragments are on, or `mixed`. */
  placed: Tier | 'mixed';
  reason: ComplianceReason;
  /** For a fallback: why the wanted tier cannot take it now. */
  detail: string | null;
}

export interface TierReport {
  pool: string;
  foreground: Tier;
  tiers: TierFigures[];
  /** Extents kept in the metadata store: on no tier. */
  inline: { extents: number; bytes: number };
  compliance: {
    /** Extents with fragments (inline and packed-file extents are not placed themselves). */
    checked: number;
    compliant: number;
    nonCompliant: number;
    byReason: Record<ComplianceReason, number>;
    /** The first 100 non-compliant extents. */
    listed: NonCompliant[];
  };
  costPerMonth: number;
  /** The heat classifier the moves are judged by (tier.classifier). */
  classifier: ClassifierName;
  /** The coordinator's migration schedule (tier.migrateEvery): whether one follows it here, and its decision now. */
  schedule: { everySeconds: number; running: boolean } & Omit<MigrateDecision, 'look'>;
}

interface PriceSettings {
  'hot.pricePerGiBMonth': number;
  'warm.pricePerGiBMonth': number;
  'cold.pricePerGiBMonth': number;
}

/** Bytes a fragment of `fragLen` payload bytes takes on its disk (local-disk.ts: 4 KiB header, payload padded to 4 KiB). */
export function storedFragmentBytes(fragLen: number): number {
  return 4096 + Math.ceil(fragLen / 4096) * 4096;
}

export async function tierReport(engine: Engine): Promise<TierReport> {
  const settings = policySettings(engine);
  const prices = sectionSettings<PriceSettings>(engine.meta, 'tier');
  const placement = engine.placement;
  await placement.refresh();
  const disks = engine.pool.disks();
  const tierOfDisk = new Map(disks.map((d) => [d.id, d.tier]));
  const present = placement.tiersPresent();
  const healthy = new Set(placement.writable().map((d) => d.id));
  const figures = new Map<Tier, TierFigures>(TIER_NAMES.map((tier) => {
    const of = disks.filter((d) => d.tier === tier);
    const price = prices[`${tier}.pricePerGiBMonth`];
    return [tier, { tier, disks: of.length, healthyDisks: of.filter((d) => healthy.has(d.id)).length, fragments: 0, storedBytes: 0,
      extents: 0, logicalBytes: 0, pendingMoveExtents: 0, pendingMoveBytes: 0, hotExtents: 0, pricePerGiBMonth: price, costPerMonth: 0 }];
  }));
  const report: TierReport = { pool: engine.pool.dir, foreground: settings.foreground, tiers: [], inline: { extents: 0, bytes: 0 },
    compliance: { checked: 0, compliant: 0, nonCompliant: 0, byReason: { fallback: 0, stale: 0, 'mixed-tiers': 0 }, listed: [] }, costPerMonth: 0,
    classifier: settings.classifier, schedule: scheduleNow(engine, settings.migrateEvery, present.length) };

  const nowMs = Date.now();
  for (const batch of engine.meta.allExtentIds(1000)) {
    for (const id of batch) {
      const e = engine.meta.getExtent(id);
      if (!e || e.scheme === 'packed') continue; // a packed file's bytes are counted with its pack
      if (e.scheme === 'inline') {
        report.inline.extents++;
        report.inline.bytes += e.length;
        continue;
      }
      for (const f of e.fragments) {
        const t = figures.get(tierOfDisk.get(f.diskId)!);
        if (!t) continue; // a disk removed: not stored anywhere now
        t.fragments++;
        t.storedBytes += storedFragmentBytes(e.fragLen);
      }
      const intent = extentIntent(engine, e, settings, present, tierOfDisk, nowMs);
      const placed = intent.placed;
      if (placed === null || present.length === 0) continue;
      if (placed !== 'mixed') {
        const t = figures.get(placed)!;
        t.extents++;
        t.logicalBytes += e.length;
        if (intent.hot) t.hotExtents++;
        if (moveTarget(intent) !== null) {
          t.pendingMoveExtents++;
          t.pendingMoveBytes += e.length;
        }
      }
      report.compliance.checked++;
      // On its foreground tier, or on its background tier (where the migration put it, or will).
      if (placed === intent.foreground || placed === intent.background) {
        report.compliance.compliant++;
        continue;
      }
      let reason: ComplianceReason = 'mixed-tiers';
      let detail: string | null = null;
      if (placed !== 'mixed') {
        const now = placement.chooseTier(intent.policy, e.length);
        const short = now.fallback?.skipped.find((s) => s.tier === intent.foreground);
        reason = now.tier === intent.foreground ? 'stale' : 'fallback';
        if (short) detail = short.reason === 'full' ? `${short.tier} is full (${short.roomy} of its ${short.healthy} healthy disks have room, ${short.needed} needed)`
          : `${short.tier} has ${short.healthy} healthy disks, ${short.needed} needed`;
      }
      report.compliance.nonCompliant++;
      report.compliance.byReason[reason]++;
      if (report.compliance.listed.length < MAX_LISTED) {
        report.compliance.listed.push({ extent: e.id.toString('hex'), path: pathOr(engine, intent.owner),
          wanted: intent.foreground, placed, reason, detail });
      }
    }
  }
  for (const t of figures.values()) {
    t.costPerMonth = (t.storedBytes / GiB) * t.pricePerGiBMonth;
    report.costPerMonth += t.costPerMonth;
  }
  report.tiers = [...figures.values()];
  return report;
}

/** The schedule's decision: the running scheduler's (it knows its last look), else from the jobs alone. */
function scheduleNow(engine: Engine, everySeconds: number, tiers: number): TierReport['schedule'] {
  const scheduler = TierScheduler.of(engine);
  const { look: _look, ...d } = scheduler ? scheduler.decision() : decideMigration(everySeconds, tiers, engine.meta.jobs(), undefined, Date.now());
  return { everySeconds, running: scheduler !== undefined, ...d };
}

/** The path of the extent's file, or what it is when it has none (gone, kept only by a snapshot). */
function pathOr(engine: Engine, ino: number | undefined): string {
  if (ino === undefined) return '(no file)';
  try {
    return engine.meta.pathOf(ino);
  } catch {
    return `(inode ${ino}, no longer linked: kept by a snapshot)`;
  }
}
