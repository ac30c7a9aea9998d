/**
 * The mount options every DynamicFS mount (and the benchmark passthrough) uses, and the
 * fsname convention that lets /proc/mounts name the pool behind a mountpoint.
 */
import * as path from 'node:path';
import { DfsError } from '../errors';
import type { FuseOptions } from './fuse-types';

/** The FUSE subtype: /proc/mounts shows type `fuse.dynamicfs`. */
export const FUSE_SUBTYPE = 'dynamicfs';
/** A pool's fsname is this prefix followed by the absolute pool path. */
export const POOL_FSNAME_PREFIX = 'dynamicfs:';

export interface MountOptionsInput {
  /** The pool: fsname becomes `dynamicfs:<absolute pool path>`. Give this or `fsname`. */
  pool?: string;
  /** A literal fsname (the passthrough uses `passthrough:<dir>`). Give this or `pool`. */
  fsname?: string;
  readOnly?: boolean;
  /** Let users other than the mounting one in (needs user_allow_other for non-root). */
  allowOther?: boolean;
  /** Honour set-user-ID and set-group-ID bits of programs run from the mount (default: nosuid). */
  suid?: boolean;
  /** Let device files in the mount be opened as devices (default: nodev). */
  dev?: boolean;
  /** More raw options (e.g. `kernel_cache`), one per entry. */
  extraOptions?: string[];
  /** Per-operation timeout in ms, or false; fuse-native's default is 15000. */
  timeout?: number | false;
  debug?: boolean;
}

/**
 * The options for `new Fuse(mnt, ops, options)` that every DynamicFS mount (and the
 * benchmark passthrough) uses: big_writes (128 KiB write callbacks), default_permissions
 * (the kernel checks getattr's mode/uid/gid), fsname and subtype=dynamicfs (so
 * /proc/mounts names the pool), nosuid and nodev unless asked otherwise (a pool's files
 * may come from anyone: a mount by root must not make them setuid programs or devices,
 * as a user's mount never does), `ro` when read-only, allow_other when asked.
 */
export function fuseMountOptions(input: MountOptionsInput): FuseOptions {
  if ((input.pool === undefined) === (input.fsname === undefined)) {
    throw new DfsError('EINVAL', 'fuseMountOptions needs exactly one of pool or fsname');
  }
  const fsname = input.pool !== undefined ? POOL_FSNAME_PREFIX + path.resolve(input.pool) : input.fsname!;
  if (/[\n\0]/.test(fsname)) throw new DfsError('EINVAL', `fsname ${JSON.stringify(fsname)} has a newline or NUL`);
  const extra = ['big_writes'];
  // libfuse mounts nosuid,nodev unless told suid / dev; said explicitly either way.
  extra.push(input.suid ? 'suid' : 'nosuid', input.dev ? 'dev' : 'nodev');
  if (input.readOnly) extra.push('ro');
  extra.push(...(input.extraOptions ?? []));
  const opts: FuseOptions = {
    // libfuse's option parser takes backslash escapes, so a comma in a path survives.
    fsname: fsname.replace(/[\\,]/g, (c) => '\\' + c),
    subtype: FUSE_SUBTYPE,
    defaultPermissions: true,
    extraOptions: extra,
  };
  if (input.allowOther) opts.allowOther = true;
  if (input.debug) opts.debug = true;
  if (input.timeout !== undefined) opts.timeout = input.timeout;
  return opts;
}

/**
 * Why --allow-other cannot be had, or undefined when it can: root may always; anyone else
 * only when /etc/fuse.conf (its text, undefined when missing) has user_allow_other, or
 * fusermount refuses the mount with a less helpful message. The same refusal whether the
 * flag or the pool's mount.allowOther setting asked (`bySetting`: it says how to undo that).
 */
export function allowOtherRefusal(euid: number, fuseConf: string | undefined, bySetting = false): string | undefined {
  if (euid === 0) return undefined;
  const allowed = (fuseConf ?? '').split('\n').some((l) => l.replace(/#.*/, '').trim() === 'user_allow_other');
  if (allowed) return undefined;
  return `--allow-other: only root may let other users into a FUSE mount unless /etc/fuse.conf has a line user_allow_other `
    + `(${fuseConf === undefined ? 'there is no /etc/fuse.conf' : 'it has none'}); add that line as root, or mount without --allow-other`
    + (bySetting ? ' (the pool\'s setting mount.allowOther=true asks for it: mount with --no-allow-other, or dynamicfs config POOL --set mount.allowOther=false)' : '');
}
