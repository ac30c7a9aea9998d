/** What the mount's getattr and readdir report, for the live tree (vfs.ts) and snapshots (snapshot-dir.ts) alike. */
import type { Inode, InodeKind } from '../meta/records';

/** What getattr reports: the inode's fields, with the size an open file has now. `mode` is
 * the permission bits only; the FUSE layer adds the type bits. */
export type Attr = Pick<Inode, 'ino' | 'kind' | 'mode' | 'uid' | 'gid' | 'size' | 'nlink' | 'atimeMs' | 'mtimeMs' | 'ctimeMs' | 'rdev'>;

/** A directory entry as readdir reports it (for d_ino and d_type). */
export interface DirEntry {
  name: string;
  ino: number;
  kind: InodeKind;
}
