/**
 * `check`, the namespace: the invariants dir-ops.ts maintains, counted from the records.
 *   - every inode and every directory entry verifies against its checksum (while an
 *     entry fails, link counts cannot be counted: they are checked once it is healed);
 *   - a directory's nlink is 2 plus its subdirectories; any other inode's is the number
 *     of directory entries naming it (0 only while open: such inodes are dropped by the
 *     next coordinator start, daemon/recovery.ts, and are not problems);
 *   - every entry names an inode that exists, inside a directory;
 *   - a directory is named by exactly one entry (the root by none);
 *   - an inode with nlink > 0 is named by some entry (else it is an orphan), but for the
 *     staging root of an unfinished job (tree-apply.ts: a tree being built, unnamed until
 *     the job publishes it).
 *
 * --repair, in one transaction: link counts set to the counted number, dangling entries
 * removed, orphans linked under /lost+found (created if needed) as `#<inode>`, like fsck.
 * Nothing is deleted that a name still reaches. Scan and repair are synchronous, so
 * inside a coordinator the mount cannot change what was counted before it is fixed.
 */
import { unlessCorrupt } from '../engine/check-extents';
import { pathOrNull, problem, settle, type CheckProblem } from '../engine/check-problems';
import type { Damaged } from '../engine/check-records';
import type { Inode, InodeKind } from '../meta/records';
import { ROOT_INO, type MetaStore, type RecordRef, type Txn } from '../meta/store';
import { makeDirs, touchDir } from './dir-ops';
import { stagingRoots } from './tree-apply';

export const LOST_FOUND = 'lost+found';

interface Counted {
  kind: InodeKind;
  nlink: number;
  /** Entries naming it. */
  named: number;
  /** Entries inside it naming directories. */
  subdirs: number;
}

export interface NamespaceScan {
  problems: CheckProblem[];
  inodes: number;
  dirents: number;
  /** Records failing their checksum, for --repair to heal from the disks' copies. */
  damaged: Damaged[];
  /** What --repair does: link counts to set, entries to remove, orphans to link. */
  fixNlink: { ino: number; to: number; problem: CheckProblem }[];
  dangling: { parent: number; name: string; problem: CheckProblem }[];
  orphans: { ino: number; kind: InodeKind; problem: CheckProblem }[];
}

export function scanNamespace(meta: MetaStore): NamespaceScan {
  const out: NamespaceScan = { problems: [], inodes: 0, dirents: 0, damaged: [], fixNlink: [], dangling: [], orphans: [] };
  const inodes = new Map<number, Counted>();
  const corrupt = new Set<number>();
  for (let batch = meta.inodeNumbersAfter(0, 1000); batch.length > 0; batch = meta.inodeNumbersAfter(batch[batch.length - 1]!, 1000)) {
    for (const ino of batch) {
      out.inodes++;
      const read = unlessCorrupt(() => meta.getInode(ino));
      if (!read) {
        corrupt.add(ino);
        const where = pathOrNull(meta, ino);
        const p = problem('inode-corrupt', `inode ${ino}${where === null ? '' : ` (${where})`} fails its checksum`, { path: where, inode: ino });
        out.problems.push(p);
        out.damaged.push({ ref: { kind: 'inode', ino }, problem: p });
        continue;
      }
      const i = read.value as Inode;
      inodes.set(ino, { kind: i.kind, nlink: i.nlink, named: 0, subdirs: 0 });
    }
  }
  const damagedDirs = countEntries(meta, inodes, corrupt, out);
  // An entry that cannot be read names some inode: every count would be off by it, and --repair would "fix" the wrong thing.
  // A damaged jobs row is check-records' finding; without the jobs no staging root is spared.
  const staging = unlessCorrupt(() => stagingRoots(meta))?.value ?? new Set<number>();
  if (damagedDirs === 0) for (const [ino, c] of inodes) checkLinks(meta, ino, c, out, staging);
  return out;
}

/**
 * Walk every entry: count names and subdirectories; report the dangling ones, those
 * outside a directory, and those failing their checksum. Returns how many directories hold one of the last.
 */
function countEntries(meta: MetaStore, inodes: Map<number, Counted>, corrupt: ReadonlySet<number>, out: NamespaceScan): number {
  const damagedDirs = new Map<number, RecordRef>();
  for (let batch = meta.direntsAfter(undefined, 1000); batch.length > 0; batch = meta.direntsAfter(batch[batch.length - 1], 1000)) {
    for (const d of batch) {
      out.dirents++;
      if (d.corrupt) {
        const where = `${dirPath(meta, d.parent)}${d.name}`;
        const p = problem('dirent-corrupt', `directory entry ${where} (in directory inode ${d.parent}) fails its checksum; `
          + 'link counts are not checked while it does', { path: where, parent: d.parent, name: d.name });
        out.problems.push(p);
        // One ref per directory: its entries are healed together (a damaged name is a key no copy holds).
        const ref = damagedDirs.get(d.parent) ?? { kind: 'dirents', parent: d.parent };
        damagedDirs.set(d.parent, ref);
        out.damaged.push({ ref, problem: p });
        continue;
      }
      const child = inodes.get(d.ino);
      if (!child && !corrupt.has(d.ino)) {
        const where = `${dirPath(meta, d.parent)}${d.name}`;
        const p = problem('dangling-dirent', `${where} names inode ${d.ino}, which does not exist`,
          { path: where, inode: d.ino, parent: d.parent, name: d.name });
        out.problems.push(p);
        out.dangling.push({ parent: d.parent, name: d.name, problem: p });
        continue;
      }
      if (child) child.named++;
      const parent = inodes.get(d.parent);
      if (parent?.kind === 'dir') {
        if (child?.kind === 'dir') parent.subdirs++;
      } else if (!corrupt.has(d.parent)) {
        out.problems.push(problem('parent-not-dir', `entry ${JSON.stringify(d.name)} (inode ${d.ino}) sits in inode ${d.parent}, `
          + `which is ${parent ? `a ${parent.kind}` : 'missing'}, not a directory`, { inode: d.ino, parent: d.parent, name: d.name }));
      }
    }
  }
  return damagedDirs.size;
}

/** Paths are looked up only for the inodes in a problem: a walk up the tree per inode would cost more than the check. */
function checkLinks(meta: MetaStore, ino: number, c: Counted, out: NamespaceScan, staging: ReadonlySet<number>): void {
  const path = (): string | null => pathOrNull(meta, ino);
  const named = (): string => path() ?? `inode ${ino}`;
  if (c.kind === 'dir') {
    if (ino !== ROOT_INO && c.named === 0 && !staging.has(ino)) orphan(out, ino, c, `directory inode ${ino} is named by no entry (orphan)`);
    if (c.named > 1) {
      out.problems.push(problem('dir-two-parents', `directory ${named()} is named by ${c.named} entries (a directory has one parent)`,
        { path: path(), inode: ino, counted: c.named }));
    }
    if (c.nlink !== 2 + c.subdirs) {
      wrongNlink(out, ino, path(), c.nlink, 2 + c.subdirs, `directory ${named()} has nlink ${c.nlink}; 2 + ${c.subdirs} subdirectories make ${2 + c.subdirs}`);
    }
  } else if (c.named === 0) {
    // nlink 0 and no name: unlinked while open, kept for the handle (dropped at the next coordinator start).
    if (c.nlink > 0) orphan(out, ino, c, `${c.kind} inode ${ino} has nlink ${c.nlink} but no entry names it (orphan)`);
  } else if (c.nlink !== c.named) {
    wrongNlink(out, ino, path(), c.nlink, c.named, `${named()}: nlink ${c.nlink}, but ${c.named} entries name it`);
  }
}

function orphan(out: NamespaceScan, ino: number, c: Counted, message: string): void {
  const p = problem('orphan-inode', message, { inode: ino, nlink: c.nlink, counted: 0 });
  out.problems.push(p);
  out.orphans.push({ ino, kind: c.kind, problem: p });
}

function wrongNlink(out: NamespaceScan, ino: number, path: string | null, nlink: number, counted: number, message: string): void {
  const p = problem('wrong-nlink', message, { path, inode: ino, nlink, counted });
  out.problems.push(p);
  out.fixNlink.push({ ino, to: counted, problem: p });
}

function dirPath(meta: MetaStore, ino: number): string {
  const p = pathOrNull(meta, ino);
  return p === null ? `<inode ${ino}>/` : p === '/' ? '/' : `${p}/`;
}

/**
 * --repair, inside `tx`: link counts first (so the steps after move them from the right
 * number), then dangling entries, then orphans into /lost+found.
 */
export function repairNamespace(tx: Txn, meta: MetaStore, scan: NamespaceScan, now: number): void {
  for (const f of scan.fixNlink) {
    tx.putInode({ ...meta.getInode(f.ino)!, nlink: f.to, ctimeMs: now });
    settle(f.problem, true, `nlink set to ${f.to}`);
  }
  for (const d of scan.dangling) {
    tx.unlink(d.parent, d.name);
    if (meta.getInode(d.parent)?.kind === 'dir') touchDir(tx, meta, d.parent, now);
    settle(d.problem, true, 'entry removed');
  }
  if (scan.orphans.length > 0) linkOrphans(tx, meta, scan.orphans, now);
}

function linkOrphans(tx: Txn, meta: MetaStore, orphans: NamespaceScan['orphans'], now: number): void {
  const existing = meta.lookup(ROOT_INO, LOST_FOUND);
  if (existing !== undefined && meta.getInode(existing)?.kind !== 'dir') {
    for (const o of orphans) settle(o.problem, false, `/${LOST_FOUND} exists and is not a directory: move it away, then run check --repair again`);
    return;
  }
  const dir = existing ?? makeDirs(tx, meta, [LOST_FOUND], false, now).ino;
  for (const o of orphans) {
    const name = `#${o.ino}`;
    if (meta.lookup(dir, name) !== undefined) {
      settle(o.problem, false, `/${LOST_FOUND}/${name} exists already: move it away, then run check --repair again`);
      continue;
    }
    tx.link(dir, name, o.ino);
    touchDir(tx, meta, dir, now, o.kind === 'dir' ? 1 : 0);
    // A directory's count does not depend on its names (its own is fixed above if wrong); anything else now has one.
    if (o.kind !== 'dir') tx.putInode({ ...meta.getInode(o.ino)!, nlink: 1, ctimeMs: now });
    settle(o.problem, true, `linked as /${LOST_FOUND}/${name}`);
  }
}
