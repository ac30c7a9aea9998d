/**
 * What a scrub found and how operators see it: the findings (per fragment, per disk),
 * the job's progress record that carries them, the report built from a job row, and
 * the pool's verification coverage.
 */
import type { JobRow } from '../meta/records';
import type { MetaStore } from '../meta/store';
import type { JobProgress } from './jobs';
import type { IntensitySetting, ScrubParams } from './scrub-params';

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

export function scrubCoverage(engine: { meta: MetaStore }, nowMs = Date.now(), periodMs = COVERAGE_PERIOD_MS): ScrubCoverage {
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

/** A scrub job as operators see it: what was checked, what was found, what was fixed. */
export interface ScrubReport {
  job: number;
  /** The admin request that started the scrub (null: the background scrub, or a job from before request ids). */
  reqId: string | null;
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
    reqId: typeof job.params.reqId === 'string' ? job.params.reqId : null,
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
export function lastEndedScrub(engine: { meta: MetaStore }): JobRow | undefined {
  const ended = engine.meta.jobs().filter((j) => j.kind === 'scrub' && j.finishedMs !== null);
  return ended.sort((a, b) => b.finishedMs! - a.finishedMs! || b.id - a.id)[0];
}
