/**
 * A bounded cache of verified extent bytes, keyed by extent id. Extents are immutable
 * (a rewrite makes a new id), so an entry can never be stale; it is only evicted,
 * least recently used first, when the cache passes its byte budget. Pending reads are
 * cached too, so a read-ahead and the read it anticipates share one fetch. A packed
 * extent is served from its pack, which is what the cache holds: the small files of one
 * pack, read one after another, cost one fetch.
 */
import type { Engine } from '../engine/engine';
import { readExtent } from '../engine/extent-reader';
import type { Extent } from '../meta/records';

export class ExtentCache {
  private entries = new Map<string, { bytes: number; value: Promise<Buffer> }>();
  private used = 0;

  constructor(private readonly engine: Engine, private readonly budgetBytes = 64 * 1024 * 1024) {}

  /** The extent's logical bytes, verified (from the cache or the disks). */
  get(e: Extent): Promise<Buffer> {
    return e.scheme === 'packed' ? readExtent(this.engine, e, (pack) => this.lookup(pack, true)) : this.lookup(e, true);
  }

  /** Start fetching an extent in the background (read-ahead); errors surface on the real read. */
  prefetch(e: Extent): void {
    const fetch = e.scheme === 'packed' ? readExtent(this.engine, e, (pack) => this.lookup(pack, false)) : this.lookup(e, false);
    fetch.catch(() => undefined);
  }

  /** Hits and misses are counted for reads only: a read-ahead is neither. */
  private lookup(e: Extent, counted: boolean): Promise<Buffer> {
    const key = e.id.toString('hex');
    const hit = this.entries.get(key);
    const metrics = this.engine.metrics;
    if (hit) {
      if (counted) metrics.cacheHits.inc();
      this.entries.delete(key); // re-insert: Map order is our LRU order
      this.entries.set(key, hit);
      return hit.value;
    }
    if (counted) metrics.cacheMisses.inc();
    const value = readExtent(this.engine, e);
    const entry = { bytes: e.length, value };
    this.entries.set(key, entry);
    this.used += e.length;
    // A failed read must not stay cached: the next try may succeed (a disk came back).
    value.catch(() => {
      if (this.entries.get(key) === entry) this.drop(key);
    });
    this.evict();
    metrics.cacheBytes.set(this.used);
    return value;
  }

  private evict(): void {
    for (const key of this.entries.keys()) {
      if (this.used <= this.budgetBytes) break;
      this.drop(key);
    }
  }

  private drop(key: string): void {
    const e = this.entries.get(key);
    if (!e) return;
    this.entries.delete(key);
    this.used -= e.bytes;
    this.engine.metrics.cacheBytes.set(this.used);
  }
}
