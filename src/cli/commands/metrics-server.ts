/**
 * `dynamicfs metrics-server POOL --port N`: serve /metrics, /metrics/json and /health
 * for a pool that is not mounted. It is a coordinator without a mount (like `serve`):
 * it holds the pool's lock and answers the admin socket too, so other commands keep
 * working while it runs, until SIGINT or SIGTERM.
 */
import type { Command } from 'commander';
import type { ServeResult } from '../../daemon/serve';
import { checkBind, DEFAULT_BIND, parsePort } from '../metrics-options';
import { jsonOf, type RegisterVerb } from '../verb';

export const register: RegisterVerb = (program: Command, ctx) => {
  program.command('metrics-server')
    .summary('serve /metrics and /health for an unmounted pool')
    .description('Serve the metrics of POOL over HTTP (GET /metrics in the Prometheus text format, /metrics/json, and '
      + '/health answering 200 healthy, 202 degraded, 503 critical) until SIGINT or SIGTERM, for a pool that is not '
      + 'mounted. It holds the pool\'s lock like `serve` does, and like it answers the admin socket, so other dynamicfs '
      + 'commands on POOL keep working (through it). A mounted pool serves the same with `mount --metrics-port`.')
    .argument('<pool>', 'pool directory')
    .requiredOption('--port <port>', 'TCP port to listen on (0: any free port, printed on start)')
    .option('--bind <address>', `address to bind (default: the metrics.bind setting, ${DEFAULT_BIND}; 0.0.0.0 for every interface)`)
    .action(async (pool: string, o: { port: string; bind?: string }, cmd: Command) => {
      const json = jsonOf(cmd);
      // Without --bind, the pool's metrics.bind (127.0.0.1 unless set).
      const metrics = { port: parsePort(o.port, '--port'), ...(o.bind === undefined ? {} : { bind: checkBind(o.bind, '--bind') }) };
      const { serveForeground } = require('../../daemon/serve') as typeof import('../../daemon/serve');
      const r = await serveForeground({
        pool,
        metrics,
        onReady: (info) => {
          if (!json) process.stderr.write(`serving metrics of ${info.pool} at ${info.metricsUrl}/metrics and /health (PID ${info.pid}); `
            + `log ${info.log}; stop with Ctrl-C or SIGTERM\n`);
        },
      });
      ctx.emit(r, (d: ServeResult) => `stopped serving ${d.pool} (${d.stoppedBy})`);
    });
};
