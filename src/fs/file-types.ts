/** st_mode's bits: the file type (getattr, readdir, mknod), the rest of a mode, set-group-ID. */
import type { InodeKind, SpecialKind } from '../meta/records';

export const S_IFMT = 0o170000;
/** The bits of a mode that are not its type: permissions, set-user-ID, set-group-ID, sticky. */
export const MODE_BITS = 0o7777;
/** A directory with it passes its group on to what is created in it (as on ext4). */
export const S_ISGID = 0o2000;

/** The type bits of each kind. */
export const S_IF: Readonly<Record<InodeKind, number>> = { file: 0o100000, dir: 0o040000, symlink: 0o120000, fifo: 0o010000,
  socket: 0o140000, chardev: 0o020000, blockdev: 0o060000 };

const SPECIAL: Readonly<Record<number, SpecialKind>> = { [S_IF.fifo]: 'fifo', [S_IF.socket]: 'socket', [S_IF.chardev]: 'chardev',
  [S_IF.blockdev]: 'blockdev' };

/** The special kind mknod's mode asks for, or undefined (a regular file, a directory, ...). */
export function specialKind(mode: number): SpecialKind | undefined {
  return SPECIAL[mode & S_IFMT];
}
