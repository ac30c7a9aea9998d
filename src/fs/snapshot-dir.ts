/**
 * /.snapshots in the mount: each snapshot's tree as of its generation, read-only, as ZFS
 * shows .zfs/snapshot. /.snapshots/NAME is snapshot NAME's root; below it every lookup,
 * readdir, getattr, readlink and extended attribute comes from the store's view at that
 * generation (meta/ NamespaceView, every record verified), and file reads go through the
 * mount's extent cache and extent-reads.ts like any file's (verified extent reads). Every
 * change under /.snapshots, and of /.snapshots itself, is EROFS (vfs.ts refuses it).
 *
 * A snapshot is looked up by name at each operation, so one deleted meanwhile is ENOENT
 * from then on; a handle open on one of its files answers ENOENT too (its snapshot id is
 * checked before each read, and again when a read fails, as its extents may be going).
 * Its entries have inode numbers of their own (snapshot-inos.ts).
 *
 * The root entry `.snapshots` is listed by readdir of / only when the pool's setting
 * snapshots.visible is true; the path works either way. A live file or directory named
 * .snapshots at the root (made before this, or through the CLI) is shadowed in the mount:
 * readdir of / never lists it, and `dynamicfs mv POOL /.snapshots NEWNAME` reaches it.
 */
import { DfsError } from '../errors';
import type { Engine } from '../engine/engine';
import { sectionSettings, type ConfigSource } from '../config/values';
import type { Extent, Inode, Snapshot } from '../meta/records';
import { ROOT_INO, type NamespaceView } from '../meta/store';
import type { Attr, DirEntry } from './attrs';
import type { ExtentCache } from './extent-cache';
import { ExtentReads, type ExtentSlots } from './extent-reads';
import { SNAPSHOTS_DIR } from './dir-ops';
import { inodeOf, joinPath, lookupPath, parsePath } from './paths';
import { SnapshotInos } from './snapshot-inos';
import { xattrNames, xattrValue } from './xattrs';

/** The root's name for the snapshots directory. */
export { SNAPSHOTS_DIR };

/** The names below /.snapshots that `path` has ([] for /.snapshots itself), or undefined when it is not under it. */
export function snapshotPath(path: string): string[] | undefined {
  if (!path.startsWith(`/${SNAPSHOTS_DIR}`) && !path.startsWith(SNAPSHOTS_DIR)) return undefined; // the hot path: no parse
  const names = parsePath(path);
  return names[0] === SNAPSHOTS_DIR ? names.slice(1) : undefined;
}

/** EROFS for a change under /.snapshots. */
export function snapshotsReadOnly(path: string): DfsError {
  return new DfsError('EROFS', `${path}: snapshots are read-only (copy from them, or use \`dynamicfs snapshot rollback\` or \`snapshot clone\`)`, path);
}

/** The setting snapshots.visible: readdir of / lists .snapshots. */
export function snapshotsVisible(meta: ConfigSource): boolean {
  return sectionSettings<{ visible: boolean }>(meta, 'snapshots').visible;
}

/** A path below /.snapshots/NAME, resolved in its snapshot. */
interface Found {
  snap: Snapshot;
  view: NamespaceView;
  inode: Inode;
  /** The number `..` shows. */
  parentIno: number;
}

/** One open file of a snapshot: its extents are fixed, so its handles need nothing from the live tree. */
class SnapshotFile {
  private readonly byIndex = new Map<number, Extent>();
  private readonly reads: ExtentReads;
  private readonly slots: ExtentSlots;

  constructor(readonly snap: Snapshot, readonly attr: Attr, extents: Extent[], cache: ExtentCache, extentSize: number) {
    for (const e of extents) this.byIndex.set(Math.floor(e.offset / extentSize), e);
    this.reads = new ExtentReads(cache, extentSize);
    this.slots = {
      bytes: async (i) => {
        const e = this.byIndex.get(i);
        return e && { src: await cache.get(e), valid: e.length };
      },
      ahead: (i) => this.byIndex.get(i),
    };
  }

  read(pos: number, into: Buffer): Promise<number> {
    return this.reads.read(this.slots, this.attr.size, pos, into);
  }
}

export class SnapshotDir {
  private readonly inos = new SnapshotInos();
  private readonly files = new Map<number, SnapshotFile>();
  /** readdir of / lists .snapshots (the setting snapshots.visible, taken at once by applySettings). */
  visible: boolean;

  /** newFd: a handle number no other handle of the mount has. */
  constructor(private readonly engine: Engine, private readonly cache: ExtentCache, private readonly newFd: () => number) {
    this.visible = snapshotsVisible(engine.meta);
  }

  applySettings(): void {
    this.visible = snapshotsVisible(this.engine.meta);
  }

  private get meta() {
    return this.engine.meta;
  }

  /** The entry readdir of / shows for /.snapshots. */
  entry(): DirEntry {
    return { name: SNAPSHOTS_DIR, ino: this.inos.top, kind: 'dir' };
  }

  /** /.snapshots itself: read-only, owned as the root is, its times the newest snapshot's. */
  private topAttr(): Attr {
    const root = inodeOf(this.meta, ROOT_INO);
    const snaps = this.meta.snapshots();
    const t = snaps.reduce((m, s) => Math.max(m, s.createdMs), 0) || root.ctimeMs;
    return { ino: this.inos.top, kind: 'dir', mode: 0o555, uid: root.uid, gid: root.gid, size: 0, nlink: 2 + snaps.length,
      atimeMs: t, mtimeMs: t, ctimeMs: t, rdev: 0 };
  }

  private snapshot(name: string, path: string): Snapshot {
    const s = this.meta.getSnapshot(name);
    if (!s) throw new DfsError('ENOENT', `${path}: there is no snapshot named "${name}" (see \`dynamicfs snapshot list\`)`, path);
    return s;
  }

  /** names: below /.snapshots (the snapshot's name first); undefined for /.snapshots itself. */
  private find(names: string[], path: string): Found | undefined {
    if (names.length === 0) return undefined;
    const snap = this.snapshot(names[0]!, path);
    const view = this.meta.viewAt(snap.gen);
    let inode: Inode | undefined;
    let parent: Inode | undefined;
    try {
      ({ inode, parent } = lookupPath(view, joinPath(names.slice(1))));
    } catch (err) {
      if (err instanceof DfsError && (err.code === 'ENOENT' || err.code === 'ENOTDIR')) {
        throw new DfsError(err.code, `${path}: ${err.message} in snapshot "${snap.name}"`, path);
      }
      throw err;
    }
    if (!inode) throw new DfsError('ENOENT', `${path} does not exist in snapshot "${snap.name}"`, path);
    return { snap, view, inode, parentIno: parent ? this.inos.of(snap.id, parent.ino) : this.inos.top };
  }

  private attrOf(snap: Snapshot, i: Inode): Attr {
    const size = i.kind === 'symlink' ? Buffer.byteLength(i.target ?? '') : i.size;
    return { ino: this.inos.of(snap.id, i.ino), kind: i.kind, mode: i.mode, uid: i.uid, gid: i.gid, size, nlink: i.nlink,
      atimeMs: i.atimeMs, mtimeMs: i.mtimeMs, ctimeMs: i.ctimeMs, rdev: i.rdev };
  }

  getattr(names: string[], path: string): Attr {
    const f = this.find(names, path);
    return f ? this.attrOf(f.snap, f.inode) : this.topAttr();
  }

  /** The entries of a directory, `.` and `..` first; of /.snapshots, every snapshot. */
  readdir(names: string[], path: string): DirEntry[] {
    const f = this.find(names, path);
    if (!f) {
      const snaps = this.meta.snapshots();
      this.inos.keepOnly(new Set(snaps.map((s) => s.id))); // the numbers of deleted snapshots go
      return [{ name: '.', ino: this.inos.top, kind: 'dir' }, { name: '..', ino: ROOT_INO, kind: 'dir' },
        ...snaps.map((s): DirEntry => ({ name: s.name, ino: this.inos.of(s.id, ROOT_INO), kind: 'dir' }))];
    }
    if (f.inode.kind !== 'dir') throw new DfsError('ENOTDIR', `${path} is not a directory`, path);
    const own = this.inos.of(f.snap.id, f.inode.ino);
    return [{ name: '.', ino: own, kind: 'dir' }, { name: '..', ino: f.parentIno, kind: 'dir' },
      ...f.view.readdir(f.inode.ino).map((e): DirEntry => ({ name: e.name, ino: this.inos.of(f.snap.id, e.ino), kind: inodeOf(f.view, e.ino).kind }))];
  }

  readlink(names: string[], path: string): string {
    const f = this.find(names, path);
    if (f?.inode.kind !== 'symlink') throw new DfsError('EINVAL', `${path} is not a symlink`, path);
    return f.inode.target ?? '';
  }

  getxattr(names: string[], path: string, name: string): Buffer {
    const f = this.find(names, path);
    if (!f) throw new DfsError('ENODATA', `${path} has no ${name}`, path);
    return xattrValue(f.inode, name, (ino, n) => f.view.getXattr(ino, n), path);
  }

  listxattr(names: string[], path: string): string[] {
    const f = this.find(names, path);
    return f ? xattrNames(f.inode, [...f.view.xattrs(f.inode.ino).keys()]) : [];
  }

  /** open(2) of a snapshot's file, read-only (EROFS for any other access mode); returns the handle. */
  open(names: string[], path: string, flags: number): number {
    if ((flags & 3) !== 0) throw snapshotsReadOnly(path);
    const f = this.find(names, path);
    if (!f || f.inode.kind === 'dir') throw new DfsError('EISDIR', `${path} is a directory`, path);
    if (f.inode.kind !== 'file') throw new DfsError('ENXIO', `${path} is a ${f.inode.kind}, which the kernel opens, not the pool`, path);
    const file = new SnapshotFile(f.snap, this.attrOf(f.snap, f.inode), f.view.extentsOf(f.inode.ino), this.cache, this.engine.pool.superblock.extentSize);
    const fd = this.newFd();
    this.files.set(fd, file);
    return fd;
  }

  /** Whether `fd` is a handle on a snapshot's file. */
  has(fd: number): boolean {
    return this.files.has(fd);
  }

  /** The file behind `fd`, if its snapshot still exists (ENOENT once it was deleted). */
  private live(fd: number): SnapshotFile {
    const file = this.files.get(fd);
    if (!file) throw new DfsError('EBADF', `no open file with handle ${fd}`);
    if (!this.exists(file.snap)) throw this.deleted(file.snap);
    return file;
  }

  private exists(snap: Snapshot): boolean {
    return this.meta.getSnapshot(snap.name)?.id === snap.id;
  }

  private deleted(snap: Snapshot): DfsError {
    return new DfsError('ENOENT', `snapshot "${snap.name}" was deleted while its file was open`, `/${SNAPSHOTS_DIR}/${snap.name}`);
  }

  fgetattr(fd: number): Attr {
    return this.live(fd).attr;
  }

  async read(fd: number, into: Buffer, pos: number): Promise<number> {
    const file = this.live(fd);
    try {
      return await file.read(pos, into);
    } catch (err) {
      // Deleted during the read: its extents may be gone already, which is no damage to report.
      if (!this.exists(file.snap)) throw this.deleted(file.snap);
      throw err;
    }
  }

  release(fd: number): void {
    this.files.delete(fd);
  }
}
