/**
 * `status`: the pool at a glance — identity, disks by state, space, namespace totals,
 * extent health, error counters and the repair queue.
 *
 * An extent is unrecoverable when fewer than k fragments sit on present, non-failed
 * disks; degraded when at least k but not all k+m do, or when a fragment is known bad
 * (the extent is on the repair queue, or its last check failed and cleared its
 * verification) — until a repair or a clean scrub; healthy otherwise. Inline extents
 * live in the metadata store: healthy unless their last check failed.
 *
 * The verdict (health and reasons) is admin/health.ts's judgeHealth, computed here once;
 * `health`, GET /health and the metrics pass this result on.
 */
import type { Engine } from '../../engine/engine';
import { ownsFragments, PACK_INO, type DiskState, type Extent } from '../../meta/records';
import type { SpaceByOwner } from '../../meta/store';
import type { AdminOp } from '../context';
import type { JobView } from '../../engine/jobs';
import { DISK_STATES } from '../../pool/health';
import type { CopyStatus } from '../../pool/meta-copy';
import { featureViews, POOL_FORMAT, type FeatureView } from '../../pool/features';
import { upgradePlan } from '../../engine/upgrade';
import { diskReports, type SpaceTotals } from '../disk-report';
import { judgeHealth, type HealthLevel, type HealthReason } from '../health';
import { scrubSection, type ScrubSection } from './scrub-daemon';

export { DISK_STATES };

export type PoolHealth = HealthLevel;

export interface ExtentHealth {
  total: number;
  healthy: number;
  degraded: number;
  unrecoverable: number;
  /** Of the healthy ones, how many are inline. */
  inline: number;
  /** Files with at least one unrecoverable extent (the first 100), by path. */
  lostFiles: { path: string; inode: number; extents: number }[];
}

const MAX_LOST_FILES = 100;

export interface StatusData {
  pool: string;
  uuid: string;
  policy: string;
  extentSize: number;
  generation: number;
  /**
   * The pool's format major version, the newest this DynamicFS writes, whether `upgrade`
   * has work to do, and every feature (known ones first) with its state: disabled,
   * enabled (may be used) or active (the pool's structures depend on it).
   */
  format: { version: number; current: number; upgradable: boolean; features: FeatureView[] };
  /** healthy: nothing wrong; degraded: redundancy reduced or a disk needs attention; critical: data unreadable. */
  health: PoolHealth;
  /** Why the pool is not healthy (empty when it is). */
  reasons: HealthReason[];
  disks: { total: number; byState: Record<DiskState, number>; missing: number } & SpaceTotals;
  namespace: { files: number; dirs: number; bytes: number };
  /** Snapshots, and the file bytes by owner: live (of which shared with snapshots) and kept for snapshots only. */
  snapshots: { count: number } & SpaceByOwner;
  extents: ExtentHealth;
  errors: { read: number; checksum: number; write: number };
  repairQueue: number;
  /** Jobs not yet ended (queued, running, paused), with progress, rate and ETA. */
  jobs: JobView[];
  /** Scrubbing: schedule, next pass, coverage (extents verified within 24 h, oldest verification), active and last scrub. */
  scrub: ScrubSection;
  perDisk: { id: number; path: string; state: DiskState; present: boolean; readErrors: number; checksumErrors: number; writeErrors: number }[];
  /** The metadata's copies on the disks: how many a generation needs, and per disk its generation, checkpoint and age. */
  metaCopies: { required: number; current: number; disks: CopyStatus[] };
}

/** Classify one extent against the disks that can serve reads and whether a fragment of it is known bad. */
type Health = 'healthy' | 'degraded' | 'unrecoverable';

export function classifyExtent(e: Extent, usable: ReadonlySet<number>, knownBad = false): Health {
  if (!ownsFragments(e)) return knownBad ? 'degraded' : 'healthy';
  const ok = e.fragments.filter((f) => usable.has(f.diskId)).length;
  if (ok < e.k) return 'unrecoverable';
  return ok >= e.k + e.m && !knownBad ? 'healthy' : 'degraded';
}

/**
 * Walk every extent in batches (MetaStore.allExtentIds), so memory stays flat
 * however large the pool is.
 */
export function extentHealth(engine: Engine, usable: ReadonlySet<number>): ExtentHealth {
  const h: ExtentHealth = { total: 0, healthy: 0, degraded: 0, unrecoverable: 0, inline: 0, lostFiles: [] };
  const lost = new Map<number, number>();
  const queued = new Set(engine.meta.repairQueue().map((r) => r.extentId.toString('hex')));
  const classify = (e: Extent): Health => {
    const knownBad = queued.has(e.id.toString('hex')) || engine.meta.verifiedAt(e.id) === undefined;
    return classifyExtent(e, usable, knownBad);
  };
  // A packed extent is as healthy as its pack (classified once per pack).
  const packs = new Map<string, Health>();
  const packHealth = (e: Extent): Health => {
    const key = e.pack?.id.toString('hex') ?? '';
    let c = packs.get(key);
    if (!c) {
      const pack = e.pack && engine.meta.getExtent(e.pack.id);
      c = pack ? classify(pack) : 'unrecoverable';
      packs.set(key, c);
    }
    return c;
  };
  for (const batch of engine.meta.allExtentIds(1000)) {
    for (const id of batch) {
      const e = engine.meta.getExtent(id);
      if (!e) continue; // removed between the id scan and the read: nothing to count
      h.total++;
      const c = e.scheme === 'packed' ? packHealth(e) : classify(e);
      h[c]++;
      // A lost pack's files are counted by their packed extents.
      // An extent only snapshots keep is an earlier version's loss, not the live file's (keyed negative).
      const key = e.died != null ? -e.ino : e.ino;
      if (c === 'unrecoverable' && e.ino !== PACK_INO) lost.set(key, (lost.get(key) ?? 0) + 1);
      if (e.scheme === 'inline' && c === 'healthy') h.inline++;
    }
  }
  h.lostFiles = [...lost].slice(0, MAX_LOST_FILES).map(([key, n]) => ({
    path: key < 0 ? `${engine.meta.pathOf(-key)} (an earlier version kept for snapshots)` : engine.meta.pathOf(key), inode: Math.abs(key), extents: n }));
  return h;
}

export const status: AdminOp<Record<string, never>, StatusData> = async (engine) => {
  const { disks, totals } = await diskReports(engine);
  const usable = new Set(disks.filter((d) => d.present && d.state !== 'failed').map((d) => d.id));
  const byState = Object.fromEntries(DISK_STATES.map((s) => [s, 0])) as Record<DiskState, number>;
  for (const d of disks) byState[d.state] = (byState[d.state] ?? 0) + 1;
  const counts = engine.meta.counts();
  const extents = extentHealth(engine, usable);
  const missing = disks.filter((d) => !d.present).length;
  const repairQueue = engine.meta.repairQueue().length;
  const perDisk = disks.map((d) => ({ id: d.id, path: d.path, state: d.state, present: d.present,
    readErrors: d.readErrors, checksumErrors: d.checksumErrors, writeErrors: d.writeErrors }));
  const verdict = judgeHealth({ extents, perDisk, disks: totals, repairQueue });
  const sb = engine.pool.superblock;
  return {
    pool: engine.pool.dir, uuid: sb.uuid, policy: sb.policy, extentSize: sb.extentSize, generation: engine.meta.generation(),
    format: { version: sb.format, current: POOL_FORMAT, upgradable: !upgradePlan(engine.pool).upToDate, features: featureViews(sb.features) },
    health: verdict.health,
    reasons: verdict.reasons,
    disks: { total: disks.length, byState, missing, ...totals },
    namespace: { files: counts.files, dirs: counts.dirs, bytes: counts.bytes },
    snapshots: { count: engine.meta.snapshots().length, ...engine.meta.spaceByOwner() },
    extents,
    errors: {
      read: disks.reduce((n, d) => n + d.readErrors, 0),
      checksum: disks.reduce((n, d) => n + d.checksumErrors, 0),
      write: disks.reduce((n, d) => n + d.writeErrors, 0),
    },
    repairQueue,
    jobs: engine.jobs.list().filter((j) => j.state === 'queued' || j.state === 'running' || j.state === 'paused'),
    scrub: scrubSection(engine),
    perDisk,
    metaCopies: metaCopies(engine),
  };
};

function metaCopies(engine: Engine): StatusData['metaCopies'] {
  const disks = engine.pool.copies.status();
  return { required: engine.pool.copies.required(), current: disks.filter((d) => d.state === 'current').length, disks };
}
