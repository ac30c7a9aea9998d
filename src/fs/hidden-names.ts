/**
 * libfuse renames an open file that is being unlinked to DIR/.fuse_hiddenXXXX and
 * unlinks that name at the last release, so the kernel can still reach it by path
 * (fstat). A real entry by that name would keep DIR from being removed, so the mount
 * takes that rename as the unlink it is, and the hidden name resolves through this map
 * (name -> inode) until libfuse unlinks it or the inode's last handle closes.
 */

/** The name libfuse gives an open file that is unlinked (lib/fuse.c, hidden_name: its node id and a counter). */
const FUSE_HIDDEN = /\/(\.fuse_hidden[0-9a-f]{16})$/;

/** The hidden name in `path`, or undefined. Unique in the mount, so it keys the file even after its directory moves. */
export function hiddenName(path: string): string | undefined {
  return FUSE_HIDDEN.exec(path)?.[1];
}

export class HiddenNames {
  private readonly byName = new Map<string, number>();

  /** The inode `path` names if it is a hidden name in use. getattr's hot path: no regex while none is. */
  inodeAt(path: string): number | undefined {
    return this.byName.size > 0 ? this.byName.get(hiddenName(path) ?? '') : undefined;
  }

  hide(name: string, ino: number): void {
    this.byName.set(name, ino);
  }

  /** libfuse unlinks the hidden name at `path`: forget it and return its inode (undefined if it is none of ours). */
  take(path: string): number | undefined {
    const name = hiddenName(path);
    const ino = name === undefined ? undefined : this.byName.get(name);
    if (ino !== undefined) this.byName.delete(name!);
    return ino;
  }

  /** The inode's last handle closed: its hidden names resolve no more. */
  forget(ino: number): void {
    for (const [name, i] of this.byName) if (i === ino) this.byName.delete(name);
  }
}
