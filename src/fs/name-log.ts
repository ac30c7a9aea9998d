/**
 * The open group's namespace changes that the intent log can carry ahead of a group
 * commit, as ext4's fast commits do: a regular file created through the mount, and a
 * name unlinked. An fsync of a file created in the open group appends every one of them
 * not logged yet, in order (a change may need the ones before it: a name unlinked and
 * created again, as SQLite does with its rollback journal), before the file's own
 * records (file-log.ts), instead of committing the group. Replay applies them on the
 * committed generation (log-replay.ts).
 *
 * Any other namespace change in the open group — mkdir, rmdir, rename, link, symlink,
 * mknod, one made outside the mount — means the log cannot carry the group's names:
 * the store counts every entry linked or unlinked (MetaStore.nameChanges), and when that
 * count is not what the changes here account for, fsyncs of new files commit the group,
 * until it has.
 */
import { Packr } from 'msgpackr';
import type { LogEntry } from '../engine/intent-log';
import type { Inode } from '../meta/records';
import type { MetaStore } from '../meta/store';

export type NameChange =
  | { op: 'create'; parent: number; name: string; inode: Inode }
  | { op: 'unlink'; parent: number; name: string; ino: number };

const packr = new Packr({ useRecords: false, moreTypes: false });

/** A name record's data (docs/FORMAT.md): the change as a msgpack map. */
export function encodeNameChange(c: NameChange): Buffer {
  return packr.pack(c);
}

export function decodeNameChange(data: Buffer): NameChange {
  return packr.unpack(data) as NameChange;
}

/**
 * More changes than this not logged yet: fsyncs commit the group (one commit beats that
 * many records), and they are no longer kept.
 */
const MAX_UNLOGGED = 1024;

export class NameLog {
  /** Changes of the open group not in the log yet, in order, with their time. */
  private unlogged: { change: NameChange; atMs: number }[] = [];
  /** More than MAX_UNLOGGED were not logged: the group must commit. */
  private overflow = false;
  /** The store's count at the last group commit, and the entries linked or unlinked here since. */
  private base: number;
  private counted = 0;

  constructor(private readonly store: MetaStore) {
    this.base = store.nameChanges();
  }

  /** A regular file created at parent/name (call right after its transaction). */
  created(parent: number, name: string, inode: Inode): void {
    this.add({ op: 'create', parent, name, inode }, inode.ctimeMs);
  }

  /** The entry parent/name of inode `ino` unlinked (call right after its transaction). */
  unlinked(parent: number, name: string, ino: number, atMs: number): void {
    this.add({ op: 'unlink', parent, name, ino }, atMs);
  }

  /** Each change linked or unlinked exactly one entry. */
  private add(change: NameChange, atMs: number): void {
    this.counted++;
    if (this.overflow) return;
    this.unlogged.push({ change, atMs });
    if (this.unlogged.length > MAX_UNLOGGED) {
      this.overflow = true;
      this.unlogged = [];
    }
  }

  /** Whether every name change of the open group is one the log can carry. */
  get carriable(): boolean {
    return !this.overflow && this.store.nameChanges() === this.base + this.counted;
  }

  /** Name changes of the open group not logged yet. */
  get pending(): number {
    return this.unlogged.length;
  }

  /** The log entries of every change not logged yet (give them back if the append fails). */
  take(): { entries: LogEntry[]; giveBack: () => void } {
    const taken = this.unlogged;
    this.unlogged = [];
    const entries = taken.map(({ change, atMs }): LogEntry => ({
      name: true, ino: change.op === 'create' ? change.inode.ino : change.ino, offset: 0, size: 0, mtimeMs: atMs, data: encodeNameChange(change),
    }));
    return { entries, giveBack: () => { this.unlogged = [...taken, ...this.unlogged]; } };
  }

  /** A group committed (synchronously with its COMMIT): it holds every change so far. */
  groupCommitted(): void {
    this.unlogged = [];
    this.overflow = false;
    this.base = this.store.nameChanges();
    this.counted = 0;
  }
}
