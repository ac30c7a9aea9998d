/**
 * One disk's metadata copy as MetaCopies (meta-copies.ts) tracks it, and as `status` shows it.
 */
import { readLabel } from './label';

export interface Copy {
  id: number;
  root: string;
  uuid: string;
  /** The log file appends go to (undefined: none, the copy is stale). */
  log: string | undefined;
  /** The generation the next record must carry; undefined: the copy is stale (missing, behind, failed). */
  next: number | undefined;
  /** The newest generation written to the disk, -1 while stale. */
  upTo: number;
  /** The first generation written since the log's last fdatasync (undefined: all of them are durable). */
  unsyncedFrom: number | undefined;
  /** What the area held when last read, for status (a stale copy's generation). */
  seen: number | null;
  logBytes: number;
  /** Bytes of the open log file (its records, then zeros written ahead: meta-area.ts appendAsync). */
  allocated: number;
  logRecords: number;
  checkpointGeneration: number | null;
  checkpointMs: number | null;
  /** Bumped at each switch of its head: a background checkpoint begun before another landed drops its work. */
  serial: number;
  /** Bumped when the copy goes stale or gets a new checkpoint: queued appends of the old log drop out. */
  epoch: number;
  chain: Promise<void>;
  lastError: string | null;
}

/** One disk's metadata copy, as `status` shows it. */
export interface CopyStatus {
  diskId: number;
  path: string;
  state: 'current' | 'stale';
  generation: number | null;
  checkpointGeneration: number | null;
  checkpointAgeSeconds: number | null;
  logBytes: number;
  error: string | null;
}

/** What `status` shows of a copy. */
export function copyStatus(c: Copy, nowMs: number): CopyStatus {
  return {
    diskId: c.id, path: c.root, state: c.next === undefined ? 'stale' : 'current',
    generation: c.next === undefined ? c.seen : c.upTo, checkpointGeneration: c.checkpointGeneration,
    checkpointAgeSeconds: c.checkpointMs === null ? null : Math.max(0, Math.round((nowMs - c.checkpointMs) / 1000)),
    logBytes: c.logBytes, error: c.lastError,
  };
}

export /** The disk is there, labelled as this disk. */
function present(c: Pick<Copy, 'root' | 'uuid'>): boolean {
  try {
    return readLabel(c.root)?.diskUuid === c.uuid;
  } catch {
    return false;
  }
}
