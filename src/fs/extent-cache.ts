/**
 * A bounded cache of verified extent bytes, keyed by extent id. Extents are immutable
 * (a rewrite makes a new id), so an entry can never be stale; it is only evicted,
 * least recently used first, when the cache passes its byte budget. Pending reads are
 * cached too, so a read-ahead and the read it anticipates share one fetch. A packed
 * extent is served from its pack, which is what the cache holds: the small files of one
 * pack, read one after another, cost one fetch.
 *
 * The budget and the read-ahead its readers use are settings (read-tuning.ts); configure()
 * takes new values at once, a smaller budget evicting down to it there and then.
 */
import type { Engine } from '../engine/engine';
import { readExtent } from '../engine/extent-reader';
import type { Extent } from '../meta/records';
import { readTuning, type ReadTuning } from './read-tuning';

export class ExtentCache {
  private entries = new Map<string, { bytes: number; value: Promise<Buffer> }>();
  private used = 0;
  private budgetBytes = 0;
  /** Extents a sequential reader fetches ahead through this cache (OpenFile.read). */
  aheadExtents = 0;

  constructor(private readonly engine: Engine, tuning: ReadTuning = readTuning(engine.meta)) {
    this.configure(tuning);
  }

  /** New settings, at once: a smaller budget evicts least recently used extents down to it now. */
  configure(tuning: ReadTuning): void {
    this.budgetBytes = tuning.cacheBytes;
    this.aheadExtents = tuning.aheadExtents;
    this.evict();
    this.engine.metrics.cacheBudget.set(this.budgetBytes);
    this.engine.metrics.cacheBytes.set(this.used);
  }

  /** The extent's logical bytes, verified (from the cache or the disks). */
  get(e: Extent): Promise<Buffer> {
    return e.scheme === 'packed' ? readExtent(this.engine, e, (pack) => this.lookup(pack, true)) : this.lookup(e, true);
  }

  /** Start fetching an extent in the background (read-ahead); errors surface on the real read. */
  prefetch(e: Extent): void {
    const fetch = e.scheme === 'packed' ? readExtent(this.engine, e, (pack) => this.lookup(pack, false)) : this.lookup(e, false);
    fetch.catch(() => undefined);
  }

  /** Hits and misses are counted for reads only; a read-ahead that fetches is a prefetch. */
  private lookup(e: Extent, read: boolean): Promise<Buffer> {
    const key = e.id.toString('hex');
    if (read) this.engine.access.touch(e.id); // a read, from the cache or not, is an access (tier migration)
    const hit = this.entries.get(key);
    const metrics = this.engine.metrics;
    if (hit) {
      if (read) metrics.cacheHits.inc();
      this.entries.delete(key); // re-insert: Map order is our LRU order
      this.entries.set(key, hit);
      return hit.value;
    }
    (read ? metrics.cacheMisses : metrics.cachePrefetches).inc();
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
