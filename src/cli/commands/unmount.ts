/** `dynamicfs unmount MOUNTPOINT`: flush, unmount and stop the coordinator serving a mount. */
import type { Command } from 'commander';
import type { UnmountResult } from '../../daemon/unmount';
import type { RegisterVerb } from '../verb';

function render(d: UnmountResult): string {
  if (d.forced) return `detached the stale mount of ${d.pool} at ${d.mountpoint} (no coordinator served it)`;
  return `unmounted ${d.pool} from ${d.mountpoint}; coordinator PID ${d.pid} stopped`;
}

export const register: RegisterVerb = (program: Command, ctx) => {
  program.command('unmount')
    .summary('unmount a pool and stop its coordinator')
    .description('Ask the coordinator serving MOUNTPOINT to write out every open file, unmount and exit, and wait '
      + 'until it has (the pool is then free for other commands). A mount whose coordinator was killed (every '
      + 'access fails with "Transport endpoint is not connected") is detached by force.')
    .argument('<mountpoint>', 'where the pool is mounted')
    .action(async (mountpoint: string) => {
      const { unmountPool } = require('../../daemon/unmount') as typeof import('../../daemon/unmount');
      ctx.emit(await unmountPool(mountpoint), render);
    });
};
