/**
 * The coordinator's HTTP endpoint (`--metrics-port`, bound to 127.0.0.1 unless told
 * otherwise):
 *
 *   GET /metrics        the Prometheus text format (what `dynamicfs metrics POOL` prints)
 *   GET /metrics/json   the same figures as JSON (`dynamicfs metrics POOL --json`)
 *   GET /health         200 healthy, 202 degraded, 503 critical; the body is what
 *                       `dynamicfs health POOL --json` prints (without "ok"), reasons included
 *
 * Each answer is computed by the same function the admin operation runs, over the
 * coordinator's engine, so the endpoint and the CLI agree. Nothing here changes the pool.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { health } from '../admin/ops/health';
import { metricsOf } from '../admin/ops/metrics';
import type { Engine } from '../engine/engine';
import { DfsError, fromOsCode, toDfsError } from '../errors';

export const DEFAULT_METRICS_BIND = '127.0.0.1';

export interface MetricsHttpOptions {
  engine: Engine;
  port: number;
  /** Address to bind; default 127.0.0.1 (the figures name paths and disks: keep them local unless asked). */
  bind?: string;
  log: Logger;
}

export class MetricsHttpServer {
  private closing: Promise<void> | undefined;

  private constructor(private readonly server: http.Server, readonly url: string, private readonly log: Logger) {}

  static async listen(opts: MetricsHttpOptions): Promise<MetricsHttpServer> {
    const bind = opts.bind ?? DEFAULT_METRICS_BIND;
    const server = http.createServer((req, res) => void handle(opts, req, res));
    server.keepAliveTimeout = 5000;
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(opts.port, bind, () => {
          server.removeListener('error', reject);
          resolve();
        });
      });
    } catch (err) {
      throw listenError(err, bind, opts.port);
    }
    server.on('error', (err) => opts.log.error({ err: err.message }, 'metrics endpoint error'));
    const addr = server.address() as AddressInfo;
    const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
    const url = `http://${host}:${addr.port}`;
    opts.log.info({ url }, 'metrics endpoint listening (/metrics, /metrics/json, /health)');
    return new MetricsHttpServer(server, url, opts.log);
  }

  /** Stop listening and drop open connections (a scraper's keep-alive must not hold a stop up). */
  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    }).then(() => this.log.info({ url: this.url }, 'metrics endpoint closed'));
    return this.closing;
  }
}

async function handle(opts: MetricsHttpOptions, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const started = Date.now();
  let status = 500;
  try {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      status = 405;
      res.setHeader('Allow', 'GET, HEAD');
      return send(res, req, status, 'application/json', JSON.stringify({ error: { code: 'EINVAL', message: `${req.method} is not allowed; use GET` } }));
    }
    const route = new URL(req.url ?? '/', 'http://localhost').pathname.replace(/\/+$/, '') || '/';
    switch (route) {
      case '/metrics': {
        const m = await metricsOf(opts.engine, 'text');
        status = 200;
        return send(res, req, status, m.format === 'text' ? m.contentType : 'text/plain', m.format === 'text' ? m.text : '');
      }
      case '/metrics/json': {
        status = 200;
        return send(res, req, status, 'application/json', JSON.stringify(await metricsOf(opts.engine, 'json')));
      }
      case '/health': {
        const h = await health(opts.engine, {}, {});
        status = h.httpStatus;
        return send(res, req, status, 'application/json', JSON.stringify(h));
      }
      case '/':
        status = 200;
        return send(res, req, status, 'text/plain; charset=utf-8',
          `DynamicFS ${opts.engine.pool.dir}\n/metrics       Prometheus text format\n/metrics/json  the same as JSON\n/health        200 healthy, 202 degraded, 503 critical\n`);
      default:
        status = 404;
        return send(res, req, status, 'application/json', JSON.stringify({ error: { code: 'ENOENT', message: `no ${route} here; try /metrics, /metrics/json or /health` } }));
    }
  } catch (err) {
    const e = toDfsError(err);
    opts.log.error({ err: e.toJSON(), url: req.url }, 'metrics endpoint request failed');
    status = 500;
    send(res, req, status, 'application/json', JSON.stringify({ error: { code: e.code, message: e.message } }));
  } finally {
    opts.log.debug({ method: req.method, url: req.url, status, ms: Date.now() - started }, 'metrics endpoint request');
  }
}

function send(res: http.ServerResponse, req: http.IncomingMessage, status: number, type: string, body: string): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store' });
  res.end(req.method === 'HEAD' ? undefined : body);
}

function listenError(err: unknown, bind: string, port: number): DfsError {
  const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
  const where = `${bind}:${port}`;
  if (code === 'EADDRINUSE') return new DfsError('EADDRINUSE', `cannot serve metrics on ${where}: the port is in use; choose another port`);
  if (code === 'EADDRNOTAVAIL') return new DfsError('EADDRNOTAVAIL', `cannot serve metrics on ${where}: no interface of this machine has address ${bind}`);
  if (code === 'EACCES') return new DfsError('EACCES', `cannot serve metrics on ${where}: permission denied (ports below 1024 need root)`);
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return new DfsError('EINVAL', `cannot serve metrics on ${where}: ${bind} is not an address or a resolvable name`);
  return fromOsCode(code, `cannot serve metrics on ${where}: ${(err as Error).message}`);
}

