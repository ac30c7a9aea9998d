/**
 * What `check` (the pool's fsck) reports: one record per problem, with the objects it
 * involves and whether --repair fixed it. The namespace part lives in fs/, the extent and
 * fragment parts here; all of them speak this one shape, so the report and its JSON are
 * the same whatever found the problem.
 */
import { DfsError } from '../errors';
import type { MetaStore } from '../meta/store';
import type { CopyFault } from '../pool/meta-check';

export type CheckKind =
  // namespace (fs/check-namespace.ts)
  | 'inode-corrupt' | 'dirent-corrupt' | 'wrong-nlink' | 'orphan-inode' | 'dangling-dirent' | 'dir-two-parents' | 'parent-not-dir'
  // extent records (check-extents.ts)
  | 'extent-corrupt' | 'extent-without-inode' | 'extent-owner-not-file' | 'size-short' | 'pack-missing' | 'unused-pack'
  // a row of any other checksummed table (check-records.ts)
  | 'record-corrupt'
  // fragments against the disks (check-fragments.ts)
  | 'missing-fragment' | 'unreferenced-fragment'
  // each disk's copy of the metadata (check-meta-copies.ts)
  | CopyFault;

export interface CheckProblem {
  kind: CheckKind;
  /** What is wrong, for people. */
  message: string;
  /** A path naming the inode involved, where one does. */
  path: string | null;
  inode: number | null;
  /** Extent (or pack) id, hex. */
  extent: string | null;
  disk: number | null;
  /** Fragment index. */
  index: number | null;
  /** A directory entry involved: its parent directory's inode and its name. */
  parent: number | null;
  name: string | null;
  /** Link counts: what the inode says, and the number the namespace gives it. */
  nlink: number | null;
  counted: number | null;
  /** A metadata row (record-corrupt): its table and its key spelled out (`ino 5, name "user.a"`). */
  table: string | null;
  key: string | null;
  /** Whether --repair fixed it. */
  repaired: boolean;
  /** What --repair did, or why it did not (null when repair was not asked for). */
  repair: string | null;
}

/** A path naming the inode, or null when no entry reaches it (pathOf's `<inode N, unlinked>`) or one on the way fails its checksum. */
export function pathOrNull(meta: Pick<MetaStore, 'pathOf'>, ino: number): string | null {
  let p: string;
  try {
    p = meta.pathOf(ino);
  } catch (err) {
    if (err instanceof DfsError && err.code === 'EMETACORRUPT') return null;
    throw err;
  }
  return p.startsWith('<') ? null : p;
}

/** A problem with every object field null but those given; not repaired. */
export function problem(kind: CheckKind, message: string, fields: Partial<Omit<CheckProblem, 'kind' | 'message'>> = {}): CheckProblem {
  return { kind, message, path: null, inode: null, extent: null, disk: null, index: null, parent: null, name: null, nlink: null,
    counted: null, table: null, key: null, repaired: false, repair: null, ...fields };
}

/** Record the outcome of a repair on the problem. */
export function settle(p: CheckProblem, repaired: boolean, what: string): void {
  p.repaired = repaired;
  p.repair = what;
}
