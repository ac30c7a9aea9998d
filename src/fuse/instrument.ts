/**
 * Measures a FUSE op table without touching its handlers: each function is wrapped so
 * that its callback (always the last argument) records the operation's count, latency
 * and errno. A failed operation gets a log line carrying a request id (`fuse-N`), the
 * operation, the path, the errno name, the cause's message when the handler passed the
 * Error after the errno (ops.ts does; it is not passed on to fuse-native) and how long it
 * took; the ordinary misses of lookups (ENOENT, EEXIST, ENOTEMPTY, ENODATA) are logged at
 * debug level only. This is the only place a FUSE failure is logged.
 *
 * The wrapper calls the handler synchronously, so whatever the handler reads at its
 * start (fuse-native's request context) is still valid.
 */
import { constants } from 'node:os';
import type { Logger } from 'pino';
import type { Metrics } from '../metrics/metrics';
import { errnoName } from './errno';

type Cb = (code: number, ...results: unknown[]) => void;
type Handler = (...args: unknown[]) => unknown;

const QUIET = new Set([constants.errno.ENOENT, constants.errno.EEXIST, constants.errno.ENOTEMPTY, constants.errno.ENODATA]);

/** A copy of `ops` whose handlers are measured; `init` (called once, at mount) is left as it is. */
export function instrumentFuseOps(ops: Record<string, unknown>, metrics: Metrics, log: Logger): Record<string, unknown> {
  let lastReq = 0;
  const out: Record<string, unknown> = {};
  for (const [op, fn] of Object.entries(ops)) {
    if (typeof fn !== 'function' || op === 'init') {
      out[op] = fn;
      continue;
    }
    const handler = fn as Handler;
    // Label children bound once: the per-request cost is two increments and an observe.
    const count = metrics.fuseOps.labels({ op });
    const seconds = metrics.fuseSeconds.labels({ op });
    out[op] = (...args: unknown[]): unknown => {
      const cb = args[args.length - 1];
      if (typeof cb !== 'function') return handler.apply(ops, args);
      const reqId = ++lastReq;
      const started = performance.now();
      args[args.length - 1] = (code: number, ...results: unknown[]): void => {
        const elapsed = performance.now() - started;
        count.inc();
        seconds.observe(elapsed / 1000);
        if (typeof code === 'number' && code < 0) {
          const name = errnoName(-code);
          const cause = results[0] instanceof Error ? results[0] : undefined;
          metrics.fuseErrors.inc({ op, code: name });
          log[QUIET.has(-code) ? 'debug' : 'warn']({ reqId: `fuse-${reqId}`, op, path: typeof args[0] === 'string' ? args[0] : undefined,
            code: name, err: cause?.message, ms: Math.round(elapsed * 1000) / 1000 }, 'fuse request failed');
          if (cause) return (cb as Cb)(code);
        }
        (cb as Cb)(code, ...results);
      };
      return handler.apply(ops, args);
    };
  }
  return out;
}
