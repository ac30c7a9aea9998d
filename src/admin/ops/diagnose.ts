/**
 * `diagnose`: what is wrong or risky with the pool and what to do about it. Each finding
 * has a stable code, a severity (critical: data is unreadable; warning: redundancy or
 * durability is less than it looks; info: worth knowing), the numbers it rests on and the
 * command that fixes or investigates it. Read-only; built on `status` (the same verdict
 * as `health`, each reason a finding) plus what status does not judge: disks counting
 * I/O errors (with the days to their failed threshold at the rate so far), nearly full
 * or slow (findings/disk-findings.ts), each tier's days until full at the last week's
 * growth (findings/capacity-forecast.ts), disks that share one device (more than m of
 * them on one device: losing it loses data), the pool directory on a disk's device,
 * scrub coverage behind, metadata copies stale, settings outside their safe range, and a
 * cache too small for its read-ahead in this pool's extent size.
 */
import { SETTINGS, safeRange, unsafe } from '../../config/settings';
import { currentSettings } from '../../config/values';
import { healthConfig } from '../../pool/health';
import type { AdminOp } from '../context';
import { deviceOf, diskReports } from '../disk-report';
import { capacityFindings } from '../findings/capacity-forecast';
import { diskFindings, type DiskLatency } from '../findings/disk-findings';
import type { Finding, FindingSeverity } from '../findings/finding';
import { readUsage, tierSpace } from '../usage-history';
import type { Engine } from '../../engine/engine';
import { status, type StatusData } from './status';

export type { Finding, FindingSeverity };

export interface DiagnoseData {
  pool: string;
  /** The worst severity found; "ok" when nothing was. */
  verdict: FindingSeverity | 'ok';
  findings: Finding[];
}

const ORDER: Record<FindingSeverity, number> = { critical: 0, warning: 1, info: 2 };
/** Coverage below this, with nothing scheduled to raise it, is a finding. */
const COVERAGE_WARN = 0.5;

export const diagnose: AdminOp<Record<string, never>, DiagnoseData> = async (engine, args, ctx) => diagnoseStatus(engine, await status(engine, args, ctx));

/** The findings for a status already computed (health and the metrics collector share one). */
export async function diagnoseStatus(engine: Engine, s: StatusData): Promise<DiagnoseData> {
  const pool = s.pool;
  const m = engine.pool.policy.m;
  const findings: Finding[] = [...fromHealth(s, pool)];

  const nowMs = Date.now();
  const { disks: reports } = await diskReports(engine);
  findings.push(...diskFindings({ pool, reports, rows: engine.pool.disks(), health: healthConfig(engine.meta), latency: await fragmentLatency(engine), nowMs }));
  findings.push(...capacityFindings(pool, readUsage(pool), tierSpace(reports, deviceOf), nowMs));

  // Devices: st_dev of each present disk's directory and of the pool directory.
  const byDev = new Map<number, number[]>();
  for (const d of s.perDisk) {
    const dev = d.present ? deviceOf(d.path) : undefined;
    if (dev !== undefined) byDev.set(dev, [...(byDev.get(dev) ?? []), d.id]);
  }
  for (const [dev, ids] of byDev) {
    if (ids.length < 2) continue;
    const fatal = ids.length > m;
    findings.push({ code: 'shared-device', severity: fatal ? 'warning' : 'info',
      message: `disks ${ids.join(', ')} are on one device (st_dev ${dev}): ${fatal
        ? `losing it loses ${ids.length} disks, more than the ${m} ${engine.pool.policy.scheme === 'mirror' ? 'copies' : 'parity fragments'} the pool can lose — data on them would be lost`
        : `losing it loses ${ids.length} of the ${m} disks the pool can lose`}`,
      evidence: { device: dev, disks: ids, canLose: m },
      fix: 'give each disk its own device: `dynamicfs add-disk` a directory on another device, then `dynamicfs drain` and `dynamicfs remove-disk` one of these' });
  }
  const poolDev = deviceOf(pool);
  const sharing = poolDev === undefined ? [] : byDev.get(poolDev) ?? [];
  if (sharing.length > 0) {
    findings.push({ code: 'pool-dir-on-disk-device', severity: 'info',
      message: `the pool directory is on the same device as disk${sharing.length === 1 ? '' : 's'} ${sharing.join(', ')}: a failure of that device takes both (the disks' metadata copies still rebuild the pool directory)`,
      evidence: { device: poolDev, disks: sharing },
      fix: `dynamicfs import ${pool} <disk dirs...> recreates a lost pool directory from the disks` });
  }

  const cov = s.scrub.coverage;
  if (cov.extents > 0 && cov.fraction < COVERAGE_WARN && s.scrub.schedule.frequency === 'manual' && !s.scrub.active) {
    const days = cov.oldestVerifiedMs === null ? null : Math.floor((Date.now() - cov.oldestVerifiedMs) / 86_400_000);
    findings.push({ code: 'scrub-behind', severity: 'warning',
      message: `${cov.extents - cov.verifiedWithinPeriod} of ${cov.extents} extents were not verified in the last ${Math.round(cov.periodSeconds / 3600)} h`
        + `${days === null ? '' : ` (the oldest verification is ${days} days old)`} and no scrub is scheduled: damage on the disks goes unseen until a read needs it`,
      evidence: { extents: cov.extents, verifiedWithinPeriod: cov.verifiedWithinPeriod, fraction: cov.fraction, oldestVerifiedMs: cov.oldestVerifiedMs },
      fix: `dynamicfs scrub-schedule ${pool} --frequency nightly (or dynamicfs scrub ${pool} now)` });
  }

  const stale = s.metaCopies.disks.filter((c) => c.state === 'stale');
  if (stale.length > 0) {
    const short = s.metaCopies.current < s.metaCopies.required;
    findings.push({ code: 'meta-copies-stale', severity: short ? 'warning' : 'info',
      message: `${stale.length} of the disks' metadata copies ${stale.length === 1 ? 'is' : 'are'} stale (disk${stale.length === 1 ? '' : 's'} ${stale.map((c) => c.diskId).join(', ')}); `
        + `${s.metaCopies.current} current, ${s.metaCopies.required} needed${short ? ': losing the pool directory now could lose the newest changes' : ''}`,
      evidence: { current: s.metaCopies.current, required: s.metaCopies.required, stale: stale.map((c) => ({ disk: c.diskId, generation: c.generation, error: c.error })) },
      fix: `dynamicfs check ${pool} --repair` });
  }

  // Settings outside their declared safe range (config/settings.ts), e.g. a long commit interval.
  const values = currentSettings(engine.meta);
  for (const spec of SETTINGS.filter((x) => unsafe(x, values.get(x.key)!))) {
    const value = values.get(spec.key)!;
    findings.push({ code: 'setting-unsafe', severity: 'warning',
      message: `${spec.key} is ${String(value)}, outside its safe range ${safeRange(spec)}: ${spec.safe!.risk} (default ${String(spec.default)})`,
      evidence: { key: spec.key, value, safeRange: safeRange(spec), default: spec.default },
      fix: `dynamicfs config ${pool} --set ${spec.key}=${String(spec.default)}` });
  }

  findings.push(...cacheFindings(pool, values, s.extentSize));

  findings.sort((a, b) => ORDER[a.severity] - ORDER[b.severity]);
  return { pool, verdict: findings[0]?.severity ?? 'ok', findings };
}

/**
 * The mount's cache against its read-ahead: a sequential reader needs the extent it reads
 * and read.aheadExtents more cached at once, in this pool's extent size (each setting
 * alone may be in its safe range while the pair is not: large extents).
 */
function cacheFindings(pool: string, values: Map<string, unknown>, extentSize: number): Finding[] {
  const cacheBytes = Number(values.get('cache.extentBytes'));
  const ahead = Number(values.get('read.aheadExtents'));
  const needBytes = (ahead + 1) * extentSize;
  if (cacheBytes >= needBytes) return [];
  return [{ code: 'cache-short', severity: 'warning',
    message: `cache.extentBytes is ${cacheBytes} bytes, less than the ${needBytes} a sequential reader needs (${ahead + 1} extents of ${extentSize} bytes: `
      + `the one it reads and read.aheadExtents=${ahead} ahead): read-ahead is evicted before its read comes and extents are fetched twice`,
    evidence: { cacheBytes, aheadExtents: ahead, extentSize, needBytes },
    fix: `dynamicfs config ${pool} --set cache.extentBytes=${needBytes * 2} (or lower read.aheadExtents)` }];
}

/** Each reason of the health verdict, with what to run. */
function fromHealth(s: StatusData, pool: string): Finding[] {
  const fix: Record<string, string> = {
    'unrecoverable-extents': `dynamicfs check ${pool} (names the files that lost data; bring back a missing disk, or restore them from a backup)`,
    'failed-disks': `dynamicfs replace-disk ${pool} <disk> <new dir>, or dynamicfs remove-disk ${pool} <disk> once rebuilt`,
    'missing-disks': `dynamicfs probe-disks ${pool} (is the disk mounted where the pool expects it?)`,
    'unhealthy-disks': `dynamicfs disk-events ${pool}; dynamicfs probe-disks ${pool}`,
    'degraded-extents': `dynamicfs rebuild ${pool} (a mounted pool also repairs by itself; dynamicfs jobs ${pool} shows it)`,
    capacity: `dynamicfs add-disk ${pool} <dir>, or free space (dynamicfs gc ${pool}, dynamicfs compact ${pool})`,
  };
  const evidence: Record<string, Record<string, unknown>> = {
    'unrecoverable-extents': { extents: s.extents.unrecoverable, files: s.extents.lostFiles.map((f) => f.path) },
    'degraded-extents': { extents: s.extents.degraded, repairQueue: s.repairQueue },
    'failed-disks': { disks: s.perDisk.filter((d) => d.state === 'failed').map((d) => d.id) },
    'missing-disks': { disks: s.perDisk.filter((d) => !d.present && d.state !== 'failed').map((d) => d.id) },
    'unhealthy-disks': { disks: s.perDisk.filter((d) => d.present && d.state !== 'healthy' && d.state !== 'failed').map((d) => ({ disk: d.id, state: d.state })) },
    capacity: { capacityBytes: s.disks.capacityBytes, usedBytes: s.disks.usedBytes },
  };
  return s.reasons.map((r) => ({ code: r.code, severity: r.severity === 'critical' ? 'critical' : 'warning', message: r.message,
    evidence: evidence[r.code] ?? {}, fix: fix[r.code] ?? `dynamicfs status ${pool}` }));
}

/** Fragment reads and writes per disk from this process's latency histogram. */
async function fragmentLatency(engine: Engine): Promise<DiskLatency> {
  const out: DiskLatency = new Map();
  for (const v of (await engine.metrics.fragmentSeconds.get()).values) {
    const op = v.labels.op;
    if (op !== 'read' && op !== 'write') continue;
    const disk = Number(v.labels.disk);
    const e = out.get(disk) ?? { ops: 0, seconds: 0 };
    out.set(disk, e);
    if (v.metricName?.endsWith('_count')) e.ops += v.value;
    else if (v.metricName?.endsWith('_sum')) e.seconds += v.value;
  }
  return out;
}
