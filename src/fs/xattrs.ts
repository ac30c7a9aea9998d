/**
 * Extended attributes at the mount: user.* only, stored per inode in the metadata
 * store, and `user.dynamicfs.policy`, which is no stored attribute but the inode's
 * redundancy policy (on a directory, of the files created under it; on a file, of its
 * future writes). `user.dynamicfs.tier` is stored as any user.* attribute, but only in
 * its checked, canonical form (tier-xattr.ts).
 */
import { DfsError } from '../errors';
import type { Engine } from '../engine/engine';
import type { Inode } from '../meta/records';
import { formatPolicy, parsePolicy, type Policy } from '../pool/policy';
import { formatTierPolicy, parseTierPolicy, TIER_XATTR } from '../pool/tier-policy';
import { inodeOf } from './paths';
import { writePolicy } from './tier-xattr';

const POLICY_XATTR = 'user.dynamicfs.policy';

/** setxattr(2) flags. */
const XATTR_CREATE = 1;
const XATTR_REPLACE = 2;

/** The largest value we store (the kernel's XATTR_SIZE_MAX). */
const XATTR_VALUE_MAX = 65536;

/** getxattr(2) of inode `i` at `path`: its policy attribute, or the stored value (`stored`); ENODATA when it has neither. */
export function xattrValue(i: Inode, name: string, stored: (ino: number, name: string) => Buffer | undefined, path: string): Buffer {
  const v = name === POLICY_XATTR ? (i.policy ? Buffer.from(i.policy) : undefined) : stored(i.ino, name);
  if (!v) throw new DfsError('ENODATA', `${path} has no ${name}`, path);
  return v;
}

/** listxattr(2) of inode `i`: the policy attribute when it has a policy of its own, then the stored names. */
export function xattrNames(i: Inode, stored: string[]): string[] {
  return [...(i.policy ? [POLICY_XATTR] : []), ...stored];
}

export class Xattrs {
  /** existing: the inode at a path (ENOENT otherwise), as the mount resolves it. */
  constructor(private readonly engine: Engine, private readonly existing: (path: string) => Inode) {}

  private get store() {
    return this.engine.meta;
  }

  /** The policy the inode's writes use: its own, or the pool's default; with its tier policy's tier. */
  policyOf(ino: number): Policy {
    return writePolicy(this.engine, inodeOf(this.store, ino));
  }

  get(path: string, name: string): Buffer {
    return xattrValue(this.existing(path), name, (ino, n) => this.store.getXattr(ino, n), path);
  }

  list(path: string): string[] {
    const i = this.existing(path);
    return xattrNames(i, this.store.listXattrs(i.ino));
  }

  /** setxattr(2); flags XATTR_CREATE (must not exist: EEXIST) or XATTR_REPLACE (must exist: ENODATA). */
  set(path: string, name: string, value: Buffer, flags = 0): void {
    if (!name.startsWith('user.')) throw new DfsError('ENOTSUP', `only user.* extended attributes are supported, not ${name}`, path);
    const i = this.existing(path);
    if (flags & (XATTR_CREATE | XATTR_REPLACE)) {
      const exists = name === POLICY_XATTR ? i.policy !== null : this.store.getXattr(i.ino, name) !== undefined;
      if (flags & XATTR_CREATE && exists) throw new DfsError('EEXIST', `${path} already has ${name}`, path);
      if (flags & XATTR_REPLACE && !exists) throw new DfsError('ENODATA', `${path} has no ${name} to replace`, path);
    }
    if (name === POLICY_XATTR) {
      const policy = formatPolicy(parsePolicy(value.toString('utf8').trim())); // EINVAL names the bad text
      this.engine.placement.check(parsePolicy(policy));
      this.store.transact((tx) => tx.putInode({ ...i, policy, ctimeMs: Date.now() }));
      return;
    }
    if (name === TIER_XATTR) value = Buffer.from(formatTierPolicy(parseTierPolicy(value.toString('utf8')))); // EINVAL names the bad text
    if (value.length > XATTR_VALUE_MAX) throw new DfsError('E2BIG', `extended attribute values are limited to 64 KiB`, path);
    this.store.transact((tx) => tx.setXattr(i.ino, name, value));
  }

  remove(path: string, name: string): void {
    const i = this.existing(path);
    if (name === POLICY_XATTR) {
      if (!i.policy) throw new DfsError('ENODATA', `${path} has no ${name}`, path);
      this.store.transact((tx) => tx.putInode({ ...i, policy: null, ctimeMs: Date.now() }));
      return;
    }
    const gone = this.store.transact((tx) => tx.removeXattr(i.ino, name));
    if (!gone) throw new DfsError('ENODATA', `${path} has no ${name}`, path);
  }
}
