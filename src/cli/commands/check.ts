/**
 * `dynamicfs check POOL [--repair] [--min-age S]`: the pool's fsck. Exit 0 when no problem
 * remains (none found, or --repair fixed all); otherwise ECHECK (exit 1) carrying the
 * whole report, each problem with its kind, the objects involved and what repair did.
 */
import type { Command } from 'commander';
import { invoke } from '../../admin/client';
import type { CheckData } from '../../admin/ops';
import { DEFAULT_GC_MIN_AGE_SECONDS } from '../../engine/gc';
import { DfsError } from '../../errors';
import { jsonOf, localContext, type CliContext } from '../verb';

function render(d: CheckData): string {
  const c = d.counts;
  const lines = [`checked ${c.inodes} inodes, ${c.dirents} entries, ${c.extents} extents, ${c.fragmentsOnDisks} fragment files on disks`];
  for (const s of d.disksSkipped) lines.push(`  disk ${s.disk} (${s.path}) not checked: ${s.reason}`);
  if (d.problems.length === 0) lines.push('no problems found');
  for (const p of d.problems) {
    lines.push(`  ${p.kind}: ${p.message}${p.repair === null ? '' : `  [${p.repaired ? 'repaired' : 'left'}: ${p.repair}]`}`);
  }
  if (d.problems.length > 0) lines.push(`${d.problems.length} problems, ${d.problems.length - d.remaining} repaired, ${d.remaining} remain`);
  return lines.join('\n');
}

export function register(program: Command, ctx: CliContext): void {
  program.command('check')
    .summary("check the pool's metadata and fragments for inconsistencies (fsck); --repair fixes what is safe")
    .description('Check POOL the way fsck checks a file system: every inode and extent record against its checksum; link '
      + 'counts against the directory entries (a directory: 2 + its subdirectories); inodes no entry names (orphans), '
      + 'entries naming no inode (dangling), a directory in two parents, entries in a non-directory; extents of missing or '
      + 'non-file inodes, files shorter than their extents, packed bytes whose pack is gone, packs holding no file; every '
      + 'referenced fragment present on its disk, and every fragment file on a disk referenced. Disks that are absent or '
      + 'failed are skipped (listed). With a coordinator running it checks through it.')
    .argument('<pool>', 'pool directory')
    .option('--repair', 'fix what is safe: link counts set to the counted number, dangling entries removed, orphans linked '
      + 'as /lost+found/#INODE, unused packs dropped, missing fragments queued and rebuilt from the others, unreferenced '
      + 'fragments removed (at least --min-age old); nothing a name still reaches is deleted')
    .option('--min-age <seconds>', `remove only unreferenced fragments at least this old (default: the pool's gc.minAgeSeconds, ${DEFAULT_GC_MIN_AGE_SECONDS} unless set, as gc)`)
    .addHelpText('after', '\nExit status: 0 when no problem remains (none found, or --repair fixed all of them);\n'
      + '1 with error code ECHECK when problems remain (the report is printed; with --json it is in the error object,\n'
      + 'each problem with kind, path, inode, extent, disk, index, parent, name, nlink, counted, repaired, repair);\n'
      + '1 with another code when the check itself could not run.')
    .action(async (pool: string, o: { repair?: boolean; minAge?: string }, cmd: Command) => {
      const json = jsonOf(cmd);
      const minAge = o.minAge === undefined ? undefined : Number(o.minAge);
      if (minAge !== undefined && (!Number.isFinite(minAge) || minAge < 0)) throw new DfsError('EINVAL', `--min-age ${o.minAge}: give a number of seconds, 0 or more`);
      const data = await invoke(pool, 'check', { repair: !!o.repair, minAgeSeconds: minAge }, { local: localContext(json) });
      if (!data.clean) {
        if (!json) process.stdout.write(`${render(data)}\n`);
        const fix = data.repair ? 'what remains is not safe to fix automatically (each problem says why)' : `run \`dynamicfs check ${pool} --repair\``;
        throw new DfsError('ECHECK', `check found ${data.problems.length} problems; ${data.remaining} remain: ${fix}`, undefined, { ...data });
      }
      ctx.emit(data, render);
    });
}
