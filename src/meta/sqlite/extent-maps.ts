/**
 * Verified extent records by id, and whole extent maps by inode, kept coherent by this
 * connection's writes (the one writer), as NamespaceCache keeps inodes. The mount would
 * otherwise pay a query, a blob read and a checksum on every open(2) (extentsOf, ~100 µs:
 * most of `tar --compare`'s open) and two more on every read of a packed file (its own
 * record, to follow compaction, and its pack's).
 *
 * Every write to the extents and fragments tables goes through extents.ts, which tells
 * this cache in the same call: put (INSERT OR REPLACE), drop, forget. A rolled-back
 * transaction clears everything (its writes had already been applied here). Bounded by
 * bytes (inline data plus a fixed cost per record): past the budget the least recently
 * used records go, and with one of them the map of its inode (no longer complete).
 */
import type { Extent } from '../records';

/** What a record costs beside its inline data (ids, hashes, fragment refs, Map entries). */
const RECORD_BYTES = 512;

/** A cached extent is our own copy: callers may keep what they get but never share our arrays. */
function copyOf(e: Extent): Extent {
  return { ...e, fragments: [...e.fragments] };
}

function sizeOf(e: Extent): number {
  return RECORD_BYTES + (e.inlineData?.length ?? 0);
}

export class ExtentMapCache {
  private bytes = 0;
  /** Every cached record by hex id; Map order is LRU order. */
  private readonly byId = new Map<string, Extent>();
  /** Inodes whose complete extent map is cached: the hex ids of all their extents. */
  private readonly maps = new Map<number, Set<string>>();

  constructor(private readonly maxBytes = 64 * 1024 * 1024) {}

  /** The inode's extents in offset order, or undefined when its map is not cached. */
  map(ino: number): Extent[] | undefined {
    const ids = this.maps.get(ino);
    if (!ids) return undefined;
    const out: Extent[] = [];
    for (const key of ids) out.push(copyOf(this.touch(key)));
    return out.sort((a, b) => a.offset - b.offset);
  }

  /** The record with this id, or undefined when not cached. */
  get(id: Buffer): Extent | undefined {
    const key = id.toString('hex');
    return this.byId.has(key) ? copyOf(this.touch(key)) : undefined;
  }

  /** Remember the inode's complete map, as the store returned it (verified). */
  setMap(ino: number, extents: readonly Extent[]): void {
    this.forget(ino);
    const ids = new Set<string>();
    for (const e of extents) ids.add(this.store(e));
    this.maps.set(ino, ids);
    this.evict();
  }

  /**
   * A record the store returned (verified), or putExtent's INSERT OR REPLACE: the row with this id, and any row of the same inode at
   * the same offset (the unique index makes SQLite delete it), give way to `e`.
   */
  put(e: Extent): void {
    const key = e.id.toString('hex');
    const before = this.byId.get(key);
    if (before && before.ino !== e.ino) this.drop(e.id);
    const ids = this.maps.get(e.ino);
    if (ids) {
      for (const other of ids) if (other !== key && this.byId.get(other)!.offset === e.offset) this.remove(other);
    }
    this.store(e);
    ids?.add(key);
    this.evict();
  }

  /** dropExtent: the record is gone, and from its inode's map. */
  drop(id: Buffer): void {
    this.remove(id.toString('hex'));
  }

  /** dropExtents: the inode's map and every record in it go. */
  forget(ino: number): void {
    const ids = this.maps.get(ino);
    if (!ids) return;
    this.maps.delete(ino);
    for (const key of ids) this.remove(key);
  }

  clear(): void {
    this.byId.clear();
    this.maps.clear();
    this.bytes = 0;
  }

  private touch(key: string): Extent {
    const e = this.byId.get(key)!;
    this.byId.delete(key);
    this.byId.set(key, e);
    return e;
  }

  private store(e: Extent): string {
    const key = e.id.toString('hex');
    const old = this.byId.get(key);
    if (old) {
      this.bytes -= sizeOf(old);
      this.byId.delete(key);
    }
    this.byId.set(key, copyOf(e));
    this.bytes += sizeOf(e);
    return key;
  }

  private remove(key: string): void {
    const e = this.byId.get(key);
    if (!e) return;
    this.byId.delete(key);
    this.bytes -= sizeOf(e);
    this.maps.get(e.ino)?.delete(key);
  }

  /** Least recently used first; a map that loses a record is no longer complete, so it goes too. */
  private evict(): void {
    while (this.bytes > this.maxBytes) {
      const key = this.byId.keys().next().value as string;
      const ino = this.byId.get(key)!.ino;
      this.remove(key);
      this.maps.delete(ino);
    }
  }
}
