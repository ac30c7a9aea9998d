/**
 * Prometheus's own tools for the observability tests: promtool (rule and exposition
 * checks) and a real Prometheus server on a free port with a temporary TSDB, always
 * stopped in `finally`. They come from the Debian package `prometheus`, which
 * scripts/test.sh installs; a missing tool fails the test with that advice (never a
 * skip: a skipped check would hide a broken endpoint).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';

/** The absolute path of `tool` on PATH, or an Error saying how to get it. */
export function requireTool(tool: 'promtool' | 'prometheus'): string {
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(':')) {
    const p = path.join(dir, tool);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  throw new Error(`${tool} is not installed: the observability tests need the Debian package prometheus `
    + '(`apt-get install -y --no-install-recommends prometheus`; ./scripts/test.sh installs it before running the suite)');
}

/** Run promtool with `args`, `input` on stdin. */
export function promtool(args: string[], input?: string): { code: number; out: string } {
  const r = spawnSync(requireTool('promtool'), args, { input, encoding: 'utf8', timeout: 60_000 });
  if (r.error) throw r.error;
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

/** A TCP port nobody listens on right now (bind to 0, read it, close). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export interface HttpAnswer {
  status: number;
  type: string;
  body: string;
}

export async function httpGet(url: string, method = 'GET'): Promise<HttpAnswer> {
  const r = await fetch(url, { method });
  return { status: r.status, type: r.headers.get('content-type') ?? '', body: await r.text() };
}

/**
 * Prometheus text format → series → value, for the lines that are samples (not # HELP
 * or # TYPE). `prefix` keeps only series whose name starts with it.
 */
export function parseExposition(text: string, prefix = ''): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#') || !line.startsWith(prefix)) continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

/** The metric families (# TYPE lines) of an exposition, name → type. */
export function families(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) out.set(m[1]!, m[2]!);
  return out;
}

export interface PrometheusServer {
  url: string;
  child: ChildProcess;
  output(): string;
  /** An instant query; the result vector. */
  query(expr: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]>;
  stop(): Promise<void>;
}

/**
 * Start Prometheus scraping `targets` (host:port) as job "dynamicfs" every 500 ms,
 * with `ruleFiles` loaded, its TSDB under `dir`. Resolves once /-/ready answers 200.
 */
export async function startPrometheus(dir: string, targets: string[], ruleFiles: string[] = []): Promise<PrometheusServer> {
  const bin = requireTool('prometheus');
  const port = await freePort();
  const config = path.join(dir, 'prometheus.yml');
  fs.writeFileSync(config, [
    'global:',
    '  scrape_interval: 500ms',
    '  scrape_timeout: 400ms',
    '  evaluation_interval: 500ms',
    'rule_files:',
    ...ruleFiles.map((f) => `  - ${JSON.stringify(f)}`),
    'scrape_configs:',
    '  - job_name: dynamicfs',
    '    static_configs:',
    `      - targets: ${JSON.stringify(targets)}`,
    '',
  ].join('\n'));
  const child = spawn(bin, [`--config.file=${config}`, `--storage.tsdb.path=${path.join(dir, 'tsdb')}`,
    `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (b: Buffer) => { out += b.toString(); });
  child.stderr!.on('data', (b: Buffer) => { out += b.toString(); });
  const url = `http://127.0.0.1:${port}`;
  const server: PrometheusServer = {
    url,
    child,
    output: () => out,
    async query(expr) {
      const r = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(expr)}`);
      const j = await r.json() as { status: string; data: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] }; error?: string };
      if (j.status !== 'success') throw new Error(`query ${expr}: ${j.error ?? r.status}`);
      return j.data.result;
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await gone;
      clearTimeout(timer);
    },
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`prometheus exited (${child.exitCode}) before it was ready:\n${out}`);
    const ready = await fetch(`${url}/-/ready`).then((r) => r.status === 200, () => false);
    if (ready) return server;
    if (Date.now() > deadline) {
      await server.stop();
      throw new Error(`prometheus was not ready after 30 s:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Poll `fn` until it returns a value that is not undefined; fail after `ms` naming `what`. */
export async function eventually<T>(what: string, ms: number, fn: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
