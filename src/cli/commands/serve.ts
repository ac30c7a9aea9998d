/**
 * `dynamicfs serve POOL`: a coordinator without a mount. It holds the pool and answers
 * admin commands over POOL/run/admin.sock (so they run in one long-lived process with
 * warm worker pools), for pools used only through the CLI. Runs in the foreground until
 * SIGINT or SIGTERM.
 */
import type { Command } from 'commander';
import type { ServeResult } from '../../daemon/serve';
import { METRICS_BIND_FLAG, METRICS_BIND_HELP, METRICS_PORT_FLAG, METRICS_PORT_HELP, metricsEndpoint, type MetricsFlags } from '../metrics-options';
import { jsonOf, type RegisterVerb } from '../verb';

export const register: RegisterVerb = (program: Command, ctx) => {
  program.command('serve')
    .summary('run the pool\'s coordinator without mounting it')
    .description('Run the coordinator of POOL in the foreground without a FUSE mount, until SIGINT or SIGTERM: it holds '
      + 'the pool\'s lock and every other dynamicfs command on POOL is sent to it over POOL/run/admin.sock. Like '
      + '`mount`, it first removes what a killed coordinator left behind, and logs to POOL/run/coordinator.log. '
      + 'For a pool used only through the CLI (or the admin socket), e.g. as a systemd service. Without --metrics-port, '
      + 'the pool\'s metrics.port setting decides whether it serves /metrics (and metrics.bind where).')
    .argument('<pool>', 'pool directory')
    .option(METRICS_PORT_FLAG, METRICS_PORT_HELP)
    .option(METRICS_BIND_FLAG, METRICS_BIND_HELP)
    .action(async (pool: string, o: MetricsFlags, cmd: Command) => {
      const json = jsonOf(cmd);
      const { serveForeground } = require('../../daemon/serve') as typeof import('../../daemon/serve');
      const r = await serveForeground({
        pool,
        metrics: metricsEndpoint(o),
        onReady: (info) => {
          if (!json) process.stderr.write(`serving ${info.pool} (PID ${info.pid}); log ${info.log}; `
            + `${info.metricsUrl ? `metrics ${info.metricsUrl}/metrics; ` : ''}stop with Ctrl-C or SIGTERM\n`);
        },
      });
      ctx.emit(r, (d: ServeResult) => `stopped serving ${d.pool} (${d.stoppedBy})`);
    });
};
