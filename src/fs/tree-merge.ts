/**
 * An incremental stream's changes applied to the tree it was received into, in one
 * transaction (receive's last): the names the base had and the snapshot has not go; each
 * changed inode of the base (found at its base path) takes its new attributes, xattrs,
 * contents and names in place, so its inode number, hard links and untouched extents
 * stay; each new inode, staged whole under the receive's staging root as `n<record>`,
 * is linked at its names. A changed file's new extents were staged on `d<record>` and
 * are adopted by the file (MetaStore.adoptExtent: born now, so older snapshots still see
 * the file as it was). Inodes left with no name are dropped, with what is below them.
 *
 * Before anything, the destination must still be the base: unchanged since the base
 * snapshot (as zfs receive wants), or, with `force`, rolled back to it in the same
 * transaction (fs/snapshots.ts rollBackSubtree).
 */
import { DfsError } from '../errors';
import type { DroppedExtent } from '../engine/engine';
import type { Extent, Inode, Snapshot } from '../meta/records';
import { LIVE_GEN, type MetaStore, type Txn } from '../meta/store';
import { dropInode } from './dir-ops';
import { inodeOf, parsePath, resolve } from './paths';
import { rollBackSubtree } from './snapshots';
import type { StreamEntry } from './stream-format';
import { discardTree, setXattrs } from './tree-apply';
import { changedInodes } from './tree-changes';

export interface MergePlan {
  /** Paths (relative to the tree's root) of the names to remove, as they are in the base. */
  deletes: string[];
  /** Entries in stream order (parents before children), with their record numbers. */
  entries: { number: number; entry: StreamEntry }[];
}

/** Staged names under the staging root: a new inode, and a changed file's new extents. */
export const stagedNew = (record: number): string => `n${record}`;
export const stagedData = (record: number): string => `d${record}`;

const within = (dest: string, path: string | undefined): boolean =>
  path !== undefined && (dest === '/' || path === dest || path.startsWith(`${dest}/`));

/** The first change under `dest` since generation `gen` (a path), or undefined when it is as it was. */
export function changedSince(meta: MetaStore, gen: number, dest: string): string | undefined {
  const a = meta.viewAt(gen), b = meta.viewAt(LIVE_GEN);
  for (const ino of changedInodes(meta.changedBetween(gen, LIVE_GEN), a, b)) {
    for (const p of [b.pathOf(ino), a.pathOf(ino)]) if (within(dest, p)) return p;
  }
  return undefined;
}

/** EINVAL when `dest` moved on since the base, naming the change and both ways on. */
export function refuseChanged(meta: MetaStore, base: Snapshot, dest: string): void {
  const changed = changedSince(meta, base.gen, dest);
  if (changed !== undefined) {
    throw new DfsError('EINVAL', `${dest} has changed since snapshot "${base.name}", this stream's base (${changed}, at least): receive with --force `
      + `to roll ${dest} back to it first (what changed there since is lost), or receive a full stream into another path`, dest, { changed });
  }
}

/**
 * Inside `tx`: apply `plan` to the tree at `dest` (the base `base` was received at or
 * taken of), the new inodes and extents staged under `staging`, which is dropped after.
 * Returns the extents dropped: delete their fragments after the commit.
 */
export function mergeIncremental(tx: Txn, meta: MetaStore, staging: number, dest: string, base: Snapshot, plan: MergePlan, force: boolean): DroppedExtent[] {
  const dropped: DroppedExtent[] = [];
  if (force) dropped.push(...rollBackSubtree(tx, meta, base.gen, dest, base.name));
  else refuseChanged(meta, base, dest);
  const root = resolve(meta, dest);
  if (root.kind !== 'dir') throw new DfsError('ENOTDIR', `${dest} is a ${root.kind}, not the directory the base was received at`, dest);
  const where = (rel: string): string => (rel === '' ? dest : dest === '/' ? `/${rel}` : `${dest}/${rel}`);
  const mismatch = (rel: string, what: string): DfsError =>
    new DfsError('EINVAL', `${where(rel)} ${what}: the tree at ${dest} is not this stream's base "${base.name}"; receive a full stream instead`, where(rel));
  /** The inode at `rel` below the root as the tree stands now, or undefined. */
  const at = (rel: string): number | undefined => {
    let ino = root.ino;
    if (rel === '') return ino;
    for (const name of parsePath(rel)) {
      const next = meta.lookup(ino, name);
      if (next === undefined) return undefined;
      ino = next;
    }
    return ino;
  };
  const parentOf = (rel: string): { dir: number; name: string } => {
    const names = parsePath(rel);
    const dir = at(names.slice(0, -1).join('/'));
    if (dir === undefined || inodeOf(meta, dir).kind !== 'dir') throw mismatch(rel, 'has no directory to go in');
    return { dir, name: names[names.length - 1]! };
  };

  // The base's inodes, each found where the base had it, before anything moves.
  const target = new Map<number, number>();
  for (const { number, entry } of plan.entries) {
    if (entry.link !== null) continue;
    if (entry.base === null) {
      const staged = meta.lookup(staging, stagedNew(number));
      if (staged === undefined) throw new DfsError('EINTERNAL', `the receive's staged inode for record ${number} (${entry.path}) is missing`);
      target.set(number, staged);
      continue;
    }
    const ino = at(entry.base);
    if (ino === undefined) throw mismatch(entry.base, 'does not exist');
    if (inodeOf(meta, ino).kind !== entry.kind) throw mismatch(entry.base, `is a ${inodeOf(meta, ino).kind}, not a ${entry.kind}`);
    target.set(number, ino);
  }
  // The names that go, found first (a directory and a name inside it may both go), then removed.
  const touched = new Set<number>([root.ino]);
  const gone = new Map<number, Inode>();
  const names = plan.deletes.map((rel) => {
    const { dir, name } = parentOf(rel);
    const ino = meta.lookup(dir, name);
    if (ino === undefined) throw mismatch(rel, 'does not exist');
    return { dir, name, ino };
  });
  for (const n of names) {
    tx.unlink(n.dir, n.name);
    touched.add(n.dir);
    gone.set(n.ino, inodeOf(meta, n.ino));
  }
  // Each changed or new inode, in stream order (parents first): attributes, contents, its names.
  const namesOf = new Map<number, number>();
  const firstAt = new Map<string, number>();
  const kept = new Set<number>();
  const name = (rel: string, ino: number): void => {
    namesOf.set(ino, (namesOf.get(ino) ?? 0) + 1);
    if (rel === '') return;
    const { dir, name: n } = parentOf(rel);
    const there = meta.lookup(dir, n);
    if (there === ino) return;
    if (there !== undefined) throw mismatch(rel, 'exists and is not named in the stream as gone');
    tx.link(dir, n, ino);
    touched.add(dir);
  };
  for (const { number, entry } of plan.entries) {
    if (entry.link !== null) {
      const ino = firstAt.get(entry.link);
      if (ino === undefined) throw new DfsError('EFORMAT', `record ${number}: ${entry.path} links to ${entry.link}, which no earlier entry of the stream names`);
      name(entry.path, ino);
      continue;
    }
    const ino = target.get(number)!;
    kept.add(ino);
    firstAt.set(entry.path, ino);
    const cur = inodeOf(meta, ino);
    tx.putInode({ ...cur, mode: entry.mode, uid: entry.uid, gid: entry.gid, size: entry.size, atimeMs: entry.atimeMs, mtimeMs: entry.mtimeMs,
      ctimeMs: entry.ctimeMs, target: entry.target, rdev: entry.rdev });
    if (entry.base === null) {
      tx.unlink(staging, stagedNew(number));
    } else {
      setXattrs(tx, meta, ino, entry.xattrs);
      if (entry.kind === 'file') dropped.push(...newContents(tx, meta, staging, number, ino, entry, mismatch));
    }
    if (entry.kind === 'dir') touched.add(ino);
    name(entry.path, ino);
  }
  // Link counts as the names now are.
  for (const [ino, n] of namesOf) {
    const i = inodeOf(meta, ino);
    if (i.kind !== 'dir' && i.nlink !== n) tx.putInode({ ...i, nlink: n });
  }
  // What lost its names and was not named again is gone, with whatever is still below it.
  for (const [ino, i] of gone) {
    if (kept.has(ino) || meta.parentOf(ino) !== undefined || !meta.getInode(ino)) continue;
    dropped.push(...(i.kind === 'dir' ? dropDir(tx, meta, ino) : dropInode(tx, ino)));
  }
  for (const dir of touched) {
    const d = meta.getInode(dir);
    if (!d || d.kind !== 'dir') continue;
    const subdirs = meta.readdirKinds(dir).filter((e) => e.kind === 'dir').length;
    if (d.nlink !== 2 + subdirs) tx.putInode({ ...d, nlink: 2 + subdirs });
  }
  dropped.push(...discardTree(tx, meta, staging));
  return dropped;
}

/**
 * Inside `tx`: file `ino`'s extents become the entry's: those the base held stay (each
 * checked against its offset, length and hash), the new ones staged on `d<record>` are
 * adopted, the others end.
 */
function newContents(tx: Txn, meta: MetaStore, staging: number, record: number, ino: number, entry: StreamEntry,
  mismatch: (rel: string, what: string) => DfsError): DroppedExtent[] {
  const have = new Map(meta.extentsOf(ino).map((e) => [e.offset, e]));
  const dataIno = meta.lookup(staging, stagedData(record));
  const staged = new Map<number, Extent>(dataIno === undefined ? [] : meta.extentsOf(dataIno).map((e) => [e.offset, e]));
  const dropped: DroppedExtent[] = [];
  const keep = new Set<string>();
  for (const x of entry.extents) {
    const from = x.data ? staged.get(x.offset) : have.get(x.offset);
    if (!from || from.length !== x.length || !from.logicalHash.equals(x.hash)) {
      if (x.data) throw new DfsError('EINTERNAL', `the receive staged no extent at offset ${x.offset} for ${entry.path} (record ${record})`);
      throw mismatch(entry.base!, `holds no extent at offset ${x.offset} of ${x.length} bytes with the base's BLAKE3`);
    }
    if (x.data) dropped.push(...tx.adoptExtent(from.id, ino));
    else keep.add(from.id.toString('hex'));
  }
  for (const e of have.values()) {
    if (keep.has(e.id.toString('hex')) || entry.extents.some((x) => x.data && x.offset === e.offset)) continue;
    dropped.push(...tx.dropExtent(e.id));
  }
  return dropped;
}

/** Inside `tx`: a directory no name reaches any more, and everything still below it. */
function dropDir(tx: Txn, meta: MetaStore, ino: number): DroppedExtent[] {
  const dropped: DroppedExtent[] = [];
  for (const d of meta.readdirKinds(ino)) {
    tx.unlink(ino, d.name);
    if (d.kind === 'dir') dropped.push(...dropDir(tx, meta, d.ino));
    else if (meta.parentOf(d.ino) === undefined) dropped.push(...dropInode(tx, d.ino));
    else {
      const i = inodeOf(meta, d.ino);
      tx.putInode({ ...i, nlink: Math.max(1, i.nlink - 1) });
    }
  }
  tx.deleteInode(ino);
  return dropped;
}

