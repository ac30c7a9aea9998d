/**
 * `dynamicfs backup init|create|list|verify|restore|prune|rebuild-index`: backups of a
 * pool into a repository directory (backup/). `create` (and `restore --pool`) run against
 * a pool, through its coordinator when one runs; the others need only the repository
 * (verify, restore, prune: backup-repo-verbs.ts).
 */
import * as path from 'node:path';
import type { Command } from 'commander';
import { invoke } from '../../admin/client';
import type { BackupCreateData } from '../../admin/ops';
import type { BackupRecord } from '../../backup/backup-state';
import { listBackups, type BackupList } from '../../backup/list';
import { Repository } from '../../backup/repo';
import { BACKUP_TYPES } from '../../backup/start';
import type { BackupType } from '../../backup/manifest-format';
import { DfsError } from '../../errors';
import { humanBytes, parseBytes, plural, table, timeString } from '../format';
import { localContext, jsonOf, type CliContext } from '../verb';
import { requestIdOf, withRequestId } from '../request-id';
import { registerRepoVerbs } from './backup-repo-verbs';
import { jobLine } from './jobs';

function stateOf(b: BackupRecord): string {
  return b.damagedObjects > 0 ? `${b.state} (${plural(b.damagedObjects, 'damaged object')})` : b.state;
}

export function renderBackup(b: BackupRecord): string {
  return `backup ${b.id} (${b.type}${b.parent ? ` of ${b.parent}` : ''}) of snapshot ${b.snapshot}: ${stateOf(b)}, `
    + `${plural(b.files, 'file')}, ${humanBytes(b.bytes)}, ${humanBytes(b.newBytes)} new in ${plural(b.newObjects, 'object')}`
    + `${b.note ? `\nnote: ${b.note}` : ''}${b.error ? `\nerror: ${b.error}` : ''}`;
}

function renderCreate(d: BackupCreateData): string {
  const lines = [renderBackup(d.backup)];
  if (d.createdRepo) lines.unshift('created the repository');
  if (d.snapshotTaken) lines.unshift(`took snapshot ${d.snapshotTaken}`);
  if (d.resumed) lines.unshift(`resumed the unfinished backup ${d.backup.id}`);
  if (!d.finished) lines.push(`job ${jobLine(d.job)}`, 'running in the coordinator; follow it with `dynamicfs jobs POOL`');
  return lines.join('\n');
}

function renderList(d: BackupList): string {
  const rows = d.backups.map((b) => [b.id, b.type, b.parent ?? '-', b.snapshot, timeString(b.startedMs), b.files, humanBytes(b.bytes), humanBytes(b.newBytes), stateOf(b)]);
  const lines = [rows.length === 0 ? `no backups in ${d.repo}`
    : table(['ID', 'TYPE', 'PARENT', 'SNAPSHOT', 'STARTED', 'FILES', 'BYTES', 'NEW', 'STATE'], rows, ['FILES', 'BYTES', 'NEW'])];
  for (const j of d.jobs) lines.push(`${j.kind} ${j.state}: backup ${j.backup}${j.dest ? ` into ${j.dest}` : ''}, ${j.entriesDone} entries, ${humanBytes(j.bytesDone)} of ${humanBytes(j.bytesTotal)}${j.error ? `: ${j.error}` : ''}`);
  if (d.stored) lines.push(`stored: ${plural(d.stored.objects, 'object')} (${humanBytes(d.stored.bytes)}) in ${plural(d.stored.packs, 'pack')} (${humanBytes(d.stored.packBytes)})`);
  for (const u of d.unreadable) lines.push(`unreadable state file: ${u}`);
  return lines.join('\n');
}

export function register(program: Command, ctx: CliContext): void {
  const backup = program.command('backup')
    .summary('back a pool up into a repository; list, verify, restore and prune its backups')
    .description('A repository is a plain directory (another disk, a USB drive, NFS) holding backups of pools: each extent\'s bytes '
      + 'once, keyed by their BLAKE3 (so unchanged extents and duplicate files are stored once across all backups), in pack files, '
      + 'and one manifest per backup listing its whole tree. It is readable without any pool: list, verify, restore and prune need only it.');

  backup.command('init')
    .summary('make a new backup repository')
    .description('Make DIR (new or empty) a backup repository. `backup create` makes one by itself in a new or empty directory; '
      + 'init lets you choose the pack size.')
    .requiredOption('--repo <dir>', 'the repository directory')
    .option('--pack-size <bytes>', 'seal a pack once its objects reach this size, 64K to 1G (default 32M)')
    .action((o: { repo: string; packSize?: string }) => {
      const dir = path.resolve(o.repo);
      const config = Repository.init(dir, o.packSize === undefined ? undefined : parseBytes(o.packSize, '--pack-size'));
      ctx.emit({ repo: dir, ...config }, (c) => `created backup repository ${c.repo} (packs of ${humanBytes(c.packBytes)})`);
    });

  withRequestId(backup.command('create'))
    .summary('back the pool up into a repository')
    .description('Take a snapshot of POOL (or use --snapshot NAME) and store its tree in the repository: a manifest of every entry '
      + '(attributes, xattrs, links, each file\'s extents by BLAKE3) and the extents the repository lacks, read from the pool and '
      + 'verified. incremental (the default) is computed against the previous backup of this pool in the repository, differential '
      + 'against the last full one: only what changed since that backup\'s snapshot is read (a backup whose parent\'s snapshot is '
      + 'gone from the pool walks the whole tree, and says so). Every manifest is complete: each backup restores alone. A run that '
      + 'is killed resumes when create is run again (or when the coordinator restarts), storing only what it had not. The snapshot '
      + 'stays in the pool: keep the last one, the next incremental reads only what changed since it.')
    .argument('<pool>', 'pool directory')
    .requiredOption('--repo <dir>', 'the repository (made if new or empty)')
    .option('--type <type>', 'full, incremental or differential (default incremental; the first backup of a pool is full)')
    .option('--snapshot <name>', 'back up this snapshot instead of taking one')
    .option('--wait', 'with a coordinator running: wait for the backup to end')
    .action(async (pool: string, o: { repo: string; type?: string; snapshot?: string; wait?: boolean; requestId?: string }, cmd: Command) => {
      if (o.type !== undefined && !BACKUP_TYPES.includes(o.type as BackupType)) {
        throw new DfsError('EUSAGE', `--type ${o.type}: give full, incremental or differential`);
      }
      const data = await invoke(pool, 'backup-create', {
        repo: path.resolve(o.repo), ...(o.type ? { type: o.type as BackupType } : {}), ...(o.snapshot ? { snapshot: o.snapshot } : {}), wait: !!o.wait,
      }, { local: localContext(jsonOf(cmd)), ...requestIdOf(o) });
      ctx.emit(data, renderCreate);
    });

  backup.command('list')
    .summary('list the backups in a repository')
    .description('Each backup with its type, parent, snapshot, start time, files, bytes, the new bytes it stored, and its state: '
      + 'in-progress, completed, failed, or verified (by `backup verify`); then restores and verifies under way.')
    .requiredOption('--repo <dir>', 'the repository directory')
    .action((o: { repo: string }) => {
      ctx.emit(listBackups(path.resolve(o.repo)), renderList);
    });

  registerRepoVerbs(backup, ctx);
}
