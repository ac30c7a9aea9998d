/**
 * The scrub job (kind `scrub`): read every fragment of every extent, verify it, check
 * the extent's placement, and report what is wrong — per disk and per file.
 *
 * Extents are walked in id order from a cursor kept in the job's progress (the hex id of
 * the last extent finished). The cursor moves in the same transaction that records the
 * extent as verified (or queues it for repair), so a coordinator killed mid-scrub resumes
 * at the next extent, never at the start, and never skips one.
 *
 * Per extent: the job waits for its rate limit (intensity), then a scrub worker
 * (workers/scrub.worker.ts, a Piscina thread) reads the fragments and verifies each in
 * native code against the metadata's BLAKE3; only verdicts come back. Placement is
 * checked here: k+m fragments, one per index, on distinct registered disks, none on a
 * failed or vanished disk. Inline extents are verified with their metadata record (the
 * record's checksum covers the bytes) and their logical hash.
 *
 * Damage is queued for repair and counted against the disk (checksum or read errors),
 * which moves the disk through the health thresholds. With `repair`, each damaged extent
 * is repaired on the spot (engine/repair.ts: rebuilt from any k good fragments). A dry
 * run reports and changes nothing: no repair queue, no error counters, no verification
 * times.
 */
import * as path from 'node:path';
import { DfsError } from '../errors';
import type { DiskRow, Extent, JobRow } from '../meta/records';
import type { Txn } from '../meta/store';
import { blake3, fragRelativePath } from '../native';
import type { CheckResult, FragmentCheck } from '../workers/scrub.worker';
import { crashPoint } from './crash-points';
import type { Engine } from './engine';
import type { JobContext, JobProgress } from './jobs';
import { repairExtent } from './repair';

const MiB = 1024 * 1024;

export const INTENSITIES = ['low', 'medium', 'high'] as const;
export type Intensity = (typeof INTENSITIES)[number];

/** The I/O rate each intensity allows a scrub (bytes per second; 0 = unlimited). */
export const INTENSITY_RATES: Record<Intensity, number> = { low: 32 * MiB, medium: 128 * MiB, high: 0 };

/** A named intensity, or an explicit rate in bytes per second (0 = unlimited). */
export type IntensitySetting = Intensity | number;

export function intensityRate(i: IntensitySetting): number {
  return typeof i === 'number' ? i : INTENSITY_RATES[i];
}

/** Check an intensity that arrived as untyped data (a name or a rate in bytes per second). */
export function checkIntensity(v: unknown, what = 'intensity'): IntensitySetting {
  if (typeof v === 'string' && (INTENSITIES as readonly string[]).includes(v)) return v as Intensity;
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return v;
  throw new DfsError('EINVAL', `${what} ${JSON.stringify(v)} is not low, medium, high or a rate in bytes per second`);
}

export interface ScrubParams {
  /** Repair each damaged extent on the spot (not in a dry run). */
  repair?: boolean;
  /** Report only: no repairs, no repair queue, no error counters, no verification times. */
  dryRun?: boolean;
  /** Started by the scheduler or `scrub-daemon start` rather than by a waiting `scrub`. */
  background?: boolean;
  intensity?: IntensitySetting;
  /** The rate limit the runner applies (JobRunner.setRate keeps it in the params). */
  rateBytesPerSec?: number;
  /** Why the job was started (schedule, operator). */
  reason?: string;
}

/**
 * What a finding's code means:
 * - EDIGEST: the payload fails its BLAKE3 (bit rot, a torn or overwritten fragment);
 * - EFORMAT: the header is damaged, names another fragment, or the payload has the wrong length;
 * - ENOENT: the fragment file is missing; EIO and other errno names: the disk failed the read;
 * - ENODEV: its disk is missing (directory or label gone); EDISKFAILED: its disk is failed;
 * - EUNKNOWNDISK: placed on a disk id the pool does not have;
 * - EPLACEMENT: a second fragment of the extent on the same disk (one disk loss costs two);
 * - EMISSINGFRAG: the extent has no fragment with this index;
 * - EMETACORRUPT: the extent's metadata record fails its checksum (nothing to read it by).
 */
export const FINDING_CODES = ['EDIGEST', 'EFORMAT', 'ENOENT', 'EIO', 'ENODEV', 'EDISKFAILED', 'EUNKNOWNDISK', 'EPLACEMENT',
  'EMISSINGFRAG', 'EMETACORRUPT'] as const;

/** Codes repairExtent fixes (it rebuilds bad and lost fragments); placement faults it leaves. */
const REPAIRABLE = new Set(['EDIGEST', 'EFORMAT', 'ENOENT', 'EIO', 'ENODEV', 'EDISKFAILED', 'EUNKNOWNDISK']);
/** Codes that say the disk misbehaved (counted against it); the others are placement or absence. */
const NOT_THE_DISKS_FAULT = new Set(['ENODEV', 'EDISKFAILED', 'EUNKNOWNDISK', 'EPLACEMENT', 'EMISSINGFRAG', 'EMETACORRUPT']);

/** One damaged or misplaced fragment, named by the file it belongs to. */
export interface FragmentFinding {
  path: string;
  inode: number;
  extent: string;
  /** Offset of the extent in the file (-1 when the extent record is unreadable). */
  offset: number;
  /** Fragment index (null for a finding about the whole extent). */
  index: number | null;
  diskId: number | null;
  code: string;
  /** Fixed by this scrub's repair. */
  repaired: boolean;
  /** Where the repair put the rebuilt fragment (null when not rebuilt), and why there. */
  repairedOnto: number | null;
  repair: string | null;
}

export interface DiskFindings {
  diskId: number;
  path: string;
  /** Findings on this disk, by code. */
  counts: Record<string, number>;
  total: number;
}

/** The job's progress: the runner's counters plus the cursor and the findings so far. */
export interface ScrubProgress extends JobProgress {
  /** Hex id of the last extent finished ('' before the first). */
  cursor: string;
  fragmentsChecked: number;
  inlineChecked: number;
  extentsDamaged: number;
  fragmentsBad: number;
  /** Damaged extents this scrub repaired. */
  extentsRepaired: number;
  /** Damaged extents still damaged when the scrub passed them (unrecoverable, stuck, no --repair, dry run). */
  extentsUnrepaired: number;
  perDisk: DiskFindings[];
  /** The first MAX_LISTED findings; the rest are counted in filesOmitted (perDisk counts them all). */
  files: FragmentFinding[];
  filesOmitted: number;
  /** Each time the job picked up from a persisted cursor (after a restart). */
  resumes: { atMs: number; extentsDone: number; cursor: string }[];
}

/** Findings listed in full; a pool with a dead disk would otherwise list every extent. */
export const MAX_LISTED = 200;
/** Inline extents verified per transaction (a transaction per tiny extent would cost an fsync each). */
const INLINE_BATCH = 64;
const ID_BATCH = 256;
/** Foreground I/O this recent makes a rate-limited scrub yield. */
const FOREGROUND_WINDOW_MS = 250;
/** While foreground I/O is active, a rate-limited scrub runs at 1/FOREGROUND_SHARE of its rate. */
const FOREGROUND_SHARE = 4;

export function initProgress(p: JobProgress): ScrubProgress {
  const s = p as ScrubProgress;
  s.cursor ??= '';
  s.fragmentsChecked ??= 0;
  s.inlineChecked ??= 0;
  s.extentsDamaged ??= 0;
  s.fragmentsBad ??= 0;
  s.extentsRepaired ??= 0;
  s.extentsUnrepaired ??= 0;
  s.perDisk ??= [];
  s.files ??= [];
  s.filesOmitted ??= 0;
  s.resumes ??= [];
  return s;
}

/** What checking one extent found, before anything is committed. */
interface Checked {
  id: Buffer;
  /** Bytes read from disks (0 for inline). */
  bytes: number;
  fragments: number;
  inline: boolean;
  findings: FragmentFinding[];
  /** The record exists (not dropped or rewritten meanwhile). */
  present: boolean;
}

export async function scrubJob(engine: Engine, ctx: JobContext): Promise<void> {
  const params = ctx.params as ScrubParams;
  const dry = !!params.dryRun;
  const repair = !!params.repair && !dry;
  const p = initProgress(ctx.progress);
  if (p.cursor) p.resumes.push({ atMs: Date.now(), extentsDone: p.extentsDone, cursor: p.cursor });
  await sizeUp(engine, p);
  ctx.checkpoint();

  let pending: Checked[] = [];
  const commit = (): void => {
    if (pending.length === 0) return;
    const done = pending;
    pending = [];
    const counted: number[] = [];
    engine.meta.transact((tx) => {
      for (const c of done) record(engine, tx, p, c, dry, repair, counted);
      p.cursor = done[done.length - 1]!.id.toString('hex');
      p.extentsTotal = Math.max(p.extentsTotal, p.extentsDone);
      p.bytesTotal = Math.max(p.bytesTotal, p.bytesDone);
      ctx.checkpoint(tx);
    });
    if (counted.length) engine.health.afterErrors(counted);
    crashPoint('scrub-extent');
  };

  const foreground = foregroundActivity(engine);
  let after = Buffer.from(p.cursor, 'hex');
  for (;;) {
    const ids = engine.meta.extentIdsAfter(after, ID_BATCH);
    if (ids.length === 0) break;
    after = Buffer.from(ids[ids.length - 1]!);
    const disks = new Map(engine.pool.disks().map((d) => [d.id, d]));
    for (const id of ids) {
      await ctx.step();
      // Wait for the rate limit before taking the extent's lock, so a repair of it never waits on our budget.
      const planned = recordOrUndefined(engine, id);
      if (planned) {
        const bytes = physicalBytes(planned);
        await ctx.throttle(bytes);
        // Foreground I/O keeps priority: while the mount (or a repair) is reading or writing,
        // each byte costs FOREGROUND_SHARE times as much of the budget. Unlimited scrubs do not yield.
        if (Date.now() - foreground.lastMs < FOREGROUND_WINDOW_MS) await ctx.throttle(bytes * (FOREGROUND_SHARE - 1));
      }
      // Under the extent's lock: a repair moving its fragments cannot pass us mid-read.
      const c = await engine.exclusiveOnExtent(id, () => checkExtent(engine, id, disks));
      if (repair && !c.inline && c.findings.some((f) => REPAIRABLE.has(f.code))) await repairFound(engine, c, ctx);
      pending.push(c);
      if (c.fragments > 0 || c.findings.length > 0 || pending.length >= INLINE_BATCH) commit();
    }
    commit();
  }
  commit();
  p.extentsTotal = p.extentsDone;
  p.bytesTotal = p.bytesDone;
  ctx.checkpoint();
}

/** Extents and bytes still to scrub after the cursor (ids only are cheap; lengths need the records). */
async function sizeUp(engine: Engine, p: ScrubProgress): Promise<void> {
  let extents = 0;
  let bytes = 0;
  let after = Buffer.from(p.cursor, 'hex');
  for (;;) {
    const ids = engine.meta.extentIdsAfter(after, 500);
    if (ids.length === 0) break;
    after = Buffer.from(ids[ids.length - 1]!);
    for (const id of ids) {
      const e = recordOrUndefined(engine, id);
      extents++;
      if (e) bytes += physicalBytes(e);
    }
    // Let the mount's requests through between batches: this runs on the main thread.
    await new Promise((resolve) => setImmediate(resolve));
  }
  p.extentsTotal = p.extentsDone + extents;
  p.bytesTotal = p.bytesDone + bytes;
}

const activity = new WeakMap<Engine, { lastMs: number }>();

/**
 * When the pool's stores last served a fragment read or write. The scrub's own reads go
 * through its worker, not the stores, so this is everyone else: the mount, gets and puts,
 * repairs. Installed once per engine, as a decorator around every store.
 */
export function foregroundActivity(engine: Engine): { lastMs: number } {
  let meter = activity.get(engine);
  if (!meter) {
    const m = { lastMs: 0 };
    meter = m;
    activity.set(engine, m);
    engine.pool.decorateStores((store) => new Proxy(store, {
      get(target, prop) {
        const v: unknown = Reflect.get(target, prop, target);
        if (typeof v !== 'function') return v;
        if (prop !== 'read' && prop !== 'write') return (v as (...a: unknown[]) => unknown).bind(target);
        return (...args: unknown[]) => {
          m.lastMs = Date.now();
          return ((v as (...a: unknown[]) => Promise<unknown>).apply(target, args)).finally(() => { m.lastMs = Date.now(); });
        };
      },
    }));
  }
  return meter;
}

/** The extent's record, or undefined when it is gone or corrupt (checkExtent reports a corrupt one). */
function recordOrUndefined(engine: Engine, id: Buffer): Extent | undefined {
  try {
    return engine.meta.getExtent(id);
  } catch {
    return undefined;
  }
}

/** Bytes a scrub reads for the extent: every fragment's payload (none for inline). */
export function physicalBytes(e: Extent): number {
  if (e.scheme === 'inline') return 0;
  return e.fragments.length * payloadLength(e);
}

function payloadLength(e: Extent): number {
  return e.scheme === 'mirror' ? e.length : e.fragLen;
}

async function checkExtent(engine: Engine, id: Buffer, disks: Map<number, DiskRow>): Promise<Checked> {
  const hex = id.toString('hex');
  let e: Extent | undefined;
  try {
    e = engine.meta.getExtent(id);
  } catch (err) {
    if ((err as DfsError).code !== 'EMETACORRUPT') throw err;
    return { id, bytes: 0, fragments: 0, inline: false, present: true,
      findings: [{ path: '<unknown: the extent record is corrupt>', inode: 0, extent: hex, offset: -1, index: null, diskId: null, code: 'EMETACORRUPT', repaired: false, repairedOnto: null, repair: null }] };
  }
  if (!e) return { id, bytes: 0, fragments: 0, inline: false, present: false, findings: [] };
  const finding = (index: number | null, diskId: number | null, code: string): FragmentFinding =>
    ({ path: engine.meta.pathOf(e!.ino), inode: e!.ino, extent: hex, offset: e!.offset, index, diskId, code, repaired: false, repairedOnto: null, repair: null });

  if (e.scheme === 'inline') {
    // getExtent verified the record (its checksum covers the bytes); check them against the logical hash too.
    const ok = blake3(e.inlineData ?? Buffer.alloc(0)).equals(e.logicalHash);
    return { id, bytes: 0, fragments: 0, inline: true, present: true, findings: ok ? [] : [finding(null, null, 'EDIGEST')] };
  }

  const findings: FragmentFinding[] = [];
  const n = e.k + e.m;
  for (let i = 0; i < n; i++) if (!e.fragments.some((f) => f.index === i)) findings.push(finding(i, null, 'EMISSINGFRAG'));
  const seenDisks = new Set<number>();
  const toRead: { index: number; diskId: number; check: FragmentCheck }[] = [];
  const len = payloadLength(e);
  for (const f of e.fragments) {
    const d = disks.get(f.diskId);
    if (!d) {
      findings.push(finding(f.index, f.diskId, 'EUNKNOWNDISK'));
      continue;
    }
    if (seenDisks.has(f.diskId)) findings.push(finding(f.index, f.diskId, 'EPLACEMENT'));
    seenDisks.add(f.diskId);
    if (d.state === 'failed') {
      findings.push(finding(f.index, f.diskId, 'EDISKFAILED'));
      continue;
    }
    if (!engine.pool.store(f.diskId).present()) {
      findings.push(finding(f.index, f.diskId, 'ENODEV'));
      continue;
    }
    toRead.push({ index: f.index, diskId: f.diskId,
      check: { file: path.join(d.path, fragRelativePath(e.id, f.index)), hash: f.hash, extentId: e.id, index: f.index, length: len } });
  }

  const bytes = toRead.length * len;
  const verdicts: CheckResult[] = toRead.length ? await engine.work.scrub(toRead.map((r) => r.check)) : [];
  const bad = toRead.filter((_, i) => !verdicts[i]!.ok);
  if (bad.length > 0) {
    // A file rewritten or removed while we read has lost its fragments legitimately.
    const now = engine.meta.getExtent(id);
    if (!now) return { id, bytes, fragments: toRead.length, inline: false, present: false, findings: [] };
  }
  toRead.forEach((r, i) => {
    const v = verdicts[i]!;
    if (v.ok) return;
    // A disk that vanished while we read is missing, not failing reads.
    const code = v.code === 'ENOENT' && !engine.pool.store(r.diskId).present() ? 'ENODEV' : v.code;
    findings.push(finding(r.index, r.diskId, code));
  });
  findings.sort((a, b) => (a.index ?? -1) - (b.index ?? -1));
  return { id, bytes, fragments: toRead.length, inline: false, present: true, findings };
}

/** Repair an extent the check found damaged; marks the findings repair fixed. */
async function repairFound(engine: Engine, c: Checked, ctx: JobContext): Promise<void> {
  const outcome = await repairExtent(engine, c.id, { throttle: ctx.throttle });
  if (outcome.kind === 'repaired' || outcome.kind === 'healthy') {
    const to = new Map(outcome.kind === 'repaired' ? outcome.targets.map((t) => [t.index, t]) : []);
    for (const f of c.findings) {
      if (!REPAIRABLE.has(f.code)) continue;
      f.repaired = true;
      const t = f.index === null ? undefined : to.get(f.index);
      f.repairedOnto = t?.to ?? null;
      f.repair = t?.why ?? null;
    }
  } else if (outcome.kind === 'gone') {
    c.present = false; // the file was rewritten or removed meanwhile: nothing left to report
    c.findings = [];
  }
}

/** Fold one checked extent into the progress and the pool's records, inside the cursor's transaction. */
function record(engine: Engine, tx: Txn, p: ScrubProgress, c: Checked, dry: boolean, repair: boolean, counted: number[]): void {
  p.extentsDone++;
  p.bytesDone += c.bytes;
  if (!c.present) return;
  const m = engine.metrics;
  m.scrubExtents.inc();
  m.scrubBytes.inc(c.bytes);
  for (const f of c.findings) m.scrubIssues.inc({ code: f.code });
  if (c.findings.length > 0 && c.findings.every((f) => f.repaired)) m.scrubRepairs.inc();
  p.fragmentsChecked += c.fragments;
  if (c.inline && c.findings.length === 0) p.inlineChecked++;
  const remaining = c.findings.filter((f) => !f.repaired);
  if (c.findings.length === 0) {
    if (!dry) tx.markVerified(c.id);
    return;
  }
  p.extentsDamaged++;
  p.fragmentsBad += c.findings.length;
  if (remaining.length === 0) p.extentsRepaired++;
  else p.extentsUnrepaired++;
  // Damage still there: the extent does not count as verified, whenever it last was.
  if (!dry && remaining.length > 0) tx.clearVerified(c.id);
  for (const f of c.findings) {
    if (p.files.length < MAX_LISTED) p.files.push(f);
    else p.filesOmitted++;
    if (f.diskId === null) continue;
    let d = p.perDisk.find((x) => x.diskId === f.diskId);
    if (!d) {
      d = { diskId: f.diskId, path: diskPath(engine, f.diskId), counts: {}, total: 0 };
      p.perDisk.push(d);
      p.perDisk.sort((a, b) => a.diskId - b.diskId);
    }
    d.counts[f.code] = (d.counts[f.code] ?? 0) + 1;
    d.total++;
  }
  if (dry) return;
  // repairExtent counted the read failures it met itself; count here only when it did not run.
  if (!repair) {
    for (const f of c.findings) {
      if (f.diskId === null || NOT_THE_DISKS_FAULT.has(f.code)) continue;
      tx.countDiskErrors(f.diskId, f.code === 'EDIGEST' || f.code === 'EFORMAT' ? 'checksum' : 'read');
      counted.push(f.diskId);
    }
  }
  if (!c.inline && remaining.some((f) => REPAIRABLE.has(f.code))) {
    tx.queueRepair(c.id, `scrub: ${remaining.map((f) => `fragment ${f.index ?? '-'} on disk ${f.diskId ?? '-'}: ${f.code}`).join('; ')}`);
  }
}

function diskPath(engine: Engine, diskId: number): string {
  return engine.pool.disk(diskId)?.path ?? `<disk ${diskId}, not in the pool>`;
}

// ---- coverage ----

/** Coverage is measured over this period whatever the schedule (nightly: one pass a day is the promise). */
export const COVERAGE_PERIOD_MS = 24 * 3600 * 1000;

export interface ScrubCoverage {
  periodSeconds: number;
  extents: number;
  /** Extents whose every fragment was verified (by a scrub, or written) within the period. */
  verifiedWithinPeriod: number;
  /** verifiedWithinPeriod / extents (1 for an empty pool). */
  fraction: number;
  /** When the least recently verified extent was verified; null when none is. */
  oldestVerifiedMs: number | null;
  /** Extents with no verification: found damaged and neither repaired nor scrubbed clean since. */
  unverified: number;
}

export function scrubCoverage(engine: Engine, nowMs = Date.now(), periodMs = COVERAGE_PERIOD_MS): ScrubCoverage {
  const v = engine.meta.verification(nowMs - periodMs);
  return {
    periodSeconds: Math.round(periodMs / 1000),
    extents: v.total,
    verifiedWithinPeriod: v.verifiedSince,
    fraction: v.total === 0 ? 1 : v.verifiedSince / v.total,
    oldestVerifiedMs: v.oldestMs,
    unverified: v.neverVerified,
  };
}

// ---- reports ----

/** A scrub job as operators see it: what was checked, what was found, what was fixed. */
export interface ScrubReport {
  job: number;
  state: JobRow['state'];
  error: string | null;
  background: boolean;
  repair: boolean;
  dryRun: boolean;
  intensity: IntensitySetting | null;
  /** The job's I/O rate limit (0 = unlimited). */
  rateLimitBytesPerSec: number;
  startedMs: number;
  finishedMs: number | null;
  extents: { total: number; checked: number; inline: number; damaged: number; repaired: number; unrepaired: number };
  fragments: { checked: number; bad: number };
  bytesRead: number;
  /** Damage the scrub left in place (0 once everything found was repaired). */
  remaining: number;
  perDisk: DiskFindings[];
  files: FragmentFinding[];
  filesOmitted: number;
  resumes: ScrubProgress['resumes'];
}

export function scrubReport(job: JobRow): ScrubReport {
  const p = initProgress({ extentsDone: 0, extentsTotal: 0, bytesDone: 0, bytesTotal: 0, ...job.progress } as JobProgress);
  const params = job.params as ScrubParams;
  return {
    job: job.id,
    state: job.state,
    error: job.error,
    background: !!params.background,
    repair: !!params.repair,
    dryRun: !!params.dryRun,
    intensity: params.intensity ?? null,
    rateLimitBytesPerSec: Number(params.rateBytesPerSec ?? 0),
    startedMs: job.createdMs,
    finishedMs: job.finishedMs,
    extents: { total: p.extentsTotal, checked: p.extentsDone, inline: p.inlineChecked, damaged: p.extentsDamaged,
      repaired: p.extentsRepaired, unrepaired: p.extentsUnrepaired },
    fragments: { checked: p.fragmentsChecked, bad: p.fragmentsBad },
    bytesRead: p.bytesDone,
    remaining: p.extentsUnrepaired,
    perDisk: p.perDisk,
    files: p.files,
    filesOmitted: p.filesOmitted,
    resumes: p.resumes,
  };
}

/** A report without its lists: what `status` shows of a scrub. */
export type ScrubSummary = Omit<ScrubReport, 'files' | 'perDisk' | 'resumes'>;

export function summarize(r: ScrubReport): ScrubSummary {
  const { files: _f, perDisk: _d, resumes: _r, ...rest } = r;
  return rest;
}

/** The most recent scrub job that ended (done, failed or cancelled), if any. */
export function lastEndedScrub(engine: Engine): JobRow | undefined {
  const ended = engine.meta.jobs().filter((j) => j.kind === 'scrub' && j.finishedMs !== null);
  return ended.sort((a, b) => b.finishedMs! - a.finishedMs! || b.id - a.id)[0];
}
