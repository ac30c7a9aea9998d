/**
 * Errors from several fragments reduced to one verdict (MinIO's reduceErrs): the code is
 * the one most fragments failed with (ties go to the first seen), and every cause —
 * which fragment, which disk, which code — travels in the error's details, so `--json`
 * shows them all rather than whichever failure happened to come first.
 */
import { DfsError, isErrorCode } from '../errors';

export interface FragmentCause {
  index: number;
  /** null: no disk was involved (no disk was left to try). */
  diskId: number | null;
  code: string;
  message?: string;
}

/** The most frequent code among `causes` (undefined when there are none). */
export function dominantCode(causes: readonly FragmentCause[]): string | undefined {
  const counts = new Map<string, number>();
  for (const c of causes) counts.set(c.code, (counts.get(c.code) ?? 0) + 1);
  let best: string | undefined;
  for (const [code, n] of counts) if (best === undefined || n > counts.get(best)!) best = code;
  return best;
}

/** "fragment 2 on disk 3: EIO; fragment 5 on disk 1: ENOSPC" (the first eight). */
export function describeCauses(causes: readonly FragmentCause[]): string {
  const shown = causes.slice(0, 8).map((c) => `fragment ${c.index}${c.diskId === null ? '' : ` on disk ${c.diskId}`}: ${c.code}`).join('; ');
  return causes.length > 8 ? `${shown}; and ${causes.length - 8} more` : shown;
}

/** One DfsError for a quorum that was not met, carrying every cause. */
export function quorumError(code: string, message: string, causes: readonly FragmentCause[], details: Record<string, unknown> = {}): DfsError {
  // A code the disks gave that is not in the list (an unlisted errno) reads EIO.
  return new DfsError(isErrorCode(code) ? code : 'EIO', causes.length ? `${message} (${describeCauses(causes)})` : message, undefined,
    { ...details, causes: causes.map((c) => ({ index: c.index, disk: c.diskId, code: c.code, ...(c.message ? { message: c.message } : {}) })) });
}
