/**
 * The pool's space over time, per tier, for diagnose's capacity forecast: one JSON line
 * per sample in POOL/run/usage.jsonl (0600, like the other run files), taken by a running
 * coordinator at start and every hour, and trimmed to the last RETAIN_DAYS. It is
 * advisory history, not metadata: a lost or damaged file only delays the forecast (a
 * line that does not parse is skipped), so it is not copied to the disks.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Tier } from '../meta/records';
import { runFiles } from '../rpc/run-files';
import type { DiskReport } from './disk-report';

export interface TierSpace {
  capacityBytes: number;
  usedBytes: number;
  freeBytes: number;
  disks: number[];
}

export interface UsageSample {
  atMs: number;
  tiers: Partial<Record<Tier, { capacityBytes: number; usedBytes: number }>>;
}

/** Samples older than this are dropped when the file is rewritten. */
export const RETAIN_DAYS = 8;
const DAY_MS = 86_400_000;
/** The file is rewritten (trimmed) once it holds this many lines more than a retained week of hourly samples. */
const TRIM_SLACK = 48;

export function usageFile(poolDir: string): string {
  return path.join(runFiles(poolDir).dir, 'usage.jsonl');
}

/**
 * Space per tier from disk reports: disks that share a filesystem count its space once
 * (several disk directories on one device are common in small setups).
 */
export function tierSpace(disks: readonly DiskReport[], deviceOf: (dir: string) => number | undefined): Map<Tier, TierSpace> {
  const out = new Map<Tier, TierSpace>();
  const seen = new Map<Tier, Set<number>>();
  for (const d of disks) {
    if (!d.present) continue;
    const t = out.get(d.tier) ?? { capacityBytes: 0, usedBytes: 0, freeBytes: 0, disks: [] };
    out.set(d.tier, t);
    t.disks.push(d.id);
    const dev = deviceOf(d.path);
    const devs = seen.get(d.tier) ?? new Set<number>();
    seen.set(d.tier, devs);
    if (dev !== undefined && devs.has(dev)) continue;
    if (dev !== undefined) devs.add(dev);
    t.capacityBytes += d.capacityBytes;
    t.usedBytes += d.usedBytes;
    t.freeBytes += d.freeBytes;
  }
  return out;
}

/** Every sample that parses, oldest first; none when there is no file. */
export function readUsage(poolDir: string): UsageSample[] {
  let text: string;
  try {
    text = fs.readFileSync(usageFile(poolDir), 'utf8');
  } catch {
    return [];
  }
  const out: UsageSample[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const s = JSON.parse(line) as UsageSample;
      if (typeof s?.atMs === 'number' && Number.isFinite(s.atMs) && s.tiers !== null && typeof s.tiers === 'object') out.push(s);
    } catch {
      // A torn or foreign line: skipped (the history is advisory).
    }
  }
  return out.sort((a, b) => a.atMs - b.atMs);
}

/** Append one sample (0600), trimming samples older than RETAIN_DAYS once the file has grown. */
export function appendUsage(poolDir: string, sample: UsageSample): void {
  const file = usageFile(poolDir);
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const existing = readUsage(poolDir);
  if (existing.length >= RETAIN_DAYS * 24 + TRIM_SLACK) {
    const keep = existing.filter((s) => s.atMs >= sample.atMs - RETAIN_DAYS * DAY_MS);
    const tmp = `${file}.tmp`;
    fs.writeFileSync(tmp, [...keep, sample].map((s) => `${JSON.stringify(s)}\n`).join(''), { mode: 0o600 });
    fs.renameSync(tmp, file);
    return;
  }
  fs.appendFileSync(file, `${JSON.stringify(sample)}\n`, { mode: 0o600 });
}

export function sampleOf(atMs: number, tiers: Map<Tier, TierSpace>): UsageSample {
  const out: UsageSample = { atMs, tiers: {} };
  for (const [tier, s] of tiers) out.tiers[tier] = { capacityBytes: s.capacityBytes, usedBytes: s.usedBytes };
  return out;
}
