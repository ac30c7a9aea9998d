/**
 * `dynamicfs import POOL DISK...`: recreate a lost pool directory from its disks (their
 * labels and metadata copies); `dynamicfs import --scan DIR...`: list the pools whose
 * disks are found in or directly under those directories.
 */
import type { Command } from 'commander';
import { auditLocal } from '../../admin/audit';
import { DfsError } from '../../errors';
import { sqliteStore } from '../../meta/sqlite/sqlite-store';
import { importPool, scanPools, type ImportResult, type ScannedPool } from '../../pool/import';
import type { CliContext } from '../verb';

function renderImport(d: ImportResult): string {
  const missing = d.disks.filter((x) => !x.found);
  return [
    `imported pool ${d.uuid} into ${d.pool} at metadata generation ${d.generation} (${d.policy})`,
    ...d.disks.map((x) => `  disk ${x.id}  ${x.path}  ${x.found ? 'found' : 'MISSING'}`),
    ...(missing.length ? [`${missing.length} disk(s) missing: reattach them at those paths, or rebuild with \`dynamicfs replace-disk\``] : []),
  ].join('\n');
}

function renderScan(d: { pools: ScannedPool[] }): string {
  if (d.pools.length === 0) return 'no DynamicFS disks found';
  return d.pools.map((p) => [`pool ${p.uuid}  ${p.policy ?? '?'}  newest generation ${p.generation ?? 'none'}`,
    ...p.disks.map((x) => `  ${x.path}  generation ${x.generation ?? 'no metadata copy'}`)].join('\n')).join('\n');
}

export function register(program: Command, ctx: CliContext): void {
  program.command('import')
    .summary('recreate a lost pool directory from its disks')
    .description('Recreate the pool directory POOL (pool.json and meta.db) from the disks alone: each disk\'s label names '
      + 'its pool and its metadata area holds the superblock and a copy of the metadata. The newest generation that '
      + 'verifies on the disks given wins. With --scan, list the pools whose disks are found in or directly under DIRs.')
    .argument('<pool-or-dirs...>', 'POOL DISK... to import, or DIR... with --scan')
    .option('--scan', 'list the pools whose disks are under the directories given, importing nothing')
    .addHelpText('after', '\nExamples:\n  dynamicfs import --scan /mnt\n  dynamicfs import /srv/pool /mnt/d1 /mnt/d2 /mnt/d3 /mnt/d4 /mnt/d5 /mnt/d6')
    .action((args: string[], opts: { scan?: boolean }) => {
      if (opts.scan) {
        ctx.emit({ pools: scanPools(args) }, renderScan);
        return;
      }
      const [pool, ...disks] = args;
      if (disks.length === 0) throw new DfsError('EUSAGE', 'import needs the pool directory and at least one of its disks: dynamicfs import POOL DISK...');
      const started = Date.now();
      const d = importPool(pool!, disks, sqliteStore);
      auditLocal(d.pool, 'import', { disks }, started);
      ctx.emit(d, renderImport);
    });
}
