/**
 * Inode numbers (st_ino, d_ino) for what the mount shows under /.snapshots. The mount
 * uses use_ino, and tar, du and cp -a take two entries with one st_ino for hard links of
 * one file, so a snapshot's inodes must not share numbers with the live tree or with
 * another snapshot, while the hard links within one snapshot do share theirs.
 *
 * fuse-native hands the kernel 32 bits of st_ino (src/fuse/fuse-types.ts), so a formula
 * such as ino + snapshotId * 2^37 would come out as the live inode's own number. The
 * numbers are given out instead, one per (snapshot, inode) on first sight, from the upper
 * half of the 32-bit range (live inodes are numbered upwards from 1 and stay below it):
 * stable for the life of the mount, and forgotten with a snapshot that was deleted.
 */

/** The first number of the range; /.snapshots itself has it. */
export const SNAPSHOT_INO_BASE = 2 ** 31;

/** Numbers in the range: 2^31 - 1 (inode, snapshot) pairs per mount before one repeats. */
const RANGE = 2 ** 31;

export class SnapshotInos {
  /** By snapshot id, then live inode number: the offset above SNAPSHOT_INO_BASE (a small integer: cheap to keep). */
  private readonly bySnapshot = new Map<number, Map<number, number>>();
  private given = 0;

  /** The number of /.snapshots itself. */
  readonly top = SNAPSHOT_INO_BASE;

  /** The number inode `ino` of snapshot `snapshotId` shows under /.snapshots. */
  of(snapshotId: number, ino: number): number {
    let inos = this.bySnapshot.get(snapshotId);
    if (!inos) this.bySnapshot.set(snapshotId, (inos = new Map()));
    let n = inos.get(ino);
    if (n === undefined) {
      this.given = (this.given % (RANGE - 1)) + 1; // 1 .. 2^31-1, then round again
      n = this.given;
      inos.set(ino, n);
    }
    return SNAPSHOT_INO_BASE + n;
  }

  /** Forget the numbers of snapshots not in `existing` (deleted ones). */
  keepOnly(existing: ReadonlySet<number>): void {
    for (const id of this.bySnapshot.keys()) if (!existing.has(id)) this.bySnapshot.delete(id);
  }

  /** How many numbers are held (for tests and memory). */
  get size(): number {
    let n = 0;
    for (const m of this.bySnapshot.values()) n += m.size;
    return n;
  }
}
