/**
 * `user.dynamicfs.tier` on directories and files (pool/tier-policy.ts): a stored extended
 * attribute, checked and written in its canonical form when set, copied from a directory
 * to every file and directory created in it (by the mount, put and mkdir), so that, like
 * `user.dynamicfs.policy`, a directory's policy is its new files' and a file's is its
 * future writes'. The write paths ask writePolicy for the redundancy and the tier at once.
 */
import type { Engine } from '../engine/engine';
import type { Inode } from '../meta/records';
import type { MetaStore, Txn } from '../meta/store';
import { parsePolicy, type Policy } from '../pool/policy';
import { DfsError } from '../errors';
import { formatTierPolicy, TIER_XATTR, tierOf, type TierPolicy } from '../pool/tier-policy';
import { resolve } from './paths';

export { tierOf };

/** Inside `tx`: give a new inode its directory's tier policy, if the directory has one. */
export function inheritTier(tx: Txn, store: Pick<MetaStore, 'getXattr'>, parentIno: number, childIno: number): void {
  const v = store.getXattr(parentIno, TIER_XATTR);
  if (v) tx.setXattr(childIno, TIER_XATTR, v);
}

/** How the inode's new extents are written: its redundancy (own or the pool's) and its wanted tier (own, or none: the pool's). */
export function writePolicy(engine: Pick<Engine, 'meta' | 'pool'>, inode: Pick<Inode, 'ino' | 'policy'>): Policy {
  const p = inode.policy ? parsePolicy(inode.policy) : engine.pool.policy;
  const tier = tierOf(engine.meta, inode.ino);
  return tier ? { ...p, tier } : p;
}

/** Give the directory or file at `path` the tier policy `p` (as setting user.dynamicfs.tier through the mount would); returns its canonical text. */
export function setTierPolicy(engine: Pick<Engine, 'meta'>, path: string, p: TierPolicy): string {
  const i = resolve(engine.meta, path);
  if (i.kind !== 'dir' && i.kind !== 'file') throw new DfsError('EINVAL', `${path} is a ${i.kind}: a tier policy goes on a directory or a file`, path);
  const text = formatTierPolicy(p);
  engine.meta.transact((tx) => tx.setXattr(i.ino, TIER_XATTR, Buffer.from(text)));
  return text;
}
