/**
 * One error class for the whole system, with a stable string code. The same code
 * appears in `--json` output, in RPC replies and (mapped to an errno) at the mount.
 * Messages name the thing that failed and, where there is one, the fix.
 */

/**
 * Every code DynamicFS reports; the union is closed so a typo fails to compile.
 * The README's "Error codes" table lists the same codes (a unit test keeps them in step).
 */
export const ErrorCodes = [
  // from the addon (native/src/kernels/status.cc errno_name) and the OS
  'EINVAL', 'ENOENT', 'EEXIST', 'EIO', 'ENOSPC', 'EROFS', 'EACCES', 'EPERM', 'ENOTDIR',
  'EISDIR', 'ENOTEMPTY', 'EMFILE', 'ENFILE', 'EBADF', 'EAGAIN', 'EXDEV', 'EFBIG', 'EDQUOT',
  'ENAMETOOLONG', 'ELOOP', 'ENODEV', 'ENXIO', 'ESTALE', 'ENOMEM', 'EINTR',
  'EDIGEST', 'EFORMAT', 'ETOOMANYLOST', 'EUNKNOWN',
  // extended attributes at the mount
  'ENODATA', 'ENOTSUP', 'E2BIG',
  // engine and CLI
  'ENOTPOOL', 'EPOOLEXISTS', 'EPOOLBUSY', 'EDISKINUSE', 'ENOTWRITABLE', 'ENODISKS',
  'EMETACORRUPT', 'EMETACOPIES', 'EUNRECOVERABLE', 'EUSAGE', 'EINTERNAL',
  // coordinator, admin socket and mounts
  'EBUSY', 'ETIMEDOUT', 'EPROTO', 'ECOORDINATOR', 'EPOOLSERVED', 'ENOTMOUNTED',
  'ENOCOORDINATOR', 'EADDRINUSE', 'EADDRNOTAVAIL',
  // disks, jobs and scrub
  'ENODISK', 'EFINDINGS', 'EJOBFAILED', 'ECANCELED', 'EINTERRUPTED',
  // check (fsck)
  'ECHECK',
  // backup repositories
  'ENOTREPO',
] as const;

export type ErrorCode = (typeof ErrorCodes)[number];

const listed: ReadonlySet<string> = new Set(ErrorCodes);

export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && listed.has(code);
}

/** Answers a lookup gives all day (a name not there yet, one there already): no stack trace to capture for them. */
const MISSES: ReadonlySet<string> = new Set(['ENOENT', 'EEXIST']);

export class DfsError extends Error {
  override readonly name = 'DfsError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly path?: string,
    readonly details?: Record<string, unknown>,
  ) {
    // A mount looks up every name before it creates it: tar makes one of these per file, and the stack cost more than the lookup.
    const limit = Error.stackTraceLimit;
    if (MISSES.has(code)) Error.stackTraceLimit = 0;
    super(message);
    Error.stackTraceLimit = limit;
  }

  toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, ...(this.path ? { path: this.path } : {}), ...(this.details ?? {}) };
  }
}

/**
 * A DfsError for a code from outside (a Node system error, the addon, a worker reply).
 * A code nobody listed (ECONNRESET, EPIPE, ...) becomes EIO, the generic I/O failure
 * users and the mount already understand; the original stays in details.osCode.
 */
export function fromOsCode(code: string | undefined, message: string, path?: string): DfsError {
  if (code === undefined || isErrorCode(code)) return new DfsError(code ?? 'EIO', message, path);
  return new DfsError('EIO', message, path, { osCode: code });
}

/** Turns anything thrown (a native Error with `code`, a Node fs error, a DfsError) into a DfsError. */
export function toDfsError(err: unknown): DfsError {
  if (err instanceof DfsError) return err;
  if (err instanceof Error) {
    const e = err as Error & { code?: unknown; path?: unknown };
    const path = typeof e.path === 'string' ? e.path : undefined;
    if (typeof e.code !== 'string') return new DfsError('EINTERNAL', e.message, path);
    return fromOsCode(e.code, e.message, path);
  }
  return new DfsError('EINTERNAL', String(err));
}
