/**
 * `check`, the extent records: each verifies against its checksum, belongs to a regular
 * file that exists (or to PACK_INO: a pack), lies within its file's size; a packed
 * extent's pack exists (else its bytes are lost); a pack still holds a packed extent
 * (else it is garbage). Synchronous, so that inside a coordinator nothing changes under
 * the walk; --repair's part (dropping unused packs) runs in the caller's transaction.
 */
import { DfsError } from '../errors';
import { ownsFragments, PACK_INO, type Extent, type Inode } from '../meta/records';
import type { Txn } from '../meta/store';
import { pathOrNull, problem, settle, type CheckProblem } from './check-problems';
import type { Damaged } from './check-records';
import type { DroppedExtent, EngineServices } from './context';

type Engine = Pick<EngineServices, 'meta' | 'packs'>;

/** A fragment file's bytes on disk: a 4 KiB header and the payload padded to 4 KiB (docs/FORMAT.md). */
export function fragmentFileBytes(e: Pick<Extent, 'fragLen'>): number {
  return 4096 + Math.ceil(e.fragLen / 4096) * 4096;
}

export interface ExtentScan {
  problems: CheckProblem[];
  extents: number;
  /** Bytes of the fragment files the store references (the fragment check's progress total). */
  fragmentBytes: number;
  /** Records failing their checksum, for --repair to heal from the disks' copies. */
  damaged: Damaged[];
  /** The unused-pack problems, with the pack ids --repair drops. */
  unusedPacks: { id: Buffer; problem: CheckProblem }[];
}

/** The value, or undefined when the record fails its checksum (the caller reports that once, elsewhere). */
export function unlessCorrupt<T>(read: () => T): { value: T } | undefined {
  try {
    return { value: read() };
  } catch (err) {
    if (err instanceof DfsError && err.code === 'EMETACORRUPT') return undefined;
    throw err;
  }
}

export function scanExtents(engine: Engine): ExtentScan {
  const meta = engine.meta;
  const out: ExtentScan = { problems: [], extents: 0, fragmentBytes: 0, damaged: [], unusedPacks: [] };
  const packs: Buffer[] = [];
  const usedPacks = new Set<string>();
  const fileEnds = new Map<number, number>();
  for (const batch of meta.allExtentIds(500)) {
    for (const id of batch) {
      out.extents++;
      const hex = id.toString('hex');
      const read = unlessCorrupt(() => meta.getExtent(id));
      if (!read) {
        const p = problem('extent-corrupt', `extent record ${hex} fails its checksum`, { extent: hex });
        out.problems.push(p);
        out.damaged.push({ ref: { kind: 'extent', id }, problem: p });
        continue;
      }
      const e = read.value;
      if (!e) continue; // dropped since the id was listed
      if (ownsFragments(e)) out.fragmentBytes += e.fragments.length * fragmentFileBytes(e);
      if (e.ino === PACK_INO) {
        packs.push(e.id);
        continue;
      }
      // Kept for snapshots (or as the bytes of a clone's extents): no live file owns it any more.
      if (e.died != null) {
        if (e.pack) usedPacks.add(e.pack.id.toString('hex'));
        continue;
      }
      const owner = unlessCorrupt(() => meta.getInode(e.ino));
      if (owner) checkOwner(meta, out.problems, e, owner.value);
      if (owner?.value?.kind === 'file') fileEnds.set(e.ino, Math.max(fileEnds.get(e.ino) ?? 0, e.offset + e.length));
      if (e.scheme === 'packed' && e.pack) {
        usedPacks.add(e.pack.id.toString('hex'));
        const pack = unlessCorrupt(() => meta.getExtent(e.pack!.id));
        // A pack still filling, or written by a commit in progress, is served from memory until its row is in.
        if (pack && !pack.value && !engine.packs.bytes(e.pack.id)) {
          out.problems.push(problem('pack-missing', `${pathOrNull(meta, e.ino) ?? `inode ${e.ino}`}: the bytes at ${e.offset} (${e.length}) were packed in `
            + `pack ${e.pack.id.toString('hex')}, which does not exist: they are lost`,
          { path: pathOrNull(meta, e.ino), inode: e.ino, extent: hex }));
        }
      }
    }
  }
  for (const [ino, end] of fileEnds) {
    const inode = meta.getInode(ino)!;
    if (end > inode.size) {
      out.problems.push(problem('size-short', `${pathOrNull(meta, ino) ?? `inode ${ino}`}: size ${inode.size} is shorter than the end of its last extent (${end})`,
        { path: pathOrNull(meta, ino), inode: ino }));
    }
  }
  for (const id of packs) {
    if (usedPacks.has(id.toString('hex'))) continue;
    // A packed extent whose record is corrupt might still point here: then the pack is not known unused.
    const refs = unlessCorrupt(() => meta.packRefs(id));
    if (!refs || refs.value.length > 0) continue;
    const p = problem('unused-pack', `pack ${id.toString('hex')} holds no file's bytes any more (garbage)`, { extent: id.toString('hex') });
    out.problems.push(p);
    out.unusedPacks.push({ id, problem: p });
  }
  return out;
}

function checkOwner(meta: Engine['meta'], problems: CheckProblem[], e: Extent, owner: Inode | undefined): void {
  const hex = e.id.toString('hex');
  if (!owner) {
    problems.push(problem('extent-without-inode', `extent ${hex} belongs to inode ${e.ino}, which does not exist`, { inode: e.ino, extent: hex }));
  } else if (owner.kind !== 'file') {
    problems.push(problem('extent-owner-not-file', `extent ${hex} belongs to inode ${e.ino}, a ${owner.kind}, not a regular file`,
      { path: pathOrNull(meta, e.ino), inode: e.ino, extent: hex }));
  }
}

/** --repair, inside `tx`: drop the packs no packed extent uses; returns their fragments, to delete after the commit. */
export function dropUnusedPacks(tx: Txn, scan: ExtentScan): DroppedExtent[] {
  const dropped: DroppedExtent[] = [];
  for (const u of scan.unusedPacks) {
    dropped.push(...tx.dropExtent(u.id));
    settle(u.problem, true, 'dropped the pack (its fragments are deleted after the commit)');
  }
  return dropped;
}
