/**
 * The `backup` verbs that need only the repository: verify, restore (into a plain
 * directory; `--pool` restores into a pool through it), prune, rebuild-index. Registered
 * by backup.ts.
 */
import * as path from 'node:path';
import type { Command } from 'commander';
import { pruneRepo, type PruneReport } from '../../backup/prune';
import { Repository } from '../../backup/repo';
import { restoreToDir, type RestoreResult } from '../../backup/restore-dir';
import { verifyRepo, type VerifyReport } from '../../backup/verify';
import { DfsError } from '../../errors';
import { humanBytes, plural } from '../format';
import { invoke } from '../../admin/client';
import { byteProgress } from '../progress';
import { requestIdOf, withRequestId } from '../request-id';
import { jsonOf, localContext, type CliContext } from '../verb';
import { jobLine } from './jobs';

function renderVerify(r: VerifyReport): string {
  const lines = [`checked ${plural(r.backups.length, 'backup')}${r.readData ? `, re-hashed ${plural(r.objects, 'object')} in ${plural(r.packs, 'pack')} (${humanBytes(r.bytesRead)})` : ' (structure; --read-data re-hashes every object)'}`];
  if (r.resumed) lines.push('resumed an interrupted verify');
  if (r.indexRebuilt) lines.push(`rebuilt the index: ${r.indexRebuilt}`);
  for (const f of r.findings) {
    lines.push(`${f.code}: ${f.message}`);
    for (const a of f.affected ?? []) lines.push(`  affects backup ${a.backup}: ${a.path}`);
    if (f.affectedMore) lines.push(`  and ${f.affectedMore} more`);
  }
  for (const p of r.unindexedPacks) lines.push(`note: pack ${p} is in no index (nothing references it; \`backup rebuild-index\` adds it, \`backup prune\` removes it)`);
  if (r.verified.length) lines.push(`verified: ${r.verified.join(', ')}`);
  return lines.join('\n');
}

function renderRestore(r: RestoreResult): string {
  const parts = [`restored backup ${r.backup}${r.path === '/' ? '' : ` path ${r.path}`} into ${r.dest}: ${plural(r.files, 'file')} (${humanBytes(r.bytes)} verified), `
    + `${plural(r.dirs, 'directory', 'directories')}, ${plural(r.symlinks, 'symlink')}, ${plural(r.hardLinks, 'hard link')}, ${plural(r.special, 'special file')}`];
  if (r.resumed) parts.push(`resumed at entry ${r.resumedAt}`);
  if (r.ownersNotSet) parts.push(`${plural(r.ownersNotSet, 'owner')} not set (only root can give files away)`);
  if (r.xattrsNotSet) parts.push(`${plural(r.xattrsNotSet, 'extended attribute')} not set (refused by ${r.dest}'s filesystem or on symlinks)`);
  return parts.join('\n');
}

function renderPrune(r: PruneReport): string {
  const verb = r.dryRun ? 'would remove' : 'removed';
  const lines = [`kept ${plural(r.kept.length, 'backup')}${r.kept.length ? ` (${r.kept.join(', ')})` : ''}`,
    `${verb} ${plural(r.removed.length, 'backup')}${r.removed.length ? ` (${r.removed.join(', ')})` : ''}${r.failedRemoved.length ? ` and ${plural(r.failedRemoved.length, 'failed one')}` : ''}`,
    `${verb} ${plural(r.objectsRemoved, 'object')} (${humanBytes(r.bytesFreed)}): ${plural(r.packsDeleted, 'pack')} deleted, ${plural(r.packsRewritten, 'pack')} rewritten`];
  for (const d of r.damaged) lines.push(`damaged: object ${d.object} at offset ${d.offset} of ${d.pack}: its pack was left as it is (run backup verify --read-data)`);
  return lines.join('\n');
}

function count(value: string | undefined, option: string): number {
  if (value === undefined) return 0;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new DfsError('EUSAGE', `${option} ${value}: give a whole number, 0 or more`);
  return n;
}

export function registerRepoVerbs(backup: Command, ctx: CliContext): void {
  backup.command('verify')
    .summary('check that the backups can be restored')
    .description('Check the repository\'s structure — every manifest whole (each record\'s BLAKE3, its end), every object it references '
      + 'indexed, every pack present and agreeing with the index — and with --read-data re-hash every object\'s bytes. Damage is named: '
      + 'pack file, offset, object, and the backups and paths it affects. Backups found sound are recorded as verified. An interrupted '
      + '--read-data run resumes where it stopped when run again.')
    .argument('[backup]', 'only this backup (an id, or latest)')
    .requiredOption('--repo <dir>', 'the repository directory')
    .option('--read-data', 're-hash every object\'s bytes')
    .addHelpText('after', '\nExit status: 0 when nothing is wrong; 1 with EFINDINGS when something is (the report in the error object with --json).')
    .action(async (ref: string | undefined, o: { repo: string; readData?: boolean }, cmd: Command) => {
      const json = jsonOf(cmd);
      const r = await verifyRepo(path.resolve(o.repo), { backup: ref, readData: !!o.readData, progress: (t) => byteProgress('verify', t, json) });
      if (r.findings.length > 0) {
        if (!json) process.stdout.write(`${renderVerify(r)}\n`);
        throw new DfsError('EFINDINGS', `verify found ${plural(r.findings.length, 'problem')} in ${r.repo}; the backups and paths they affect are listed`, undefined, { ...r });
      }
      ctx.emit(r, renderVerify);
    });

  withRequestId(backup.command('restore'))
    .summary('restore a backup into a directory, from the repository alone, or into a pool')
    .description('Restore BACKUP (an id, or latest) as DEST, a new or empty local directory: contents, modes, owners, times, symlinks, '
      + 'hard links, special files and extended attributes; every byte verified against its BLAKE3 before it is written, holes left as holes. '
      + 'With --path P only that path of the backup becomes DEST (a file: DEST is its new path). Needs no pool. Interrupted, the same '
      + 'command resumes where it stopped. With --pool POOL, DEST is a path in that pool (new, or an empty directory): the tree is built '
      + 'there unseen, as a job of the pool, and appears whole in one transaction; through a running coordinator it runs in the '
      + 'background unless --wait.')
    .argument('<backup>', 'backup id, or latest')
    .argument('<dest>', 'local directory (new or empty), or with --pool a path in that pool')
    .requiredOption('--repo <dir>', 'the repository directory')
    .option('--path <path>', 'restore only this path of the backup')
    .option('--pool <pool>', 'restore into this pool, at the pool path DEST')
    .option('--wait', 'with --pool and a coordinator running: wait for the restore to end')
    .action(async (ref: string, dest: string, o: { repo: string; path?: string; pool?: string; wait?: boolean; requestId?: string }, cmd: Command) => {
      const json = jsonOf(cmd);
      if (o.pool !== undefined) {
        const data = await invoke(o.pool, 'backup-restore', { repo: path.resolve(o.repo), backup: ref, dest, ...(o.path ? { path: o.path } : {}), wait: !!o.wait },
          { local: localContext(json), ...requestIdOf(o) });
        ctx.emit(data, (d) => `${d.resumed ? 'resumed the restore' : 'restore'} of backup ${d.backup} into ${d.dest} of ${o.pool}: job ${jobLine(d.job)}`
          + (d.finished ? '' : '\nrunning in the coordinator; follow it with `dynamicfs jobs POOL`'));
        return;
      }
      if (o.wait) throw new DfsError('EUSAGE', '--wait goes with --pool (a restore into a plain directory runs here to its end)');
      const r = await restoreToDir(path.resolve(o.repo), ref, path.resolve(dest), { path: o.path, progress: (t) => byteProgress('restore', t, json) });
      ctx.emit(r, renderRestore);
    });

  backup.command('prune')
    .summary('remove old backups and what only they referenced')
    .description('Keep the last N backups (--keep-last) and the newest backup of each of the last N days that have one (--keep-daily, '
      + 'days in UTC); remove the other backups and failed ones, and every object no kept backup references: packs left empty are '
      + 'deleted, packs partly live are rewritten. Memory stays bounded: the marking goes through the on-disk index. Safe to kill: '
      + 'run it again to finish.')
    .requiredOption('--repo <dir>', 'the repository directory')
    .option('--keep-last <n>', 'keep the N newest backups')
    .option('--keep-daily <n>', 'keep the newest backup of each of the last N days that have one')
    .option('--dry-run', 'say what would be removed, remove nothing')
    .action(async (o: { repo: string; keepLast?: string; keepDaily?: string; dryRun?: boolean }) => {
      ctx.emit(await pruneRepo(path.resolve(o.repo), { keepLast: count(o.keepLast, '--keep-last'), keepDaily: count(o.keepDaily, '--keep-daily'), dryRun: !!o.dryRun }), renderPrune);
    });

  backup.command('rebuild-index')
    .summary('rebuild the repository\'s index from its packs')
    .description('Build index.db anew from the packs\' own indexes (a pack whose index is damaged is read front to back, keeping the '
      + 'objects that verify). Opening a repository does this by itself when index.db is missing or cannot be opened.')
    .requiredOption('--repo <dir>', 'the repository directory')
    .action(async (o: { repo: string }) => {
      const repo = await Repository.open(path.resolve(o.repo));
      try {
        const r = await repo.rebuildIndex('asked for');
        ctx.emit({ repo: repo.dir, ...r }, (d) => `rebuilt the index of ${d.repo}: ${plural(d.objects, 'object')} in ${plural(d.packs, 'pack')}`
          + (d.damagedPacks.length ? `\ndamaged packs (their sound objects kept): ${d.damagedPacks.join(', ')}` : ''));
      } finally {
        repo.close();
      }
    });
}
