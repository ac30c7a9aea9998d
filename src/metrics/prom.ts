/**
 * The one place that loads prom-client, and only the classes DynamicFS uses. The
 * package's main entry also loads default metrics, the pushgateway and OpenTelemetry
 * (60-80 ms here); every CLI command that opens a pool builds an engine, and with it a
 * registry, so that cost would land on each of them. These four files take ~5 ms.
 * Types come from the package's own declarations.
 */
import type * as Prom from 'prom-client';

export const Registry = require('prom-client/lib/registry') as typeof Prom.Registry;
export const Counter = require('prom-client/lib/counter') as typeof Prom.Counter;
export const Gauge = require('prom-client/lib/gauge') as typeof Prom.Gauge;
export const Histogram = require('prom-client/lib/histogram') as typeof Prom.Histogram;
export type Registry = Prom.Registry;
export type Counter<T extends string = string> = Prom.Counter<T>;
export type Gauge<T extends string = string> = Prom.Gauge<T>;
export type Histogram<T extends string = string> = Prom.Histogram<T>;
export type { MetricObjectWithValues, MetricValue } from 'prom-client';

/**
 * prom-client's default process metrics, less those that break Prometheus naming
 * (nodejs_active_{handles,requests,resources}_total are gauges ending in _total, which
 * `promtool check metrics` rejects) and the per-V8-heap-space series.
 */
const PROCESS_METRICS = ['processCpuTotal', 'processStartTime', 'osMemoryHeap', 'processOpenFileDescriptors', 'processMaxFileDescriptors',
  'eventLoopLag', 'heapSizeAndUsed', 'gc', 'version'];

/** Node's process metrics (process_*, nodejs_*) into `registry`; loaded on first use only. */
export function collectDefaultMetrics(registry: Prom.Registry): void {
  for (const name of PROCESS_METRICS) {
    const add = require(`prom-client/lib/metrics/${name}`) as (r: Prom.Registry, config: object) => void;
    add(registry, { eventLoopMonitoringPrecision: 10 });
  }
}
