/**
 * Where the engine plugs its metrics into the layers below, which stay free of
 * prom-client: every disk is wrapped in a MeteredStore, the metadata store's commit
 * hook feeds the transaction figures and the generation, and the event sink's drop
 * listener counts the events it could not write.
 */
import type { Metrics } from '../metrics/metrics';
import { MeteredStore } from '../pool/metered-store';
import type { Pool } from '../pool/pool';

export function instrumentPool(pool: Pool, metrics: Metrics): void {
  pool.decorateStores((s) => new MeteredStore(s, metrics));
  metrics.generation.set(pool.meta.generation());
  pool.meta.onCommit = (c) => {
    metrics.metaCommits.inc();
    metrics.metaCommitSeconds.observe(c.commitSeconds);
    metrics.metaTxnSeconds.observe(c.heldSeconds);
    metrics.generation.set(c.generation);
  };
  pool.events.onDropped(() => metrics.eventsDropped.inc());
}
