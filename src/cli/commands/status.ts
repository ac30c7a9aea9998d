/**
 * `dynamicfs status POOL`: the pool at a glance (admin/ops/status.ts computes it):
 * identity, disks by state, space, namespace totals, extent health, error counters
 * and the repair queue.
 */
import type { Command } from 'commander';
import { invoke } from '../../admin/client';
import type { StatusData } from '../../admin/ops';
import type { DiskState } from '../../meta/records';
import { humanBytes, keyValues, table } from '../format';
import { jobLine } from './jobs';
import { scrubStatusLine } from './scrub';
import type { CliContext } from '../verb';

const STATES: readonly DiskState[] = ['healthy', 'degraded', 'suspect', 'draining', 'failed'];

function render(d: StatusData): string {
  const states = STATES.filter((s) => d.disks.byState[s] > 0).map((s) => `${d.disks.byState[s]} ${s}`).join(', ') || 'none';
  const x = d.extents;
  const out = [
    `pool ${d.pool}: ${d.health.toUpperCase()}`,
    ...d.reasons.map((r) => `  ${r.severity}: ${r.message}`),
    keyValues([
      ['uuid', d.uuid],
      ['redundancy', `${d.policy}, ${humanBytes(d.extentSize)} extents`],
      ['generation', d.generation],
      ['format', `${d.format.version}${d.format.upgradable ? ` (this DynamicFS writes ${d.format.current}: \`dynamicfs upgrade ${d.pool}\` enables `
        + `${d.format.features.filter((f) => f.known && f.state === 'disabled').map((f) => f.name).join(', ') || 'the current format'})` : ''}`],
      ['features', d.format.features.map((f) => `${f.name} ${f.state}${f.known ? '' : ' (unknown)'}`).join(', ')],
      ['disks', `${d.disks.total} (${states}${d.disks.missing > 0 ? `; ${d.disks.missing} MISSING` : ''})`],
      ['capacity', `${humanBytes(d.disks.capacityBytes)}, ${humanBytes(d.disks.usedBytes)} used, ${humanBytes(d.disks.freeBytes)} free`
        + ` (${d.disks.filesystems} filesystem${d.disks.filesystems === 1 ? '' : 's'})`],
      ['files', `${d.namespace.files} files, ${d.namespace.dirs} directories, ${humanBytes(d.namespace.bytes)}`],
      ['snapshots', `${d.snapshots.count}; live ${humanBytes(d.snapshots.liveBytes)} (${humanBytes(d.snapshots.sharedBytes)} shared with snapshots), `
        + `snapshot-only ${humanBytes(d.snapshots.snapshotOnlyBytes)}`],
      ['extents', `${x.total} (${x.healthy} healthy, ${x.degraded} degraded, ${x.unrecoverable} unrecoverable; ${x.inline} inline)`],
      ['errors', `${d.errors.read} read, ${d.errors.checksum} checksum, ${d.errors.write} write`],
      ['repair queue', d.repairQueue],
      ['scrub', scrubStatusLine(d.scrub)],
      ['metadata', d.format.features.find((f) => f.name === 'metadata-copies')?.state === 'disabled'
        ? 'meta.db only: no copies on the disks (metadata-copies is disabled; `dynamicfs upgrade` enables it)'
        : `${d.metaCopies.current} current copies on disks (each generation needs ${d.metaCopies.required})`],
    ], '  '),
  ];
  for (const f of x.lostFiles) out.push(`  LOST: ${f.path} (${f.extents} unrecoverable extent${f.extents === 1 ? '' : 's'})`);
  for (const j of d.jobs) out.push(`  job ${jobLine(j)}`);
  if (d.perDisk.length > 0) {
    const rows = d.perDisk.map((p) => [p.id, p.path, p.state, p.present ? 'yes' : 'MISSING', p.readErrors, p.checksumErrors, p.writeErrors]);
    out.push('', table(['ID', 'PATH', 'STATE', 'PRESENT', 'READ-ERR', 'CSUM-ERR', 'WRITE-ERR'], rows, ['ID', 'READ-ERR', 'CSUM-ERR', 'WRITE-ERR']));
  }
  if (d.metaCopies.disks.length > 0) {
    const rows = d.metaCopies.disks.map((c) => [c.diskId, c.path, c.state === 'current' ? 'current' : 'STALE', c.generation ?? '-',
      c.checkpointGeneration ?? '-', c.checkpointAgeSeconds === null ? '-' : `${c.checkpointAgeSeconds}s`, humanBytes(c.logBytes)]);
    out.push('', table(['ID', 'METADATA COPY', 'STATE', 'GENERATION', 'CHECKPOINT', 'CKPT-AGE', 'LOG'], rows, ['ID', 'GENERATION', 'CHECKPOINT']));
  }
  return out.join('\n');
}

export function register(program: Command, ctx: CliContext): void {
  program.command('status')
    .summary('summarise the pool\'s health')
    .description('Summarise POOL: identity, redundancy, generation, disks by state and how many are missing, space, '
      + 'files and bytes, extents that are healthy (all fragments readable), degraded (at least K readable: data '
      + 'safe, redundancy reduced) or unrecoverable (fewer than K), error counters, the repair queue, and the metadata\'s '
      + 'copies on the disks (per disk: current or stale, its generation, its checkpoint\'s generation and age), and the '
      + 'pool\'s format version with each feature: disabled (upgrade enables it), enabled (may be used) or active (in use: '
      + 'the pool\'s structures depend on it).')
    .argument('<pool>', 'pool directory')
    .action(async (pool: string) => {
      ctx.emit(await invoke(pool, 'status', {}), render);
    });
}
