/** DfsError codes → the negative errno fuse-native hands to the kernel. */
import { constants } from 'node:os';
import { toDfsError } from '../errors';

const E = constants.errno as Record<string, number>;

/** Engine-level codes that have no errno of their own. */
const ALIASES: Record<string, string> = {
  ENODISKS: 'ENOSPC',
  EUNRECOVERABLE: 'EIO',
  EDIGEST: 'EIO',
  EFORMAT: 'EIO',
  EMETACORRUPT: 'EIO',
  ETOOMANYLOST: 'EIO',
  ENOTWRITABLE: 'EROFS',
  ENODATA: 'ENODATA',
  ENOTSUP: 'EOPNOTSUPP',
};

/** The negative errno for anything thrown (EIO when the code is unknown). */
export function errnoOf(err: unknown): number {
  const code = toDfsError(err).code;
  const n = E[ALIASES[code] ?? code] ?? E.EIO!;
  return -n;
}
