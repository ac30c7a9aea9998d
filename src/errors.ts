/**
 * One error class for the whole system, with a stable string code. The same code
 * appears in `--json` output, in RPC replies and (mapped to an errno) at the mount.
 * Messages name the thing that failed and, where there is one, the fix.
 */

/** Every code DynamicFS reports. Native codes (errno names, EDIGEST, EFORMAT) pass through. */
export const ErrorCodes = [
  // from the addon and the OS
  'EINVAL', 'ENOENT', 'EEXIST', 'EIO', 'ENOSPC', 'EROFS', 'EACCES', 'EPERM', 'ENOTDIR',
  'EISDIR', 'ENOTEMPTY', 'EDIGEST', 'EFORMAT', 'ETOOMANYLOST', 'EUNKNOWN',
  // engine and CLI
  'ENOTPOOL', 'EPOOLEXISTS', 'EPOOLBUSY', 'EDISKINUSE', 'ENOTWRITABLE', 'ENODISKS',
  'EMETACORRUPT', 'EUNRECOVERABLE', 'EUSAGE', 'EINTERNAL',
  // coordinator, admin socket and mounts
  'EBUSY', 'ETIMEDOUT', 'EPROTO', 'ECOORDINATOR', 'EPOOLSERVED', 'ENOTMOUNTED',
  'ENOCOORDINATOR', 'EADDRINUSE', 'EADDRNOTAVAIL',
  // disks, jobs and scrub
  'ENODISK', 'EFINDINGS', 'EJOBFAILED', 'ECANCELED', 'EINTERRUPTED',
] as const;

export type ErrorCode = (typeof ErrorCodes)[number] | string;

export class DfsError extends Error {
  override readonly name = 'DfsError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly path?: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }

  toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, ...(this.path ? { path: this.path } : {}), ...(this.details ?? {}) };
  }
}

/** Turns anything thrown (a native Error with `code`, a Node fs error, a DfsError) into a DfsError. */
export function toDfsError(err: unknown): DfsError {
  if (err instanceof DfsError) return err;
  if (err instanceof Error) {
    const e = err as Error & { code?: unknown; path?: unknown };
    const code = typeof e.code === 'string' ? e.code : 'EINTERNAL';
    return new DfsError(code, e.message, typeof e.path === 'string' ? e.path : undefined);
  }
  return new DfsError('EINTERNAL', String(err));
}
