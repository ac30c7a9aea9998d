/** `dynamicfs gc POOL`: find and remove orphaned fragments and stale temp files. */
import type { Command } from 'commander';
import { invoke } from '../../admin/client';
import type { GcData } from '../../admin/ops';
import { DEFAULT_GC_MIN_AGE_SECONDS } from '../../engine/gc';
import { DfsError } from '../../errors';
import { humanBytes } from '../format';
import type { RegisterVerb } from '../verb';

export const register: RegisterVerb = (program: Command, ctx) => {
  program.command('gc')
    .description('remove fragments no metadata references (left by a crash mid-write or mid-delete) and stale temp files')
    .argument('<pool>', 'pool directory')
    .option('--min-age <seconds>', `only touch files at least this old, so in-flight writes are safe (default: the pool's gc.minAgeSeconds, ${DEFAULT_GC_MIN_AGE_SECONDS} unless set)`)
    .option('--dry-run', 'list what would be removed, remove nothing')
    .action(async (pool: string, o: { minAge?: string; dryRun?: boolean }) => {
      const minAge = o.minAge === undefined ? undefined : Number(o.minAge);
      if (minAge !== undefined && (!Number.isFinite(minAge) || minAge < 0)) throw new DfsError('EINVAL', `--min-age ${o.minAge}: give a number of seconds, 0 or more`);
      ctx.emit(await invoke(pool, 'gc', { minAgeSeconds: minAge, dryRun: !!o.dryRun }), human);
    });
};

function human(r: GcData): string {
  const lines = [`scanned ${r.scannedFragments} fragments; ${r.orphans.length} orphans (${humanBytes(r.orphans.reduce((s, o) => s + o.bytes, 0))})`];
  for (const o of r.orphans.slice(0, 20)) lines.push(`  ${r.dryRun ? 'would remove' : 'orphan'} ${o.kind} ${o.name} on disk ${o.diskId} (${humanBytes(o.bytes)}, ${o.ageSeconds}s old)`);
  if (r.orphans.length > 20) lines.push(`  ... and ${r.orphans.length - 20} more`);
  if (!r.dryRun) lines.push(`removed ${r.removed}, freed ${humanBytes(r.bytesFreed)}`);
  for (const f of r.failed.slice(0, 20)) lines.push(`  could not remove ${f.name} on disk ${f.diskId}: ${f.code} (the next gc tries again)`);
  return lines.join('\n');
}
