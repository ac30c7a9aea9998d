/**
 * A backup's reads from the pool: an extent's verified bytes from its record as the
 * snapshot's walk read it (engine/extent-reader.ts checks them against their BLAKE3; an
 * inline extent's bytes come with its record, verified with it), so a file costs no
 * metadata lookup beyond the walk's own. The pool's
 * small-file packs are kept in a small cache: the many files of one pack cost one read
 * of it, and a packed file is cut from it by the place its record names, its BLAKE3
 * checked; only when that fails (compaction moved it since) does the engine's own path
 * look up where its bytes are now.
 */
import { DfsError } from '../errors';
import { copyExtentTo, readExtent, readExtentParts } from '../engine/extent-reader';
import type { EngineServices } from '../engine/context';
import type { Extent } from '../meta/records';
import type { NamespaceView } from '../meta/store';
import { hashOf } from './pack-reader';
import type { PackWriter } from './pack-writer';

type Reader = Pick<EngineServices, 'pool' | 'meta' | 'packs' | 'health' | 'placement' | 'recordReadFailures'>;

export class ExtentSource {
  private readonly packCache = new Map<string, Promise<Buffer | undefined>>();
  /** Records the walk read, by hex id, until their bytes are read (see `capture`). */
  private readonly records = new Map<string, Extent>();

  constructor(private readonly engine: Reader, private readonly maxPacks = 16) {}

  /** `view` with every extent record it reads kept here, for `read` (each dropped once read). */
  capture(view: NamespaceView): NamespaceView {
    return {
      gen: view.gen,
      getInode: (ino) => view.getInode(ino),
      lookup: (parent, name) => view.lookup(parent, name),
      readdir: (parent) => view.readdir(parent),
      linksOf: (ino) => view.linksOf(ino),
      pathOf: (ino) => view.pathOf(ino),
      getXattr: (ino, name) => view.getXattr(ino, name),
      xattrs: (ino) => view.xattrs(ino),
      extentsOf: (ino) => {
        const out = view.extentsOf(ino);
        for (const e of out) this.records.set(e.id.toString('hex'), e);
        return out;
      },
    };
  }

  /** Forget a captured record whose bytes will not be read (the repository has them). */
  skip(id: Buffer): void {
    this.records.delete(id.toString('hex'));
  }

  /**
   * Store extent `id`'s bytes, verified, as the object `hash` of `packs` unless it is there
   * (true when it was new). An RS extent is copied by the stores straight into its place in
   * the pack; any other is read here first.
   */
  async storeInto(packs: PackWriter, id: Buffer, hash: Buffer): Promise<boolean> {
    const e = this.record(id);
    if (e.scheme !== 'rs') return packs.add(hash, await this.bytesOf(e));
    return packs.addCopy(hash, e.length, (slot) => copyExtentTo(this.engine, e, slot, (p) => this.packBytes(p)));
  }

  /** The record the walk read for extent `id` (then forgotten), else the store's. */
  private record(id: Buffer): Extent {
    const key = id.toString('hex');
    const e = this.records.get(key) ?? this.engine.meta.getExtent(id);
    this.records.delete(key);
    if (!e) throw new DfsError('EMETACORRUPT', `extent ${key} is named by the snapshot but not in the metadata store`, undefined, { extent: key });
    return e;
  }

  /** Extent `e`'s bytes (any generation's: a snapshot's ended extents too), verified, as consecutive pieces. */
  private async bytesOf(e: Extent): Promise<Buffer[]> {
    // An inline extent's bytes and their BLAKE3 are in its record, whose checksum the store verified as it read it.
    if (e.scheme === 'inline' && e.inlineData && e.inlineData.length === e.length) return [e.inlineData];
    if (e.scheme === 'packed' && e.pack) {
      const whole = await this.pack(e.pack.id);
      const bytes = whole?.subarray(e.pack.offset, e.pack.offset + e.length);
      // Small slices hashed here: a trip to the thread pool per file cost more than the hashing (measured).
      if (bytes && bytes.length === e.length && (await hashOf(bytes)).equals(e.logicalHash)) return [bytes];
    }
    return readExtentParts(this.engine, e, (p) => this.packBytes(p));
  }

  /** A pack extent's bytes by its id, from the cache; undefined when the store has no such pack now. */
  private pack(id: Buffer): Promise<Buffer | undefined> {
    const key = id.toString('hex');
    const hit = this.packCache.get(key);
    if (hit) return this.touch(key, hit);
    const pending = this.engine.packs.bytes(id);
    if (pending) return Promise.resolve(pending);
    const rec = this.engine.meta.getExtent(id);
    return rec ? this.packBytes(rec) : Promise.resolve(undefined);
  }

  private packBytes(p: Extent): Promise<Buffer> {
    const key = p.id.toString('hex');
    const hit = this.packCache.get(key);
    if (hit) return this.touch(key, hit) as Promise<Buffer>;
    const read = readExtent(this.engine, p);
    read.catch(() => this.packCache.delete(key));
    this.packCache.set(key, read);
    if (this.packCache.size > this.maxPacks) this.packCache.delete(this.packCache.keys().next().value as string);
    return read;
  }

  private touch<T>(key: string, p: Promise<T>): Promise<T> {
    this.packCache.delete(key);
    this.packCache.set(key, p as Promise<Buffer | undefined>);
    return p;
  }
}
