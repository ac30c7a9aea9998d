/**
 * The mount's open files: one OpenFile per open inode, shared by its handles (so every
 * handle reads what any handle wrote), and the handle numbers fuse-native passes back.
 */
import { DfsError } from '../errors';
import type { Inode } from '../meta/records';
import type { OpenFile } from './open-file';

export class OpenFiles {
  private readonly byIno = new Map<number, OpenFile>();
  private readonly byFd = new Map<number, OpenFile>();

  /** make: a new OpenFile for an inode no handle has open yet; newFd: a handle number no other handle of the mount has. */
  constructor(private readonly make: (i: Inode) => OpenFile, private readonly newFd: () => number) {}

  isOpen = (ino: number): boolean => this.byIno.has(ino);

  /** The inode's OpenFile while some handle has it open. */
  of(ino: number): OpenFile | undefined {
    return this.byIno.get(ino);
  }

  /** Every open file (to commit them all). */
  all(): OpenFile[] {
    return [...this.byIno.values()];
  }

  /** A new handle on `i`. */
  open(i: Inode): number {
    let f = this.byIno.get(i.ino);
    if (!f) {
      f = this.make(i);
      this.byIno.set(i.ino, f);
    }
    f.refs++;
    const fd = this.newFd();
    this.byFd.set(fd, f);
    return fd;
  }

  /** The file behind handle `fd`; EBADF if none. */
  handle(fd: number): OpenFile {
    const f = this.byFd.get(fd);
    if (!f) throw new DfsError('EBADF', `no open file with handle ${fd}`);
    return f;
  }

  /**
   * Close handle `fd`, committing what was written (a clean file has nothing to commit,
   * and does not wait behind a group commit). When it was the inode's last handle and
   * nothing is left to commit, the file is forgotten and `onLast(ino)` runs (an unlinked
   * file goes then).
   */
  async release(fd: number, onLast: (ino: number) => Promise<void>): Promise<void> {
    const f = this.handle(fd);
    this.byFd.delete(fd);
    try {
      if (!f.clean) await f.commit();
    } finally {
      f.refs--;
      if (f.refs === 0 && f.clean) {
        this.byIno.delete(f.ino);
        await onLast(f.ino);
      }
    }
  }
}
