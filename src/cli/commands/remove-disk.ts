/** `dynamicfs remove-disk POOL DISK`: unregister an empty disk. */
import type { Command } from 'commander';
import { invoke } from '../../admin/client';
import type { RemoveDiskData } from '../../admin/ops';
import type { CliContext } from '../verb';
import { diskSpec } from '../disk-spec';
import { requestIdOf, withRequestId } from '../request-id';

export function register(program: Command, ctx: CliContext): void {
  withRequestId(program.command('remove-disk'))
    .summary('take a disk that holds no fragments out of the pool')
    .description('Unregister DISK from POOL and remove its label, so the directory can be reused. Refuses '
      + '(EDISKINUSE, nothing changed) while the metadata places any fragment on it: drain it first.')
    .argument('<pool>', 'pool directory')
    .argument('<disk>', 'disk id, path or uuid')
    .action(async (pool: string, disk: string, o: { requestId?: string }) => {
      ctx.emit(await invoke(pool, 'remove-disk', { disk: diskSpec(disk) }, requestIdOf(o)),
        (d: RemoveDiskData) => `removed disk ${d.removed.id} (${d.removed.path}); the pool has ${d.disks} disks`);
    });
}
