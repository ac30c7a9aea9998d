/**
 * `metrics`: the engine's registry, in the Prometheus text format or as JSON — what
 * GET /metrics and /metrics/json serve. Through a coordinator these are its live
 * counters (every FUSE op, fragment and commit since it started); offline, a fresh
 * engine's, so the event counters are empty and the pool-state gauges are what tell.
 */
import type { Engine } from '../../engine/engine';
import { DfsError } from '../../errors';
import type { MetricsJson } from '../../metrics/metrics';
import { optStr } from '../args';
import type { AdminOp } from '../context';
import { ensurePoolCollectors } from '../pool-metrics';

export interface MetricsArgs {
  /** text (default): the Prometheus exposition format; json: prom-client's JSON. */
  format?: 'text' | 'json';
}

export type MetricsData =
  | { pool: string; format: 'text'; contentType: string; text: string }
  | { pool: string; format: 'json'; metrics: MetricsJson };

/** The figures of `engine`, pool-state gauges freshly computed. Shared by the op and the HTTP endpoint. */
export async function metricsOf(engine: Engine, format: 'text' | 'json'): Promise<MetricsData> {
  ensurePoolCollectors(engine);
  const pool = engine.pool.dir;
  if (format === 'text') return { pool, format, contentType: engine.metrics.contentType, text: await engine.metrics.text() };
  // Through JSON and back: absent fields stay absent however the result travels (msgpack would make them null).
  return { pool, format, metrics: JSON.parse(JSON.stringify(await engine.metrics.json())) as MetricsJson };
}

export const metrics: AdminOp<MetricsArgs, MetricsData> = async (engine, args) => {
  const format = optStr('metrics', args, 'format') ?? 'text';
  if (format !== 'text' && format !== 'json') throw new DfsError('EINVAL', `metrics: format "${format}" is not text or json`);
  return metricsOf(engine, format);
};
