/**
 * A tree built into a pool from self-contained entries (tree-entries.ts), unseen until one
 * transaction makes it visible: what `receive` and a backup's restore into a pool do.
 *
 * The tree grows under a *staging root*: a directory inode that no directory entry names,
 * so no path, walk, snapshot tree, mount or `ls` reaches it, while its rows are ordinary
 * ones: gc keeps its extents, a coordinator's recovery keeps it (it drops nlink-0 inodes
 * only), and it survives a crash as whatever its committed transactions made. The job
 * that builds a tree records its root as `params.staging` (an unfinished job's root is no
 * orphan to `check`: stagingRoots below), applies entries and extents a batch per
 * transaction with its cursor, then either publishes the tree at its destination in one
 * transaction or discards it.
 *
 * Use, each step inside the caller's transaction unless it says otherwise:
 *   root = createStaging(tx)                  (record root in the job's params)
 *   applyEntry(tx, meta, root, entry)         (parents first; '' is the root itself)
 *   e = await writeEntryExtent(engine, ext, bytes, entryPolicy(engine, entry))   (no tx; verified)
 *   recordExtent(tx, ino, e); after the commit engine.releaseExtents([e.id])
 *   publishTree(tx, meta, root, dest)  or  discardTree(tx, meta, root) (delete the fragments it returns after the commit)
 * Entries keep their modes, owners, times (to the microsecond), symlink targets, device
 * numbers and xattrs exactly; a `link` entry is a hard link to an inode applied before.
 * Extents keep the entry's offsets and lengths (a receiver's extents match the sender's by
 * hash), written at the pool's redundancy with the entry's own tier policy, if any.
 */
import { DfsError } from '../errors';
import type { DroppedExtent, Engine } from '../engine/engine';
import { writeExtent } from '../engine/extent-writer';
import { allocEncodeBuffer } from '../engine/work-pools';
import { SPECIAL_KINDS, type Extent, type Inode, type InodeKind } from '../meta/records';
import { ROOT_INO, type MetaStore, type Txn } from '../meta/store';
import type { Policy } from '../pool/policy';
import { tierOf } from '../pool/tier-policy';
import { checkFreeName, dropInode, touchDir } from './dir-ops';
import { inodeOf, lookupPath, parsePath } from './paths';
import type { EntryExtent, TreeEntry } from './tree-entries';

const KINDS: readonly InodeKind[] = ['file', 'dir', 'symlink', ...SPECIAL_KINDS];

/** An extent as an entry names it: where, how long, and the BLAKE3 of its bytes. */
export type ExtentSpec = Pick<EntryExtent, 'offset' | 'length' | 'hash'>;

/** What applying needs of an entry: a TreeEntry, less what only its source knows (inode number, extent ids). */
export type EntryToApply = Omit<TreeEntry, 'ino' | 'extents'> & { extents: readonly ExtentSpec[] };

/** Inside `tx`: a new, empty staging root (owner root, mode 0700: nothing reaches it anyway); returns its inode number. */
export function createStaging(tx: Txn, now = Date.now()): number {
  const ino = tx.allocIno();
  tx.putInode({ ino, kind: 'dir', mode: 0o700, uid: 0, gid: 0, size: 0, nlink: 2, atimeMs: now, mtimeMs: now, ctimeMs: now,
    policy: null, target: null, rdev: 0 });
  return ino;
}

/** The staging roots of unfinished jobs (queued, running, paused): trees being built, not orphans. */
export function stagingRoots(meta: Pick<MetaStore, 'jobs'>): Set<number> {
  const out = new Set<number>();
  for (const j of meta.jobs()) {
    if (j.state === 'done' || j.state === 'failed' || j.state === 'cancelled') continue;
    if (typeof j.params.staging === 'number') out.add(j.params.staging);
  }
  return out;
}

/**
 * EINVAL naming what is wrong with `e` as an entry to apply: its kind, path, mode, owner,
 * times, target (a symlink's only), device number (device nodes' only), extents (a file's
 * only, in order, inside its size) and attributes (user.* only, as the mount stores them).
 */
export function checkEntry(e: EntryToApply): void {
  const bad = (what: string): never => { throw new DfsError('EINVAL', `entry ${JSON.stringify(e.path)}: ${what}`, e.path); };
  if (!KINDS.includes(e.kind)) bad(`unknown kind ${JSON.stringify(e.kind)}`);
  if (e.path !== '') parsePath(e.path);
  if (e.path.startsWith('/')) bad('a path relative to the tree\'s root has no leading "/"');
  const whole = (n: unknown, max: number): boolean => Number.isSafeInteger(n) && (n as number) >= 0 && (n as number) <= max;
  if (!whole(e.mode, 0o7777)) bad(`mode ${String(e.mode)} is not permission bits (0 to 07777)`);
  if (!whole(e.uid, 0xffffffff) || !whole(e.gid, 0xffffffff)) bad('owner and group must be 32-bit ids');
  if (!whole(e.size, Number.MAX_SAFE_INTEGER)) bad(`size ${String(e.size)} is not a byte count`);
  for (const t of [e.atimeMs, e.mtimeMs, e.ctimeMs]) if (typeof t !== 'number' || !Number.isFinite(t)) bad('times must be finite numbers (epoch ms)');
  if ((e.kind === 'symlink') !== (typeof e.target === 'string')) bad(e.kind === 'symlink' ? 'a symlink needs a target' : `a ${e.kind} has no target`);
  if (e.kind === 'symlink' && e.target!.length === 0) bad('a symlink\'s target is empty');
  if (!whole(e.rdev, Number.MAX_SAFE_INTEGER) || (e.rdev !== 0 && e.kind !== 'chardev' && e.kind !== 'blockdev')) bad('only a device node has a device number');
  if (e.link !== null) {
    if (e.kind === 'dir' || e.path === '') bad('a directory (or the root) cannot be a hard link');
    parsePath(e.link);
  }
  if (e.kind !== 'file' && e.extents.length > 0) bad(`a ${e.kind} has no extents`);
  let end = 0;
  for (const x of e.extents) {
    if (!whole(x.offset, Number.MAX_SAFE_INTEGER) || !whole(x.length, Number.MAX_SAFE_INTEGER) || x.length === 0) bad('an extent needs a whole offset and a length above 0');
    if (x.offset < end) bad(`extents overlap or are out of order at offset ${x.offset}`);
    end = x.offset + x.length;
    if (!Buffer.isBuffer(x.hash) || x.hash.length !== 32) bad(`the extent at offset ${x.offset} has no 32-byte BLAKE3`);
  }
  if (end > e.size) bad(`extents reach byte ${end}, past the size ${e.size}`);
  for (const [name, value] of e.xattrs) {
    if (typeof name !== 'string' || !name.startsWith('user.') || name.length > 255) bad(`attribute ${JSON.stringify(name)}: only user.* attributes are kept`);
    if (!Buffer.isBuffer(value)) bad(`attribute ${name} has no bytes`);
  }
}

/** The inode at `path` ('' or 'a/b', relative to the staging root), or ENOENT. */
export function stagedIno(meta: Pick<MetaStore, 'lookup'>, root: number, path: string): number {
  let ino = root;
  if (path === '') return ino;
  for (const name of parsePath(path)) {
    const next = meta.lookup(ino, name);
    if (next === undefined) throw new DfsError('ENOENT', `${path} is not in the tree being built (an entry must follow its parent's, a link its target's)`, path);
    ino = next;
  }
  return ino;
}

/** An entry's attributes as an inode's fields. */
function attrs(e: EntryToApply): Pick<Inode, 'kind' | 'mode' | 'uid' | 'gid' | 'size' | 'atimeMs' | 'mtimeMs' | 'ctimeMs' | 'target' | 'rdev'> {
  return { kind: e.kind, mode: e.mode, uid: e.uid, gid: e.gid, size: e.size, atimeMs: e.atimeMs, mtimeMs: e.mtimeMs, ctimeMs: e.ctimeMs,
    target: e.target, rdev: e.rdev };
}

/** Inside `tx`: inode `ino`'s attributes become exactly `want`. */
export function setXattrs(tx: Txn, meta: Pick<MetaStore, 'listXattrs' | 'getXattr'>, ino: number, want: readonly [string, Buffer][]): void {
  const keep = new Map(want);
  for (const name of meta.listXattrs(ino)) if (!keep.has(name)) tx.removeXattr(ino, name);
  for (const [name, value] of want) if (!meta.getXattr(ino, name)?.equals(value)) tx.setXattr(ino, name, value);
}

/**
 * Inside `tx`: apply entry `e` under staging root `root` (its parent applied before):
 * a new inode with the entry's attributes and xattrs, named in its parent; for '' the
 * root's own attributes; for a `link`, one more name of the inode at `e.link`. The file's
 * extents come separately (writeEntryExtent, recordExtent). Returns the inode number.
 */
export function applyEntry(tx: Txn, meta: MetaStore, root: number, e: EntryToApply): number {
  checkEntry(e);
  if (e.path === '') {
    if (e.kind !== 'dir') throw new DfsError('EINVAL', `the tree's root is a ${e.kind}; it must be a directory`, e.path);
    const cur = inodeOf(meta, root);
    tx.putInode({ ...cur, ...attrs(e), nlink: cur.nlink });
    setXattrs(tx, meta, root, e.xattrs);
    return root;
  }
  const names = parsePath(e.path);
  const name = names[names.length - 1]!;
  const parentPath = names.slice(0, -1).join('/');
  const parent = inodeOf(meta, stagedIno(meta, root, parentPath));
  if (parent.kind !== 'dir') throw new DfsError('ENOTDIR', `${parentPath} is a ${parent.kind}, not a directory (entry ${e.path})`, e.path);
  if (meta.lookup(parent.ino, name) !== undefined) throw new DfsError('EEXIST', `entry ${e.path} comes twice`, e.path);
  if (e.link !== null) {
    const target = inodeOf(meta, stagedIno(meta, root, e.link));
    if (target.kind === 'dir') throw new DfsError('EINVAL', `entry ${e.path} links to ${e.link}, a directory`, e.path);
    tx.link(parent.ino, name, target.ino);
    tx.putInode({ ...target, ...attrs(e), kind: target.kind, nlink: target.nlink + 1 });
    return target.ino;
  }
  const ino = tx.allocIno();
  tx.putInode({ ino, ...attrs(e), nlink: e.kind === 'dir' ? 2 : 1, policy: null });
  tx.link(parent.ino, name, ino);
  // A subdirectory's ".." is a link of its parent; the parent's times stay its entry's.
  if (e.kind === 'dir') tx.putInode({ ...parent, nlink: parent.nlink + 1 });
  for (const [k, v] of e.xattrs) tx.setXattr(ino, k, v);
  return ino;
}

/** How an entry's extents are written: the pool's redundancy, on the tier the entry's own user.dynamicfs.tier wants. */
export function entryPolicy(engine: Pick<Engine, 'pool'>, e: Pick<EntryToApply, 'xattrs'>): Policy {
  const xattrs = new Map(e.xattrs);
  const tier = tierOf({ getXattr: (_ino, name) => xattrs.get(name) }, 0);
  return tier ? { ...engine.pool.policy, tier } : engine.pool.policy;
}

/**
 * Store one extent's bytes through the engine's writer (fragments placed and written as
 * any file's; small ones inline), checked against the BLAKE3 the entry names (EDIGEST:
 * then nothing of it is kept). The extent is held from gc until the caller, having
 * committed it with recordExtent, calls engine.releaseExtents([id]); a caller that gives
 * it up deletes its fragments too (abandonExtents).
 */
export async function writeEntryExtent(engine: Engine, ext: ExtentSpec, bytes: Uint8Array, policy: Policy,
  what = `the extent at offset ${ext.offset}`): Promise<Extent> {
  if (bytes.length !== ext.length) throw new DfsError('EDIGEST', `${what}: ${bytes.length} bytes where ${ext.length} were named`);
  const buf = allocEncodeBuffer(ext.length, policy.k, policy.m, policy.scheme === 'mirror');
  buf.set(bytes);
  const e = await writeExtent(engine, 0, ext.offset, buf, ext.length, policy);
  if (!e.logicalHash.equals(ext.hash)) {
    // Nothing references it: its fragments go now.
    await engine.removeFragments([{ extentId: e.id, fragments: e.fragments }]);
    engine.releaseExtents([e.id]);
    throw new DfsError('EDIGEST', `${what}: its bytes hash to ${e.logicalHash.toString('hex')}, not ${ext.hash.toString('hex')}`);
  }
  return e;
}

/** Extents written and never recorded (a batch given up): their fragments deleted, their holds released. */
export async function abandonExtents(engine: Engine, extents: readonly Extent[]): Promise<void> {
  try {
    await engine.removeFragments(extents.map((e) => ({ extentId: e.id, fragments: e.fragments })));
  } finally {
    engine.releaseExtents(extents.map((e) => e.id));
  }
}

/** Inside `tx`: extent `e` (written by writeEntryExtent) becomes file `ino`'s at its offset. */
export function recordExtent(tx: Txn, ino: number, e: Extent): void {
  tx.putExtent({ ...e, ino });
}

export interface Published {
  /** The inode the tree's root is now: the staging root linked at `dest`, or the empty directory it moved into. */
  ino: number;
  /** The destination, canonical ("/a/b"). */
  path: string;
}

/**
 * Inside `tx`: make the tree visible at pool path `dest`. An absent `dest` (its parent
 * must exist) becomes the staging root itself; an existing empty directory (the pool's
 * root of an empty pool, say) takes the tree's contents and its root's attributes and
 * xattrs, keeping its inode. Anything else is refused: EEXIST for a file, ENOTEMPTY for
 * a directory with entries. Either way the one transaction shows the whole tree at once.
 */
export function publishTree(tx: Txn, meta: MetaStore, root: number, dest: string, now = Date.now()): Published {
  const at = lookupPath(meta, dest);
  if (!at.inode) {
    checkFreeName(at.parent!.ino, at.name!, at.path);
    tx.link(at.parent!.ino, at.name!, root);
    touchDir(tx, meta, at.parent!.ino, now, +1);
    return { ino: root, path: at.path };
  }
  if (at.inode.kind !== 'dir') throw new DfsError('EEXIST', `${at.path} exists and is a ${at.inode.kind}; name a new path or an empty directory`, at.path);
  if (meta.readdir(at.inode.ino).length > 0) throw new DfsError('ENOTEMPTY', `${at.path} is a directory that is not empty; name a new path or an empty directory`, at.path);
  const into = at.inode.ino;
  let subdirs = 0;
  for (const d of meta.readdirKinds(root)) {
    if (into === ROOT_INO) checkFreeName(ROOT_INO, d.name, `/${d.name}`);
    tx.unlink(root, d.name);
    tx.link(into, d.name, d.ino);
    if (d.kind === 'dir') subdirs++;
  }
  const built = inodeOf(meta, root);
  tx.putInode({ ...built, ino: into, nlink: 2 + subdirs });
  setXattrs(tx, meta, into, meta.listXattrs(root).map((name) => [name, meta.getXattr(root, name)!]));
  tx.deleteInode(root);
  return { ino: into, path: at.path };
}

/** Inside `tx`: drop the staging root and everything under it; delete the returned fragments after the commit. */
export function discardTree(tx: Txn, meta: MetaStore, root: number): DroppedExtent[] {
  if (!meta.getInode(root)) return [];
  const others = new Set<number>();
  const dirs: number[] = [];
  for (const stack = [root]; stack.length > 0;) {
    const dir = stack.pop()!;
    dirs.push(dir);
    for (const d of meta.readdirKinds(dir)) {
      tx.unlink(dir, d.name);
      if (d.kind === 'dir') stack.push(d.ino);
      else others.add(d.ino);
    }
  }
  const dropped: DroppedExtent[] = [];
  for (const ino of others) dropped.push(...dropInode(tx, ino));
  for (const dir of dirs) tx.deleteInode(dir);
  return dropped;
}
