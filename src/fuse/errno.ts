/**
 * The one map from errors to the errnos fuse-native hands to the kernel, and back to
 * names for logs and metrics.
 */
import { constants } from 'node:os';
import { toDfsError } from '../errors';

const E = constants.errno as Record<string, number>;

/** Codes of ours with no errno of their own. */
const ALIASES: Record<string, string> = {
  ENODISKS: 'ENOSPC',
  EUNRECOVERABLE: 'EIO',
  EDIGEST: 'EIO',
  EFORMAT: 'EIO',
  EMETACORRUPT: 'EIO',
  EMETACOPIES: 'EIO',
  ETOOMANYLOST: 'EIO',
  ENOTWRITABLE: 'EROFS',
  ENOTSUP: 'EOPNOTSUPP',
};

/**
 * The negative errno for anything thrown or passed to a callback: its DfsError code
 * (a Node or addon error's code through toDfsError) mapped to the errno of that name,
 * or EIO when there is none.
 */
export function fuseErrno(err: unknown): number {
  const code = toDfsError(err).code;
  return -(E[ALIASES[code] ?? code] ?? E.EIO!);
}

const NAMES = new Map<number, string>(Object.entries(E).map(([name, n]) => [n, name]));

/** The name of a (positive) errno, for logs and metric labels. */
export function errnoName(errno: number): string {
  return NAMES.get(errno) ?? `E${errno}`;
}
