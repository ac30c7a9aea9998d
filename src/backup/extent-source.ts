/**
 * A backup's reads from the pool: an extent's verified bytes by its id (engine/
 * extent-reader.ts readExtent, which checks them against their BLAKE3), with the pool's
 * small-file packs kept in a small cache so that the many files of one pack cost one
 * read of it, not one each.
 */
import { DfsError } from '../errors';
import { readExtent } from '../engine/extent-reader';
import type { EngineServices } from '../engine/context';
import type { Extent } from '../meta/records';

type Reader = Pick<EngineServices, 'pool' | 'meta' | 'packs' | 'health' | 'placement' | 'recordReadFailures'>;

export class ExtentSource {
  private readonly packCache = new Map<string, Promise<Buffer>>();

  constructor(private readonly engine: Reader, private readonly maxPacks = 16) {}

  /** The bytes of extent `id` (any generation's: a snapshot's ended extents too), verified. */
  async read(id: Buffer): Promise<Buffer> {
    const e = this.engine.meta.getExtent(id);
    if (!e) throw new DfsError('EMETACORRUPT', `extent ${id.toString('hex')} is named by the snapshot but not in the metadata store`, undefined, { extent: id.toString('hex') });
    return readExtent(this.engine, e, (p) => this.pack(p));
  }

  private pack(p: Extent): Promise<Buffer> {
    const key = p.id.toString('hex');
    let hit = this.packCache.get(key);
    if (hit) {
      this.packCache.delete(key);
      this.packCache.set(key, hit);
      return hit;
    }
    hit = readExtent(this.engine, p);
    hit.catch(() => this.packCache.delete(key));
    this.packCache.set(key, hit);
    if (this.packCache.size > this.maxPacks) this.packCache.delete(this.packCache.keys().next().value as string);
    return hit;
  }
}
