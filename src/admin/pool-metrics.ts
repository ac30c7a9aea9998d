/**
 * The scrape-time half of the metrics: figures that describe the pool's state rather
 * than count events — disk states, presence and space, extents by health, the repair
 * queue, namespace totals, the health verdict, diagnose's findings, snapshots and their
 * space, the tiers (as `tier status`). Computed from the same `status`, disk reports,
 * snapshot reads and tier report the CLI shows (so `dynamicfs status`, `health`,
 * `snapshot list`, `tier status`, `metrics` and the HTTP endpoint agree), once per scrape,
 * by a hook on the engine's registry.
 */
import type { Engine } from '../engine/engine';
import { scrubCoverage } from '../engine/scrub-report';
import { diskReports } from './disk-report';
import { diagnoseStatus } from './ops/diagnose';
import { DISK_STATES, status } from './ops/status';
import { COMPLIANCE_REASONS, tierReport } from './tier-report';

const installed = new WeakSet<Engine>();

/** Install the pool collector on the engine's registry (once; later calls do nothing). */
export function ensurePoolCollectors(engine: Engine): void {
  if (installed.has(engine)) return;
  installed.add(engine);
  const m = engine.metrics;
  m.onScrape(async () => {
    const s = await status(engine, {}, {});
    const { disks } = await diskReports(engine);
    // Reset first: a label set that no longer applies (a disk's old state) must vanish, not linger.
    for (const g of [m.diskInfo, m.diskState, m.diskPresent, m.diskCapacity, m.diskUsed, m.diskFree, m.diskFragments, m.diskErrorCounts, m.extents, m.poolHealth]) g.reset();
    for (const d of disks) {
      const disk = String(d.id);
      m.diskInfo.set({ disk, path: d.path, tier: d.tier, uuid: d.uuid }, 1);
      for (const state of DISK_STATES) m.diskState.set({ disk, state }, d.state === state ? 1 : 0);
      m.diskPresent.set({ disk }, d.present ? 1 : 0);
      m.diskCapacity.set({ disk }, d.capacityBytes);
      m.diskUsed.set({ disk }, d.usedBytes);
      m.diskFree.set({ disk }, d.freeBytes);
      m.diskFragments.set({ disk }, d.fragments);
      m.diskErrorCounts.set({ disk, kind: 'read' }, d.readErrors);
      m.diskErrorCounts.set({ disk, kind: 'checksum' }, d.checksumErrors);
      m.diskErrorCounts.set({ disk, kind: 'write' }, d.writeErrors);
    }
    m.poolCapacity.set(s.disks.capacityBytes);
    m.poolUsed.set(s.disks.usedBytes);
    m.poolFree.set(s.disks.freeBytes);
    for (const state of ['healthy', 'degraded', 'unrecoverable'] as const) m.extents.set({ state }, s.extents[state]);
    m.inlineExtents.set(s.extents.inline);
    m.repairQueue.set(s.repairQueue);
    m.files.set(s.namespace.files);
    m.directories.set(s.namespace.dirs);
    m.logicalBytes.set(s.namespace.bytes);
    m.generation.set(s.generation);
    for (const g of [m.jobs, m.jobProgress, m.jobEta, m.jobRate]) g.reset();
    let atRisk = 0;
    let safety = 0;
    for (const j of engine.jobs.list()) {
      m.jobs.inc({ kind: j.kind, state: j.state });
      if (j.state === 'done' || j.state === 'failed' || j.state === 'cancelled') continue;
      const labels = { job: String(j.id), kind: j.kind };
      const p = j.progress as { bytesDone: number; bytesTotal: number; atRiskBytes?: number };
      m.jobProgress.set(labels, p.bytesTotal > 0 ? Math.min(1, p.bytesDone / p.bytesTotal) : 0);
      m.jobEta.set(labels, j.etaSeconds ?? -1);
      m.jobRate.set(labels, j.rateBytesPerSec ?? 0);
      if (typeof p.atRiskBytes === 'number') {
        atRisk += p.atRiskBytes;
        safety = j.timeToSafetySeconds === null || safety < 0 ? -1 : Math.max(safety, j.timeToSafetySeconds);
      }
    }
    const cov = scrubCoverage(engine);
    m.scrubCoverage.set(cov.fraction);
    m.scrubUnverified.set(cov.unverified);
    m.scrubOldestAge.set(cov.oldestVerifiedMs === null ? 0 : Math.max(0, (Date.now() - cov.oldestVerifiedMs) / 1000));
    m.rebuildAtRisk.set(atRisk);
    m.rebuildTimeToSafety.set(safety);
    const snaps = engine.meta.snapshots();
    m.snapshots.set(snaps.length);
    m.snapshotsHeld.set(snaps.filter((x) => x.held).length);
    const space = engine.meta.spaceByOwner();
    m.snapshotSpace.set({ owner: 'live' }, space.liveBytes);
    m.snapshotSpace.set({ owner: 'shared' }, space.sharedBytes);
    m.snapshotSpace.set({ owner: 'snapshot_only' }, space.snapshotOnlyBytes);
    const verdict = s.health; // status's verdict: the one health and /health give
    for (const state of ['healthy', 'degraded', 'critical'] as const) m.poolHealth.set({ state }, verdict === state ? 1 : 0);
    const tiers = await tierReport(engine);
    for (const t of tiers.tiers) {
      m.tierStoredBytes.set({ tier: t.tier }, t.storedBytes);
      m.tierExtents.set({ tier: t.tier }, t.extents);
      m.tierCost.set({ tier: t.tier }, t.costPerMonth);
    }
    for (const reason of COMPLIANCE_REASONS) m.tierNonCompliant.set({ reason }, tiers.compliance.byReason[reason]);
    m.findings.reset();
    for (const f of (await diagnoseStatus(engine, s)).findings) m.findings.inc({ code: f.code, severity: f.severity });
  });
}
