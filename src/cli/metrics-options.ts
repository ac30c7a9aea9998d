/**
 * The HTTP endpoint's options, shared by the verbs that start a coordinator (`mount`,
 * `serve`) and by `metrics-server`: a port (0 picks a free one) and the address to bind,
 * 127.0.0.1 unless told otherwise. On `mount` and `serve` they win over the pool's
 * metrics.port and metrics.bind settings.
 */
import type { Command } from 'commander';
import { DfsError } from '../errors';

export const DEFAULT_BIND = '127.0.0.1';

/** The endpoint as the flags give it: either part may be left to the pool's settings. */
export interface MetricsFlagValues {
  port?: number;
  bind?: string;
}

export interface MetricsFlags {
  metricsPort?: string;
  metricsBind?: string;
}

export const METRICS_PORT_FLAG = '--metrics-port <port>';
export const METRICS_PORT_HELP = 'serve /metrics (Prometheus), /metrics/json and /health over HTTP on this port (0: any free port; default: the metrics.port setting, none)';
export const METRICS_BIND_FLAG = '--metrics-bind <address>';
export const METRICS_BIND_HELP = `address the metrics endpoint binds (default: the metrics.bind setting, ${DEFAULT_BIND}; 0.0.0.0 for every interface)`;

/** Add --metrics-port and --metrics-bind to a coordinator verb. */
export function addMetricsOptions(cmd: Command): Command {
  return cmd.option(METRICS_PORT_FLAG, METRICS_PORT_HELP).option(METRICS_BIND_FLAG, METRICS_BIND_HELP);
}

/**
 * What the flags say of the endpoint (each checked here, before anything starts), or
 * undefined when neither is given: the coordinator then takes the pool's metrics.port and
 * metrics.bind settings, and fills in whichever of the two a flag leaves out
 * (daemon/serve-settings.ts).
 */
export function metricsEndpoint(o: MetricsFlags): MetricsFlagValues | undefined {
  if (o.metricsPort === undefined && o.metricsBind === undefined) return undefined;
  return {
    ...(o.metricsPort === undefined ? {} : { port: parsePort(o.metricsPort, '--metrics-port') }),
    ...(o.metricsBind === undefined ? {} : { bind: checkBind(o.metricsBind, '--metrics-bind') }),
  };
}

/** A port number from the command line: an integer from 0 (any free port) to 65535. */
export function parsePort(value: string, flag: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n > 65535) {
    throw new DfsError('EUSAGE', `${flag} ${value}: give a port number from 1 to 65535 (0 picks a free one)`);
  }
  return n;
}

export function checkBind(value: string, flag: string): string {
  if (value.trim() === '' || /[\s/]/.test(value)) throw new DfsError('EUSAGE', `${flag} "${value}": give an IP address or a host name`);
  return value;
}
