/**
 * What a receive job keeps in its row (params, progress: the cursor) and on its staging
 * root (an incremental's records), shared by receive.ts and receive-records.ts.
 */
import type { JobProgress } from '../engine/jobs';

/** The staging root's attributes holding an incremental's records, by record number (the body behind its type byte). */
export const PLAN_XATTR = 'dynamicfs.receive.';

export const planName = (record: number): string => `${PLAN_XATTR}${String(record).padStart(12, '0')}`;

export interface ReceiveParams {
  /** Where the stream is read from: an absolute file path, or '-' (the caller's stdin: only that caller can resume it). */
  input: string;
  /** The destination, canonical. */
  dest: string;
  /** The name the received snapshot gets here. */
  snapshot: string;
  /** The stream's header: its snapshot's name, guid and time; an incremental's base. */
  stream: string;
  guid: string;
  createdMs: number;
  from: string | null;
  fromName: string | null;
  /** This pool's snapshot holding the base (an incremental's). */
  base: string | null;
  /** Roll the destination back to the base first if it changed since. */
  force: boolean;
  /** The staging root (tree-apply.ts). */
  staging: number;
}

export interface ReceiveProgress extends JobProgress {
  /** The cursor: byte offset and number of the next record, and the key it is verified with (hex). */
  offset: number;
  record: number;
  key: string;
  entries: number;
  deletes: number;
  dataRecords: number;
  /** The entry whose data records were under way at the cursor: its record number, offset, key, and the inode taking its extents. */
  pending: { entry: number; offset: number; key: string; ino: number } | null;
  phase: 'receiving' | 'publishing' | 'done';
  /** Why a paused receive waits (its stream, files open in the mount). */
  waiting: string | null;
  /** A failed receive's error, with the record it names. */
  failure: Record<string, unknown> | null;
}

