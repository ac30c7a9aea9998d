/**
 * `backup restore --pool`: a backup (or one directory of it) built into a pool with
 * fs/tree-apply.ts, as the pool job `backup-restore`. The tree grows under a staging root
 * nothing names, a batch of entries per transaction with the job's cursor (the entries
 * applied, in manifest order), every object verified as it is read from the repository
 * and again as the engine writes it; the last transaction publishes it at its
 * destination. A killed run resumes after its last batch; a cancelled one discards
 * what it built.
 */
import { DfsError, toDfsError } from '../errors';
import type { Engine } from '../engine/engine';
import type { Extent } from '../meta/records';
import { JobInterrupted, type JobContext, type JobKind } from '../engine/jobs';
import { crashPoint } from '../engine/crash-points';
import {
  applyEntry, createStaging, discardTree, entryPolicy, publishTree, recordExtent, writeEntryExtent, type EntryToApply,
} from '../fs/tree-apply';
import { lookupPath } from '../fs/paths';
import { backupsDirOf, manifestFile, readState, resolveBackup, usable } from './backup-state';
import { manifestEntries } from './manifest';
import type { EntryExtentRef, ManifestEntry } from './manifest-format';
import { PackReader } from './pack-reader';
import { Repository } from './repo';
import type { DamagedFile } from './restore-dir';

export interface PoolRestoreParams {
  repo: string;
  backupId: string;
  /** The backup's directory restored ('' for its root), as manifest paths name it. */
  path: string;
  /** Where in the pool it is published (a new path, or an empty directory). */
  dest: string;
  /** The staging root (tree-apply.ts). */
  staging: number;
}

/**
 * Entries a transaction applies at most (DYNAMICFS_RESTORE_CHECKPOINT_ENTRIES, as for a
 * restore into a directory: the tests commit every few entries), and the extent bytes it
 * writes at most before committing.
 */
const BATCH_ENTRIES = Math.min(256, Number(process.env.DYNAMICFS_RESTORE_CHECKPOINT_ENTRIES ?? 256) || 256);
const BATCH_BYTES = 64 << 20;
const WRITES_IN_FLIGHT = 4;

const inside = (p: string, sub: string): boolean => sub === '' || p === sub || p.startsWith(`${sub}/`);

/** The entry at `sub` of backup `id` (its kind decides whether it can be a tree's root). */
async function entryAt(repo: string, id: string, sub: string): Promise<ManifestEntry | undefined> {
  for await (const e of manifestEntries(manifestFile(backupsDirOf(repo), id))) if (e.path === sub) return e;
  return undefined;
}

/** The unfinished restore of the same backup, path and destination, if any. */
function activeRestore(engine: Engine, p: Omit<PoolRestoreParams, 'staging'>): number | undefined {
  return engine.meta.jobs().find((j) => j.kind === 'backup-restore' && (j.state === 'queued' || j.state === 'running' || j.state === 'paused')
    && j.params.repo === p.repo && j.params.backupId === p.backupId && j.params.path === p.path && j.params.dest === p.dest)?.id;
}

/** Check the request and queue the job (or find the interrupted one): its id, and whether it was resumed. */
export async function startPoolRestore(engine: Engine, args: { repo: string; backup: string; path?: string; dest: string; reqId?: string }):
  Promise<{ jobId: number; backupId: string; resumed: boolean }> {
  Repository.readConfig(args.repo);
  const rec = resolveBackup(backupsDirOf(args.repo), args.backup);
  if (!usable(rec)) throw new DfsError('EINVAL', `backup ${rec.id} is ${rec.state}: only a completed backup can be restored (see \`dynamicfs backup list\`)`, rec.id);
  const sub = (args.path ?? '').split('/').filter((x) => x !== '').join('/');
  const at = lookupPath(engine.meta, args.dest);
  const p = { repo: args.repo, backupId: rec.id, path: sub, dest: at.path };
  const running = activeRestore(engine, p);
  if (running !== undefined) return { jobId: running, backupId: rec.id, resumed: true };
  const root = await entryAt(args.repo, rec.id, sub);
  if (!root) throw new DfsError('ENOENT', `/${sub} is not in backup ${rec.id}`, `/${sub}`);
  if (root.kind !== 'dir') throw new DfsError('EINVAL', `/${sub} is a ${root.kind}: a restore into a pool builds a directory tree; restore the file into a plain directory, or give its directory`, `/${sub}`);
  if (at.inode && (at.inode.kind !== 'dir' || engine.meta.readdir(at.inode.ino).length > 0)) {
    throw new DfsError(at.inode.kind === 'dir' ? 'ENOTEMPTY' : 'EEXIST', `${at.path} exists${at.inode.kind === 'dir' ? ' and is not empty' : ''}; restore to a new path or an empty directory`, at.path);
  }
  if (!at.inode && !at.parent) throw new DfsError('ENOENT', `the parent of ${at.path} does not exist in the pool`, at.path);
  const jobId = engine.meta.transact((tx) => engine.jobs.createIn(tx, 'backup-restore', { ...p, staging: createStaging(tx) }, undefined, args.reqId));
  engine.jobs.queued(jobId);
  return { jobId, backupId: rec.id, resumed: false };
}

interface Pending {
  index: number;
  entry: EntryToApply;
  extents: Promise<Extent | null>[];
}

async function run(engineServices: unknown, ctx: JobContext): Promise<void> {
  const engine = engineServices as Engine;
  const p = ctx.params as unknown as PoolRestoreParams;
  const progress = ctx.progress as JobContext['progress'] & { cursor?: number; damaged?: DamagedFile[] };
  let repo: Repository | undefined;
  try {
    await ctx.step();
    repo = await Repository.open(p.repo);
    const rec = readState(repo.backupsDir, p.backupId);
    progress.backupId = rec.id;
    progress.damaged ??= [];
    if (!progress.bytesTotal) progress.bytesTotal = rec.bytes;
    if (!progress.extentsTotal && p.path === '') progress.extentsTotal = rec.entries;
    const reader = new PackReader((id) => repo!.packFile(id));
    const cursor = progress.cursor ?? 0;
    const restoredAt = new Map<number, string>();
    const outside = new Map<number, EntryExtentRef[]>();
    let batch: Pending[] = [];
    let batchBytes = 0;
    let inflight = 0;
    const waiters: (() => void)[] = [];
    const commit = async (): Promise<void> => {
      const done = await Promise.all(batch.map(async (b) => ({ b, extents: await Promise.all(b.extents) })));
      const ids = done.flatMap((d) => d.extents.filter((e): e is Extent => e !== null).map((e) => e.id));
      try {
        engine.meta.transact((tx) => {
          for (const { b, extents } of done) {
            const ino = applyEntry(tx, engine.meta, p.staging, b.entry);
            for (const e of extents) if (e) recordExtent(tx, ino, e);
            // extentsDone counts entries here (jobs shows it beside extentsTotal, the backup's entries).
            progress.cursor = b.index + 1;
            progress.extentsDone = b.index + 1;
          }
          ctx.checkpoint(tx);
        });
      } finally {
        engine.releaseExtents(ids);
      }
      batch = [];
      batchBytes = 0;
      crashPoint('restore-batch-committed');
    };
    const write = async (e: ManifestEntry, x: EntryExtentRef): Promise<Extent | null> => {
      while (inflight >= WRITES_IN_FLIGHT) await new Promise<void>((resolve) => waiters.push(resolve));
      inflight++;
      try {
        const loc = repo!.index.lookup(x.hash);
        if (!loc) {
          progress.damaged!.push({ path: e.path, offset: x.offset, object: x.hash.toString('hex'), why: 'the repository has no such object' });
          return null;
        }
        let bytes: Buffer;
        try {
          bytes = await reader.read(x.hash, loc);
        } catch (err) {
          progress.damaged!.push({ path: e.path, offset: x.offset, object: x.hash.toString('hex'), why: (err as Error).message });
          return null;
        }
        await ctx.throttle(bytes.length);
        const written = await writeEntryExtent(engine, x, bytes, entryPolicy(engine, e), `${e.path} at offset ${x.offset}`);
        progress.bytesDone += bytes.length;
        return written;
      } finally {
        inflight--;
        waiters.shift()?.();
      }
    };
    let index = 0;
    try {
      for await (const e of manifestEntries(manifestFile(repo.backupsDir, rec.id))) {
        if (!inside(e.path, p.path)) {
          if (e.kind === 'file' && e.link === null && e.nlink > 1) outside.set(e.ino, e.extents);
          continue;
        }
        const rel = p.path === '' ? e.path : e.path === p.path ? '' : e.path.slice(p.path.length + 1);
        const i = index++;
        const linked = e.kind === 'file' && (e.nlink > 1 || e.link !== null);
        const first = linked ? restoredAt.get(e.ino) : undefined;
        if (linked && first === undefined) restoredAt.set(e.ino, rel);
        if (i < cursor) continue;
        await ctx.step();
        const extents = first !== undefined ? [] : e.link === null ? e.extents : outside.get(e.ino) ?? [];
        if (first === undefined && e.link !== null && !outside.has(e.ino)) throw new DfsError('EFORMAT', `manifest of backup ${rec.id}: ${e.path} links to ${e.link}, which comes nowhere before it`, e.path);
        const entry: EntryToApply = { ...e, path: rel, link: first ?? null, extents };
        batch.push({ index: i, entry, extents: extents.map((x) => write(e, x)) });
        batchBytes += extents.reduce((n, x) => n + x.length, 0);
        if (batch.length >= BATCH_ENTRIES || batchBytes >= BATCH_BYTES) await commit();
      }
      if (batch.length > 0) await commit();
      if (index === 0) throw new DfsError('ENOENT', `/${p.path} is not in backup ${rec.id}`, `/${p.path}`);
      engine.meta.transact((tx) => {
        publishTree(tx, engine.meta, p.staging, p.dest);
        ctx.refuseCancel('the tree is published');
      });
    } finally {
      await Promise.allSettled(batch.flatMap((b) => b.extents));
      reader.close();
    }
  } catch (err) {
    if (err instanceof JobInterrupted && err.reason === 'stop') throw err;
    // Cancelled or failed: what was built goes (its fragments after the commit), and the destination stays as it was.
    const dropped = engine.meta.transact((tx) => discardTree(tx, engine.meta, p.staging));
    await engine.removeFragments(dropped);
    throw err instanceof JobInterrupted ? err : toDfsError(err);
  } finally {
    repo?.close();
  }
}

export const poolRestoreJobKind: JobKind = { run: run as JobKind['run'], undoesOnCancel: true, lane: 'backup' };
