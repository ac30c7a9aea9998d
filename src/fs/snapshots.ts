/**
 * Snapshots of the pool's namespace, over the store's versions (meta/ SnapshotReads and
 * SnapshotWrites): take one, compare two generations, roll the pool (or one subtree) back,
 * and clone a snapshot's subtree as new, writable files. Every change is one metadata
 * transaction; extents are never copied: a clone or a rolled-back subtree gets new extent
 * records that reference the same bytes (scheme 'packed' over the original extent).
 */
import { randomBytes } from 'node:crypto';
import { DfsError } from '../errors';
import { crashPoint } from '../engine/crash-points';
import type { Engine, DroppedExtent } from '../engine/engine';
import type { Extent, Inode, InodeKind, Snapshot } from '../meta/records';
import { LIVE_GEN, type MetaStore, type NamespaceView, type Txn } from '../meta/store';
import { checkFreeName, dropInode, dropLink, touchDir } from './dir-ops';
import { joinPath, lookupPath, parsePath } from './paths';
import { changedInodes } from './tree-changes';
import { resolveView } from './tree-entries';

/** Names a snapshot may have: they are directory names under /.snapshots too. */
const NAME = /^[A-Za-z0-9_][A-Za-z0-9._:+-]{0,127}$/;

export function checkSnapshotName(name: string): string {
  if (!NAME.test(name)) {
    throw new DfsError('EINVAL', `snapshot name ${JSON.stringify(name)}: use 1 to 128 letters, digits and . _ : + - (not starting with . or -)`, name);
  }
  return name;
}

export function snapshotNamed(meta: MetaStore, name: string): Snapshot {
  const s = meta.getSnapshot(name);
  if (!s) throw new DfsError('ENOENT', `no snapshot named "${name}" (see \`dynamicfs snapshot list\`)`, name);
  return s;
}

/**
 * Bring every change so far into a committed generation, with nothing pending after it:
 * the mount's open files first. A snapshot must be of a generation whose rows no later
 * change has overwritten in place (rows change in place while no snapshot sees them).
 */
async function settle(engine: Engine): Promise<void> {
  for (let tries = 0; ; tries++) {
    await engine.mountFiles?.flushAll();
    await engine.txg.commit('snapshot');
    if (!engine.meta.groupPending()) return;
    if (tries >= 20) throw new DfsError('EBUSY', 'the pool kept changing while a snapshot waited for a quiet commit; retry when it is less busy');
  }
}

/** Take snapshot `name` of the whole pool, as of the last commit (which takes every change made before this call). */
export async function createSnapshot(engine: Engine, name: string): Promise<Snapshot> {
  checkSnapshotName(name);
  if (engine.meta.getSnapshot(name)) throw new DfsError('EEXIST', `a snapshot named "${name}" exists already; pick another name or delete it first`, name);
  await settle(engine);
  // No await since settle: nothing is pending, so the generation committed last is the namespace now.
  const gen = engine.meta.generation();
  engine.meta.transact((tx) => tx.createSnapshot(name, gen, Date.now(), randomBytes(16)));
  await engine.txg.commit('snapshot');
  return snapshotNamed(engine.meta, name);
}

/** How one inode differs between two generations. */
export interface DiffEntry {
  change: 'added' | 'removed' | 'modified' | 'renamed' | 'metadata';
  /** Where it is at the later generation (the earlier one for a removal). */
  path: string;
  /** A rename's earlier path. */
  from?: string;
  ino: number;
  kind: InodeKind;
}

/** Same attributes a user can see change (ctime and atime aside: every change and every read moves them). */
function sameAttrs(a: Inode, b: Inode): boolean {
  return a.mode === b.mode && a.uid === b.uid && a.gid === b.gid && a.mtimeMs === b.mtimeMs && a.policy === b.policy && a.rdev === b.rdev;
}

function sameXattrs(a: Map<string, Buffer>, b: Map<string, Buffer>): boolean {
  return a.size === b.size && [...a].every(([k, v]) => b.get(k)?.equals(v) ?? false);
}

function sameContent(a: NamespaceView, b: NamespaceView, ia: Inode, ib: Inode): boolean {
  if (ia.kind === 'file') {
    const ea = a.extentsOf(ia.ino), eb = b.extentsOf(ib.ino);
    // By what the bytes are, not by record: a rolled-back file may hold references to its old extents under new ids.
    return ia.size === ib.size && ea.length === eb.length
      && ea.every((e, i) => e.offset === eb[i]!.offset && e.length === eb[i]!.length && e.logicalHash.equals(eb[i]!.logicalHash));
  }
  if (ia.kind === 'dir') {
    const da = a.readdir(ia.ino), db = b.readdir(ib.ino);
    return da.length === db.length && da.every((d, i) => d.name === db[i]!.name && d.ino === db[i]!.ino);
  }
  return ia.target === ib.target;
}

const linkKeys = (v: NamespaceView, ino: number): string => v.linksOf(ino).map((l) => `${l.parent}/${l.name}`).join('\n');

/** What changed from generation `from` to `to` (LIVE_GEN: now), one entry per change, in path order; read from the changed keys only. */
export function diffGenerations(meta: MetaStore, from: number, to: number): DiffEntry[] {
  const a = meta.viewAt(from), b = meta.viewAt(to);
  const inos = changedInodes(meta.changedBetween(from, to), a, b);
  const out: DiffEntry[] = [];
  for (const ino of inos) {
    const ia = a.getInode(ino), ib = b.getInode(ino);
    const pa = ia && a.pathOf(ino), pb = ib && b.pathOf(ino);
    // An inode no directory names (open after its unlink) is nowhere to compare.
    if (pa === undefined && pb === undefined) continue;
    if (pa === undefined) {
      out.push({ change: 'added', path: pb!, ino, kind: ib!.kind });
      continue;
    }
    if (pb === undefined) {
      out.push({ change: 'removed', path: pa, ino, kind: ia!.kind });
      continue;
    }
    if (linkKeys(a, ino) !== linkKeys(b, ino)) out.push({ change: 'renamed', path: pb, from: pa, ino, kind: ib!.kind });
    if (!sameContent(a, b, ia!, ib!)) out.push({ change: 'modified', path: pb, ino, kind: ib!.kind });
    else if (!sameAttrs(ia!, ib!) || !sameXattrs(a.xattrs(ino), b.xattrs(ino))) out.push({ change: 'metadata', path: pb, ino, kind: ib!.kind });
  }
  return out.sort((x, y) => (x.path < y.path ? -1 : x.path > y.path ? 1 : x.change < y.change ? -1 : 1));
}

/** A new extent of file `ino` over the same bytes as `e` (a clone's, or a rollback's when `e` cannot be revived). */
export function referenceTo(e: Extent, ino: number): Extent {
  const id = randomBytes(16);
  if (e.scheme === 'inline' || e.scheme === 'packed') return { ...e, id, ino, fragments: [], died: undefined };
  return { id, ino, offset: e.offset, length: e.length, scheme: 'packed', k: 0, m: 0, fragLen: 0, logicalHash: e.logicalHash, inlineData: null,
    fragments: [], pack: { id: e.id, offset: 0 } };
}

function sameInode(a: Inode, b: Inode): boolean {
  return sameAttrs(a, b) && a.kind === b.kind && a.size === b.size && a.nlink === b.nlink && a.atimeMs === b.atimeMs
    && a.ctimeMs === b.ctimeMs && a.target === b.target;
}

function refuseWhileOpen(engine: Engine, what: string): void {
  const open = engine.mountFiles?.openCount() ?? 0;
  if (open > 0) throw new DfsError('EBUSY', `${what}: ${open} files are open in the mount; close them (or unmount) and retry`);
}

/** Inside `tx`: make the live namespace what it was at generation `gen`, changing only the keys that changed since. */
function rollBackAll(tx: Txn, meta: MetaStore, gen: number): DroppedExtent[] {
  const keys = meta.changedBetween(gen, LIVE_GEN);
  const then = meta.viewAt(gen);
  const dropped: DroppedExtent[] = [];
  const links: [number, string, number][] = [];
  for (const { parent, name } of keys.dirents) {
    const now = meta.lookup(parent, name), was = then.lookup(parent, name);
    if (now === was) continue;
    if (now !== undefined) tx.unlink(parent, name);
    if (was !== undefined) links.push([parent, name, was]);
  }
  for (const ino of new Set(keys.inodes)) {
    const was = then.getInode(ino), now = meta.getInode(ino);
    if (!was) {
      if (now) dropped.push(...dropInode(tx, ino));
    } else if (!now || !sameInode(now, was)) {
      tx.putInode(was);
    }
  }
  for (const [parent, name, ino] of links) tx.link(parent, name, ino);
  for (const ino of new Set(keys.xattrInodes)) {
    if (!then.getInode(ino)) continue;
    const want = then.xattrs(ino);
    for (const name of meta.listXattrs(ino)) if (!want.has(name)) tx.removeXattr(ino, name);
    for (const [name, value] of want) if (!meta.getXattr(ino, name)?.equals(value)) tx.setXattr(ino, name, value);
  }
  for (const ino of new Set(keys.extentInodes)) {
    if (!then.getInode(ino)) continue;
    dropped.push(...setExtents(tx, meta, ino, then.extentsOf(ino)));
  }
  return dropped;
}

/** Inside `tx`: file `ino`'s extents become `want` (revived where they can be, referenced where not). */
function setExtents(tx: Txn, meta: MetaStore, ino: number, want: readonly Extent[]): DroppedExtent[] {
  const have = meta.extentsOf(ino);
  const wanted = new Set(want.map((e) => e.id.toString('hex')));
  const had = new Set(have.map((e) => e.id.toString('hex')));
  const dropped = have.filter((e) => !wanted.has(e.id.toString('hex'))).flatMap((e) => tx.dropExtent(e.id));
  for (const e of want) {
    if (had.has(e.id.toString('hex'))) continue;
    if (!tx.reviveExtent(e.id)) tx.putExtent(referenceTo(e, ino));
  }
  return dropped;
}

/** The inode `path` names in view `v`, or ENOENT naming the snapshot. */
function resolveIn(v: NamespaceView, path: string, snapshot: string): Inode {
  const where = `snapshot "${snapshot}"`;
  const i = v.getInode(resolveView(v, path, where));
  if (!i) throw new DfsError('ENOENT', `${path} does not exist in ${where}`, path);
  return i;
}

/**
 * Inside `tx`: copy `src` of view `v` (and all below it) to a new entry `name` in live
 * directory `parent`, with new inode numbers; hard links inside the copy stay links.
 * Returns how many inodes it made.
 */
function copyTree(tx: Txn, v: NamespaceView, src: Inode, parent: number, name: string): number {
  const made = new Map<number, Inode>();
  const copy = (i: Inode, into: number, as: string): void => {
    const done = made.get(i.ino);
    if (done) {
      tx.link(into, as, done.ino);
      done.nlink++;
      tx.putInode(done);
      return;
    }
    const fresh: Inode = { ...i, ino: tx.allocIno(), nlink: i.kind === 'dir' ? i.nlink : 1 };
    made.set(i.ino, fresh);
    tx.putInode(fresh);
    tx.link(into, as, fresh.ino);
    for (const [k, value] of v.xattrs(i.ino)) tx.setXattr(fresh.ino, k, value);
    if (i.kind === 'file') for (const e of v.extentsOf(i.ino)) tx.putExtent(referenceTo(e, fresh.ino));
    if (i.kind === 'dir') {
      for (const d of v.readdir(i.ino)) {
        const child = v.getInode(d.ino);
        if (child) copy(child, fresh.ino, d.name);
      }
    }
  };
  copy(src, parent, name);
  return made.size;
}

/** Inside `tx`: remove everything below live directory `dir` (rm -r of its contents). */
function emptyDir(tx: Txn, meta: MetaStore, dir: number, now: number): DroppedExtent[] {
  const dropped: DroppedExtent[] = [];
  for (const d of meta.readdir(dir)) {
    const i = meta.getInode(d.ino);
    if (i?.kind === 'dir') dropped.push(...emptyDir(tx, meta, i.ino, now));
    tx.unlink(dir, d.name);
    if (i) dropped.push(...dropLink(tx, meta.getInode(d.ino) ?? i, now));
  }
  return dropped;
}

export interface RollbackResult {
  snapshot: string;
  path: string;
  /** Changes the rollback undid (diff entries from the snapshot to before it). */
  changes: number;
}

/**
 * Roll the pool, or with `path` one subtree, back to snapshot `name`, in one transaction.
 * The whole pool keeps its inode numbers (only what changed since is rewritten); a subtree
 * is emptied and refilled from the snapshot with new inodes sharing the old bytes, its own
 * directory keeping its inode and taking the snapshot's attributes.
 */
export async function rollback(engine: Engine, name: string, path?: string): Promise<RollbackResult> {
  const snap = snapshotNamed(engine.meta, name);
  refuseWhileOpen(engine, `rollback to "${name}"`);
  await settle(engine);
  const meta = engine.meta;
  const changes = diffGenerations(meta, snap.gen, LIVE_GEN).length;
  const where = path === undefined ? '/' : joinPath(parsePath(path));
  const dropped = meta.transact((tx) => {
    const out = rollBackIn(tx, meta, snap.gen, where, name);
    crashPoint('rollback-before-commit');
    return out;
  });
  await engine.removeFragments(dropped);
  return { snapshot: name, path: where, changes };
}

/** Inside `tx`: the rollback of `where` ('/': the whole pool) to generation `gen` (snapshot `name`). */
function rollBackIn(tx: Txn, meta: MetaStore, gen: number, where: string, name: string): DroppedExtent[] {
  return where === '/' ? rollBackAll(tx, meta, gen) : rollBackSubtree(tx, meta, gen, where, name);
}

/**
 * Inside `tx`: `where`'s contents (the root's too) become what they were at generation
 * `gen`, as new inodes sharing the old bytes; nothing outside it changes (a forced
 * receive's first step, where the whole pool's rollback would take its staging too).
 */
export function rollBackSubtree(tx: Txn, meta: MetaStore, gen: number, where: string, name: string): DroppedExtent[] {
  const then = meta.viewAt(gen);
  const was = resolveIn(then, where, name);
  const at = lookupPath(meta, where);
  const now = Date.now();
  const parent = at.parent!;
  if (was.kind !== 'dir' || at.inode?.kind !== 'dir') {
    // A file (or a directory that is a file now, or the reverse): the entry is replaced by the snapshot's.
    const out: DroppedExtent[] = [];
    if (at.inode) {
      if (at.inode.kind === 'dir') out.push(...emptyDir(tx, meta, at.inode.ino, now));
      tx.unlink(parent.ino, at.name!);
      out.push(...dropLink(tx, meta.getInode(at.inode.ino) ?? at.inode, now));
      if (at.inode.kind === 'dir') touchDir(tx, meta, parent.ino, now, -1);
    }
    copyTree(tx, then, was, parent.ino, at.name!);
    touchDir(tx, meta, parent.ino, now, was.kind === 'dir' ? 1 : 0);
    return out;
  }
  const out = emptyDir(tx, meta, at.inode.ino, now);
  let subdirs = 0;
  for (const d of then.readdir(was.ino)) {
    const child = then.getInode(d.ino);
    if (!child) continue;
    copyTree(tx, then, child, at.inode.ino, d.name);
    if (child.kind === 'dir') subdirs++;
  }
  tx.putInode({ ...was, ino: at.inode.ino, nlink: 2 + subdirs, ctimeMs: now });
  const want = then.xattrs(was.ino);
  for (const x of meta.listXattrs(at.inode.ino)) if (!want.has(x)) tx.removeXattr(at.inode.ino, x);
  for (const [x, value] of want) tx.setXattr(at.inode.ino, x, value);
  return out;
}

export interface CloneResult {
  snapshot: string;
  from: string;
  to: string;
  inodes: number;
}

/** Copy `from` (a path in snapshot `name`) to the new live path `to`: writable files sharing every extent until written. */
export async function cloneSnapshot(engine: Engine, name: string, from: string, to: string): Promise<CloneResult> {
  const snap = snapshotNamed(engine.meta, name);
  const meta = engine.meta;
  const dest = joinPath(parsePath(to));
  if (dest === '/') throw new DfsError('EEXIST', 'a clone needs a new path, not / (the root exists)', to);
  const inodes = meta.transact((tx) => {
    const then = meta.viewAt(snap.gen);
    const src = resolveIn(then, from, name);
    const at = lookupPath(meta, dest);
    if (at.inode) throw new DfsError('EEXIST', `${dest} exists already; clone to a new path`, dest);
    checkFreeName(at.parent!.ino, at.name, dest);
    const now = Date.now();
    const n = copyTree(tx, then, src, at.parent!.ino, at.name!);
    touchDir(tx, meta, at.parent!.ino, now, src.kind === 'dir' ? 1 : 0);
    return n;
  });
  return { snapshot: name, from: joinPath(parsePath(from)), to: dest, inodes };
}
