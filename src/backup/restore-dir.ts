/**
 * `backup restore` into a plain directory, from the repository alone: every entry of a
 * backup (or of one subtree) with its mode, owner, times, xattrs, symlink target, hard
 * links and special files; every object's bytes verified against their BLAKE3 before they
 * are written, holes left as holes. Several files are written at once, each object read,
 * hashed and written off the main thread when large.
 *
 * A resumable job kept in the repository (repo-jobs.ts): its cursor is the number of
 * entries, in manifest order, finished and synced (syncfs) before the cursor moved; a run
 * killed at any point and run again redoes only the entries from the cursor on, each of
 * which it makes from scratch, so the result equals an uninterrupted run. Directories
 * get their attributes once everything in them is written (times, then a mode that may
 * forbid writing).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DfsError } from '../errors';
import { crashPoint } from '../engine/crash-points';
import { S_IF } from '../fs/file-types';
import { diskSync, lsetxattr, mknod, utimens } from '../native';
import { writeAt } from '../pool/write-at';
import { resolveBackup, manifestFile, usable } from './backup-state';
import { manifestEntries } from './manifest';
import type { EntryExtentRef, ManifestEntry } from './manifest-format';
import { PackReader } from './pack-reader';
import { Repository } from './repo';
import { jobKey, readJob, writeJob, type RepoJob } from './repo-jobs';

const FILES_IN_FLIGHT = 16;
const OBJECTS_IN_FLIGHT = 8;
const CHECKPOINT_MS = 10_000;
/** Entries between two cursor moves at most (DYNAMICFS_RESTORE_CHECKPOINT_ENTRIES: the tests move it every few entries). */
const CHECKPOINT_ENTRIES = Number(process.env.DYNAMICFS_RESTORE_CHECKPOINT_ENTRIES ?? 4096) || 4096;

export interface ByteProgress {
  add(bytes: number): void;
  grow(total: number): void;
  stop(): void;
}

export interface DamagedFile {
  path: string;
  offset: number;
  object: string;
  why: string;
}

export interface RestoreResult {
  backup: string;
  /** The subtree restored ('/' for all). */
  path: string;
  /** Where it went (DEST). */
  dest: string;
  entries: number;
  files: number;
  dirs: number;
  symlinks: number;
  hardLinks: number;
  special: number;
  /** Bytes of file data written (verified). */
  bytes: number;
  /** An interrupted restore was resumed at entry `resumedAt`. */
  resumed: boolean;
  resumedAt: number;
  /** Owners that could not be set (not root) and xattrs that could not be set (the destination's filesystem or a symlink refuses them). */
  ownersNotSet: number;
  xattrsNotSet: number;
  damaged: DamagedFile[];
}

/** The subtree `p` of a backup, as manifest paths name it ('' for the root); EINVAL for `..` and the like. */
function subtree(p: string | undefined): string {
  if (p === undefined) return '';
  const parts = p.split('/').filter((x) => x !== '');
  if (parts.some((x) => x === '.' || x === '..')) throw new DfsError('EINVAL', `--path ${p}: give a path inside the backup, without . or ..`, p);
  return parts.join('/');
}

/** A manifest path that could step outside the destination is damage, not a name. */
function checkName(e: ManifestEntry): void {
  if (e.path === '') return;
  if (e.path.split('/').some((x) => x === '' || x === '.' || x === '..' || x.includes('\0'))) {
    throw new DfsError('EFORMAT', `the manifest names an entry "${e.path}" that is not a path inside the tree`, e.path);
  }
}

/** Counts of what went and came out, and the limiters of the writes in flight. */
class Restorer {
  readonly result: RestoreResult;
  private readonly reader: PackReader;
  /** Entries started but not finished, by manifest index. */
  private readonly pending = new Set<number>();
  private readonly tasks = new Set<Promise<void>>();
  private objectSlots = OBJECTS_IN_FLIGHT;
  private readonly slotWaiters: (() => void)[] = [];
  private readonly root = process.getuid?.() === 0;

  constructor(private readonly repo: Repository, result: RestoreResult, private readonly bar: ByteProgress) {
    this.result = result;
    this.reader = new PackReader((id) => repo.packFile(id));
  }

  /** The lowest entry index not finished, given the next one to start. */
  finishedBelow(next: number): number {
    let low = next;
    for (const i of this.pending) if (i < low) low = i;
    return low;
  }

  async spawn(index: number, work: () => Promise<void>): Promise<void> {
    while (this.tasks.size >= FILES_IN_FLIGHT) await Promise.race(this.tasks);
    this.pending.add(index);
    const t: Promise<void> = work().finally(() => {
      this.pending.delete(index);
      this.tasks.delete(t);
    });
    this.tasks.add(t);
  }

  async drain(): Promise<void> {
    while (this.tasks.size > 0) await Promise.all([...this.tasks]);
  }

  private async slot<T>(fn: () => Promise<T>): Promise<T> {
    while (this.objectSlots === 0) await new Promise<void>((resolve) => this.slotWaiters.push(resolve));
    this.objectSlots--;
    try {
      return await fn();
    } finally {
      this.objectSlots++;
      this.slotWaiters.shift()?.();
    }
  }

  /** Write a file's extents (each object verified) into `fd`; a damaged object leaves its range a hole and is named. */
  async fill(fd: number, e: ManifestEntry, extents: readonly EntryExtentRef[]): Promise<void> {
    await Promise.all(extents.map((x) => this.slot(async () => {
      const loc = this.repo.index.lookup(x.hash);
      if (!loc) {
        this.result.damaged.push({ path: e.path, offset: x.offset, object: x.hash.toString('hex'), why: 'the repository has no such object' });
        return;
      }
      let data: Buffer;
      try {
        data = await this.reader.read(x.hash, loc);
      } catch (err) {
        this.result.damaged.push({ path: e.path, offset: x.offset, object: x.hash.toString('hex'), why: (err as Error).message });
        return;
      }
      await writeAt(fd, data, x.offset);
      this.result.bytes += data.length;
      this.bar.add(data.length);
    })));
  }

  /** Owner, mode, xattrs, times of `file` (an fd when open), in the order that keeps each. */
  attrs(file: string, e: ManifestEntry, fd?: number): void {
    try {
      if (fd !== undefined) fs.fchownSync(fd, e.uid, e.gid);
      else fs.lchownSync(file, e.uid, e.gid);
    } catch (err) {
      if (this.root || !['EPERM', 'EINVAL'].includes((err as NodeJS.ErrnoException).code ?? '')) throw err;
      this.result.ownersNotSet++;
    }
    if (e.kind !== 'symlink') {
      if (fd !== undefined) fs.fchmodSync(fd, e.mode & 0o7777);
      else fs.chmodSync(file, e.mode & 0o7777);
    }
    for (const [name, value] of e.xattrs) {
      try {
        lsetxattr(file, name, value);
      } catch (err) {
        if (!['ENOTSUP', 'EPERM', 'EACCES', 'E2BIG', 'ENOSPC'].includes((err as DfsError).code)) throw err;
        this.result.xattrsNotSet++;
      }
    }
    utimens(file, fd ?? -1, e.atimeMs, e.mtimeMs);
  }

  close(): void {
    this.reader.close();
  }
}

/**
 * Creates and writes (writeAt) go to the thread pool, small ones too: on a disk busy with
 * the restore's own writeback a create or a write waits for the filesystem's journal
 * (measured ~0.3 ms a create), and here that wait would hold up every other file in flight.
 */
function createFile(file: string): Promise<number> {
  return new Promise((resolve, reject) => fs.open(file, 'w', 0o600, (err, fd) => (err ? reject(err) : resolve(fd))));
}

/** Remove whatever a killed run left at `p` (an entry past the cursor is made again from scratch). */
function clear(p: string): void {
  try {
    if (!fs.lstatSync(p).isDirectory()) fs.unlinkSync(p);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

function emptyOrAbsent(dest: string): void {
  if (!fs.existsSync(dest)) return;
  if (!fs.statSync(dest).isDirectory()) throw new DfsError('EEXIST', `${dest} exists; restore to a new path or into an empty directory`, dest);
  if (fs.readdirSync(dest).length > 0) throw new DfsError('ENOTEMPTY', `${dest} is not empty; restore into a new or empty directory (nothing was written)`, dest);
}

/**
 * Restore backup `ref` (an id or `latest`) of repository `repoDir`, or its subtree
 * `opts.path`, as the local path `dest`: the tree's root (a directory) fills `dest`, new
 * or empty; a file restored alone is written at `dest`, new. Run again after an
 * interruption, it resumes.
 */
export async function restoreToDir(repoDir: string, ref: string, dest: string, opts: { path?: string; progress?: (total: number) => ByteProgress } = {}): Promise<RestoreResult> {
  const repo = await Repository.open(repoDir);
  const sub = subtree(opts.path);
  try {
    const rec = resolveBackup(repo.backupsDir, ref);
    if (!usable(rec)) throw new DfsError('EINVAL', `backup ${rec.id} is ${rec.state}: only a completed backup can be restored (see \`dynamicfs backup list\`)`, rec.id);
    const key = jobKey('restore', [rec.id, sub, dest]);
    const was = readJob(repo.jobsDir, 'restore', key);
    const resumed = was?.state === 'in-progress';
    if (!resumed) emptyOrAbsent(dest);
    const target = dest;
    const job: RepoJob = resumed ? was! : {
      kind: 'restore', key, state: 'in-progress', backup: rec.id, dest, path: `/${sub}`, startedMs: Date.now(), updatedMs: Date.now(),
      cursor: 0, entriesDone: 0, bytesDone: 0, bytesTotal: sub === '' ? rec.bytes : await subtreeBytes(manifestFile(repo.backupsDir, rec.id), sub), error: null, carry: {},
    };
    writeJob(repo.jobsDir, job);
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    const bar = opts.progress?.(job.bytesTotal) ?? { add: () => undefined, grow: () => undefined, stop: () => undefined };
    const result: RestoreResult = {
      backup: rec.id, path: `/${sub}`, dest: target, entries: 0, files: 0, dirs: 0, symlinks: 0, hardLinks: 0, special: 0, bytes: 0,
      resumed, resumedAt: resumed ? job.cursor : 0, ownersNotSet: 0, xattrsNotSet: 0, damaged: [],
    };
    const r = new Restorer(repo, result, bar);
    try {
      await restoreEntries(repo, rec.id, sub, target, job, r);
    } catch (err) {
      writeJob(repo.jobsDir, { ...job, state: 'failed', error: (err as Error).message });
      throw err;
    } finally {
      r.close();
      bar.stop();
    }
    if (result.damaged.length > 0) {
      const error = `${result.damaged.length} object(s) could not be restored; their ranges are holes in: ${[...new Set(result.damaged.map((d) => d.path))].join(', ')}`;
      writeJob(repo.jobsDir, { ...job, state: 'failed', error });
      throw new DfsError('EDIGEST', `restore of backup ${rec.id}: ${error} (everything else is restored and verified)`, target, { damaged: result.damaged, result });
    }
    writeJob(repo.jobsDir, { ...job, state: 'completed', cursor: result.entries, entriesDone: result.entries, bytesDone: job.bytesTotal });
    return result;
  } finally {
    repo.close();
  }
}

async function subtreeBytes(manifest: string, sub: string): Promise<number> {
  let n = 0;
  for await (const e of manifestEntries(manifest)) if (e.kind === 'file' && e.link === null && inside(e.path, sub)) n += e.size;
  return n;
}

const inside = (p: string, sub: string): boolean => sub === '' || p === sub || p.startsWith(`${sub}/`);

async function restoreEntries(repo: Repository, backupId: string, sub: string, target: string, job: RepoJob, r: Restorer): Promise<void> {
  const result = r.result;
  /** Directories open above the current entry: their attributes are set once left. */
  const dirs: { rel: string; file: string; entry: ManifestEntry }[] = [];
  /** The restored path of each inode with several links (the later links link to it). */
  const restoredAt = new Map<number, string>();
  /** Extents of multiply-linked inodes whose first path is outside the subtree. */
  const outside = new Map<number, EntryExtentRef[]>();
  let index = 0;
  let lastCheckpoint = Date.now();
  let lastIndex = 0;
  const leave = async (upTo: string | null): Promise<void> => {
    const below = (top: string): boolean => upTo !== null && upTo !== top && inside(upTo, top);
    while (dirs.length > 0 && !below(dirs[dirs.length - 1]!.rel)) {
      const d = dirs.pop()!;
      await r.drain();
      r.attrs(d.file, d.entry);
    }
  };
  /** The cursor's move under way: the destination synced, then the journal written; the restore goes on meanwhile. */
  let moving: Promise<void> | undefined;
  let moveFailed: unknown;
  const checkpoint = async (force: boolean): Promise<void> => {
    if (moveFailed) throw moveFailed;
    if (force) await moving;
    else if (moving || (Date.now() - lastCheckpoint < CHECKPOINT_MS && index - lastIndex < CHECKPOINT_ENTRIES)) return;
    lastCheckpoint = Date.now();
    lastIndex = index;
    // Entries below the cursor are finished now; they are durable once the sync returns, and only then does the journal say so.
    const cursor = r.finishedBelow(index);
    const bytes = job.bytesDone + result.bytes;
    const move = diskSync(target).then(() => writeJob(repo.jobsDir, { ...job, cursor, entriesDone: cursor, bytesDone: bytes }));
    moving = move.catch((err) => { moveFailed = err; }).finally(() => { moving = undefined; });
    if (force) await move;
  };
  /** A fresh restore writes into an empty directory; a resumed one remakes each entry from the cursor on. */
  const fresh = (p: string): void => {
    if (result.resumed) clear(p);
  };
  for await (const e of manifestEntries(manifestFile(repo.backupsDir, backupId))) {
    checkName(e);
    if (!inside(e.path, sub)) {
      if (e.kind === 'file' && e.link === null && e.nlink > 1) outside.set(e.ino, e.extents);
      continue;
    }
    const rel = sub === '' ? e.path : e.path === sub ? '' : e.path.slice(sub.length + 1);
    const file = rel === '' ? target : path.join(target, rel);
    const i = index++;
    const redo = i >= job.cursor;
    await leave(rel);
    // Every entry but the root is made inside the directory entry above it: nothing else (a symlink) can be in between.
    const parent = rel === '' ? null : rel.includes('/') ? rel.slice(0, rel.lastIndexOf('/')) : '';
    if (parent !== null && dirs[dirs.length - 1]?.rel !== parent) {
      throw new DfsError('EFORMAT', `manifest of backup ${backupId}: entry "${e.path}" does not follow its directory`, e.path);
    }
    result.entries++;
    if (rel === '' && e.kind !== 'dir' && redo && !result.resumed && fs.existsSync(file)) {
      throw new DfsError('EISDIR', `${e.path} is a ${e.kind} and ${file} a directory: give the new path it is to have`, file);
    }
    if (e.kind === 'dir') {
      result.dirs++;
      if (redo || !fs.existsSync(file)) {
        try {
          fs.mkdirSync(file, { mode: 0o700 });
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        }
      }
      fs.chmodSync(file, 0o700); // writable while filled (a resumed run may find it finished and read-only)
      dirs.push({ rel, file, entry: e });
    } else if (e.kind === 'file') {
      const first = e.nlink > 1 || e.link !== null ? restoredAt.get(e.ino) : undefined;
      if (first !== undefined) {
        result.hardLinks++;
        if (redo) {
          fresh(file);
          fs.linkSync(first, file);
        }
      } else {
        if (e.nlink > 1 || e.link !== null) restoredAt.set(e.ino, file);
        result.files++;
        const extents = e.link === null ? e.extents : outside.get(e.ino) ?? [];
        if (e.link !== null && !outside.has(e.ino)) throw new DfsError('EFORMAT', `manifest of backup ${backupId}: ${e.path} links to ${e.link}, which comes nowhere before it`, e.path);
        if (redo) {
          await r.spawn(i, async () => {
            fresh(file);
            const fd = await createFile(file);
            try {
              await r.fill(fd, e, extents);
              // A hole at the end (or a file of holes, or a damaged range) needs the size set; the writes made the rest.
              const last = extents[extents.length - 1];
              if ((last ? last.offset + last.length : 0) !== e.size || result.damaged.length > 0) fs.ftruncateSync(fd, e.size);
              r.attrs(file, e, fd);
            } finally {
              fs.closeSync(fd);
            }
            crashPoint('restore-entry-written');
          });
        }
      }
    } else if (e.kind === 'symlink') {
      result.symlinks++;
      if (redo) {
        fresh(file);
        fs.symlinkSync(e.target ?? '', file);
        r.attrs(file, e);
      }
    } else {
      result.special++;
      if (redo) {
        fresh(file);
        mknod(file, S_IF[e.kind] | (e.mode & 0o7777), e.rdev);
        r.attrs(file, e);
      }
    }
    await checkpoint(false);
  }
  await r.drain();
  await leave(null);
  if (index === 0) throw new DfsError('ENOENT', `${sub} is not in backup ${backupId}`, sub);
  await checkpoint(true);
}
