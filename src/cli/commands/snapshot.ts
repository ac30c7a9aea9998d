/** `dynamicfs snapshot create|list|delete|hold|release|diff|rollback|clone|schedule`: the pool's snapshots (schedule: snapshot-schedule.ts). */
import type { Command } from 'commander';
import { invoke } from '../../admin/client';
import type { SnapshotDeleteData, SnapshotDiffData, SnapshotHoldData, SnapshotInfo, SnapshotListData } from '../../admin/ops';
import type { CloneResult, RollbackResult } from '../../fs/snapshots';
import { humanBytes, plural, table, timeString } from '../format';
import { localContext, jsonOf, type CliContext } from '../verb';
import { requestIdOf, withRequestId } from '../request-id';
import { renderJobOutcome } from './job-output';
import { registerSchedule } from './snapshot-schedule';

function renderList(d: SnapshotListData): string {
  // Received snapshots say where their tree is; a pool with none keeps the narrower table.
  const received = d.snapshots.some((s) => s.root !== '/');
  const rows = d.snapshots.map((s) => [s.name, timeString(s.createdMs), s.generation, humanBytes(s.referencedBytes), humanBytes(s.uniqueBytes), s.files, s.held ? 'held' : '',
    ...(received ? [s.root] : [])]);
  const space = `live ${humanBytes(d.space.liveBytes)} (shared with snapshots ${humanBytes(d.space.sharedBytes)}), snapshot-only ${humanBytes(d.space.snapshotOnlyBytes)}`;
  if (rows.length === 0) return `no snapshots\n${space}`;
  return `${table(['NAME', 'CREATED', 'GENERATION', 'REFERENCED', 'UNIQUE', 'FILES', 'HOLD', ...(received ? ['TREE AT'] : [])], rows,
    ['GENERATION', 'REFERENCED', 'UNIQUE', 'FILES'])}\n${space}`;
}

const MARK: Record<string, string> = { added: '+', removed: '-', modified: 'M', renamed: 'R', metadata: 'm' };

function renderDiff(d: SnapshotDiffData): string {
  if (d.changes.length === 0) return `no changes from ${d.from} to ${d.to ?? 'the live tree'}`;
  return d.changes.map((c) => `${MARK[c.change]}\t${c.change === 'renamed' ? `${c.from} -> ${c.path}` : c.path}`).join('\n');
}

export function register(program: Command, ctx: CliContext): void {
  const snap = program.command('snapshot')
    .summary('take, list, compare, roll back to and clone snapshots of the pool')
    .description('A snapshot names the whole pool\'s namespace as of the last commit. Taking one copies no rows and no data: '
      + 'files changed later keep their old versions for it, and their old extents stay until no snapshot sees them. '
      + 'A mount shows each snapshot read-only under /.snapshots/NAME. Every verb works through a running coordinator or on its own.');

  snap.command('create')
    .summary('take a snapshot of the pool now')
    .description('Commit every change made so far (a mount\'s open files included), then record snapshot NAME of that generation. '
      + 'Names: 1 to 128 letters, digits and . _ : + - (not starting with . or -).')
    .argument('<pool>', 'pool directory')
    .argument('<name>', 'snapshot name')
    .action(async (pool: string, name: string) => {
      ctx.emit(await invoke(pool, 'snapshot-create', { name }), (s: SnapshotInfo) => `snapshot ${s.name} of generation ${s.generation}: ${plural(s.files, 'file')}, ${humanBytes(s.referencedBytes)}`);
    });

  snap.command('list')
    .summary('list snapshots with their space')
    .description('Each snapshot with its generation, the bytes of the files it sees (REFERENCED) and those only it sees (UNIQUE: '
      + 'what deleting it frees), its files, and whether it is held; a received one with where its tree is (TREE AT); then the pool\'s bytes by owner. '
      + '--json adds each snapshot\'s guid: its identity, the sender\'s for a received snapshot (an incremental stream finds its base by it).')
    .argument('<pool>', 'pool directory')
    .action(async (pool: string) => {
      ctx.emit(await invoke(pool, 'snapshot-list', {}), renderList);
    });

  withRequestId(snap.command('delete'))
    .summary('delete a snapshot and free what only it kept')
    .description('Removes the snapshot in one transaction and starts the job that drops the versions and extents only it saw '
      + '(fragments deleted after each batch commits). The job survives a crash and resumes. A held snapshot is refused (EBUSY).')
    .argument('<pool>', 'pool directory')
    .argument('<name>', 'snapshot name')
    .option('--no-wait', 'with a coordinator running: return once the snapshot is gone, leaving the purge job running')
    .action(async (pool: string, name: string, o: { wait: boolean; requestId?: string }, cmd: Command) => {
      ctx.emit(await invoke(pool, 'snapshot-delete', { name, wait: o.wait }, { local: localContext(jsonOf(cmd)), ...requestIdOf(o) }),
        (d: SnapshotDeleteData) => `deleted snapshot ${d.name}${d.job ? `\n${renderJobOutcome({ job: d.job, finished: d.finished ?? false })}` : ''}`);
    });

  for (const [verb, held] of [['hold', true], ['release', false]] as const) {
    snap.command(verb)
      .summary(held ? 'protect a snapshot from deletion' : 'let a held snapshot be deleted again')
      .argument('<pool>', 'pool directory')
      .argument('<name>', 'snapshot name')
      .action(async (pool: string, name: string) => {
        ctx.emit(await invoke(pool, held ? 'snapshot-hold' : 'snapshot-release', { name }), (d: SnapshotHoldData) => `snapshot ${d.name} ${d.held ? 'held' : 'released'}`);
      });
  }

  snap.command('diff')
    .summary('what changed since a snapshot (or between two)')
    .description('One line per change, like zfs diff: + added, - removed, M modified (contents; a directory\'s entries), '
      + 'R renamed (FROM -> TO), m metadata only (mode, owner, times, xattrs). B defaults to the live tree. '
      + 'Only what changed is read, however large the pool.')
    .argument('<pool>', 'pool directory')
    .argument('<a>', 'the earlier snapshot')
    .argument('[b]', 'a later snapshot (default: the live tree)')
    .action(async (pool: string, a: string, b: string | undefined) => {
      ctx.emit(await invoke(pool, 'snapshot-diff', { from: a, ...(b === undefined ? {} : { to: b }) }), renderDiff);
    });

  snap.command('rollback')
    .summary('make the pool (or one path) what it was at a snapshot')
    .description('In one transaction: without --path the whole pool returns to the snapshot, inode numbers and all; '
      + 'with --path only that file or directory (its contents replaced by the snapshot\'s). Later snapshots stay. '
      + 'Refused (EBUSY) while files are open in the mount.')
    .argument('<pool>', 'pool directory')
    .argument('<name>', 'snapshot name')
    .option('--path <path>', 'roll back only this path in the pool')
    .action(async (pool: string, name: string, o: { path?: string }) => {
      ctx.emit(await invoke(pool, 'snapshot-rollback', { name, ...(o.path === undefined ? {} : { path: o.path }) }),
        (r: RollbackResult) => `rolled ${r.path} back to snapshot ${r.snapshot} (${plural(r.changes, 'change')} undone)`);
    });

  snap.command('clone')
    .summary('copy a snapshot (or a path in it) to a new, writable path')
    .description('SOURCE is NAME or NAME/PATH. The copy shares every extent with the snapshot until written: it takes no space '
      + 'but its metadata. DEST must not exist; its parent must.')
    .argument('<pool>', 'pool directory')
    .argument('<source>', 'NAME or NAME/PATH')
    .argument('<dest>', 'new path in the pool')
    .action(async (pool: string, source: string, dest: string) => {
      ctx.emit(await invoke(pool, 'snapshot-clone', { source, dest }), (r: CloneResult) => `cloned ${r.snapshot}:${r.from} to ${r.to} (${plural(r.inodes, 'inode')})`);
    });

  registerSchedule(snap, ctx);
}
