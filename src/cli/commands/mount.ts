/**
 * `dynamicfs mount POOL MOUNTPOINT`: start the pool's coordinator and mount the pool
 * with FUSE. By default the coordinator runs detached and the command returns once the
 * mount is up; with --foreground it runs in this process until SIGINT/SIGTERM or
 * `dynamicfs unmount`.
 */
import type { Command } from 'commander';
import type { DaemonResult } from '../../daemon/daemonize';
import type { ServeResult } from '../../daemon/serve';
import { keyValues } from '../format';
import { METRICS_BIND_FLAG, METRICS_BIND_HELP, METRICS_PORT_FLAG, METRICS_PORT_HELP, metricsEndpoint, type MetricsFlags } from '../metrics-options';
import { jsonOf, type RegisterVerb } from '../verb';

interface MountFlags extends MetricsFlags {
  foreground?: boolean;
  readOnly?: boolean;
  allowOther?: boolean;
  suid?: boolean;
  dev?: boolean;
}

export const register: RegisterVerb = (program: Command, ctx) => {
  program.command('mount')
    .summary('mount the pool with FUSE (starts its coordinator)')
    .description('Start the coordinator of POOL and mount the pool at MOUNTPOINT (an existing, empty directory). The '
      + 'coordinator holds the pool\'s lock; while it runs, every other dynamicfs command on POOL is sent to it over '
      + 'POOL/run/admin.sock. It logs to POOL/run/coordinator.log. On start it detaches a stale mount left by a killed '
      + 'coordinator and removes what that one left behind (orphaned fragments, files deleted while open).\n'
      + 'Without --foreground the command returns once the mount is up, printing the coordinator\'s PID. '
      + 'Stop it with `dynamicfs unmount MOUNTPOINT` (a plain `umount MOUNTPOINT` also stops it, once nothing there is open).\n'
      + 'Without the flags, the pool\'s settings (dynamicfs config POOL) decide: mount.allowOther, mount.suid, mount.dev, '
      + 'metrics.port and metrics.bind; a flag given wins.')
    .argument('<pool>', 'pool directory')
    .argument('<mountpoint>', 'empty directory to mount the pool on')
    .option('--foreground', 'run the coordinator in this process until SIGINT/SIGTERM or `dynamicfs unmount` (for systemd or a terminal)')
    .option('--read-only', 'mount read-only (admin commands can still change the pool)')
    // Each with its --no- form, so a flag can undo a pool's stored mount.* setting (undefined: the setting decides).
    .option('--allow-other', 'let other users access the mount (for non-root needs user_allow_other in /etc/fuse.conf; default: the mount.allowOther setting, false)')
    .option('--no-allow-other', 'only the mounting user may access the mount, whatever mount.allowOther says')
    .option('--suid', 'honour set-user-ID and set-group-ID bits of programs run from the mount (default: the mount.suid setting, false: nosuid)')
    .option('--no-suid', 'mount nosuid, whatever mount.suid says')
    .option('--dev', 'let device files in the mount be opened as devices (default: the mount.dev setting, false: nodev)')
    .option('--no-dev', 'mount nodev, whatever mount.dev says')
    .option(METRICS_PORT_FLAG, METRICS_PORT_HELP)
    .option(METRICS_BIND_FLAG, METRICS_BIND_HELP)
    .action(async (pool: string, mountpoint: string, o: MountFlags, cmd: Command) => {
      const json = jsonOf(cmd);
      // Loaded here, not at the top: every other verb would otherwise load the engine and FUSE with them.
      const { startDaemon } = require('../../daemon/daemonize') as typeof import('../../daemon/daemonize');
      const { serveForeground } = require('../../daemon/serve') as typeof import('../../daemon/serve');
      const base = { pool, mountpoint, readOnly: !!o.readOnly, allowOther: o.allowOther, suid: o.suid, dev: o.dev,
        metrics: metricsEndpoint(o) };
      if (!o.foreground) {
        ctx.emit(await startDaemon(base), (d: DaemonResult) => [
          `mounted ${d.pool} at ${d.mountpoint}`,
          keyValues([['coordinator', `PID ${d.pid}`], ['log', d.log], ...(d.metricsUrl ? [['metrics', `${d.metricsUrl}/metrics (health: /health)`] as [string, string]] : [])], '  '),
          `stop it with \`dynamicfs unmount ${d.mountpoint}\``,
        ].join('\n'));
        return;
      }
      const r = await serveForeground({
        ...base,
        onReady: (info) => {
          if (!json) process.stderr.write(`serving ${info.pool} at ${info.mountpoint} (PID ${info.pid}); log ${info.log}; `
            + (info.metricsUrl ? `metrics ${info.metricsUrl}/metrics; ` : '')
            + `stop with Ctrl-C or \`dynamicfs unmount ${info.mountpoint}\`\n`);
        },
      });
      ctx.emit(r, (d: ServeResult) => `unmounted ${d.pool} from ${d.mountpoint} (${d.stoppedBy})`);
    });
};
