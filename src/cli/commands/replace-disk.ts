/** `dynamicfs replace-disk POOL OLD NEW`: rebuild a disk's fragments onto a new one, then retire the old. */
import * as path from 'node:path';
import type { Command } from 'commander';
import { invoke } from '../../admin/client';
import type { ReplaceDiskData } from '../../admin/ops';
import { localContext, jsonOf, type CliContext } from '../verb';
import { requestIdOf, withRequestId } from '../request-id';
import { diskSpec } from '../disk-spec';
import { renderJobOutcome } from './job-output';

function render(d: ReplaceDiskData): string {
  return [`replacing disk ${d.old.id} (${d.old.path}) with disk ${d.new.id} (${d.new.path})`, renderJobOutcome(d)].join('\n');
}

export function register(program: Command, ctx: CliContext): void {
  withRequestId(program.command('replace-disk'))
    .summary('replace a disk with a new one, rebuilding onto it')
    .description('Add NEW (an empty directory, as for add-disk) and move everything OLD holds onto it: fragments '
      + 'OLD can still serve are copied, the others are rebuilt from the rest of their extent. When nothing is '
      + 'left on OLD it is removed from the pool. OLD is an id, path or uuid from `disks`.')
    .argument('<pool>', 'pool directory')
    .argument('<old>', 'disk to replace: id, path or uuid')
    .argument('<new>', 'directory of the new disk')
    .option('--tier <tier>', 'tier of the new disk (default: that of OLD)')
    .option('--wait', 'with a coordinator running: wait for the job to end')
    .action(async (pool: string, old: string, dir: string, o: { tier?: string; wait?: boolean; requestId?: string }, cmd: Command) => {
      ctx.emit(await invoke(pool, 'replace-disk', { old: diskSpec(old), dir: path.resolve(dir), tier: o.tier, wait: !!o.wait },
        { local: localContext(jsonOf(cmd)), ...requestIdOf(o) }), render);
    });
}
