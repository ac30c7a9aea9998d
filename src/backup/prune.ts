/**
 * `backup prune`: keep the last N backups and the newest of each of the last N days
 * (UTC) that have one; remove the others and every object no kept backup references.
 * Marking goes through the index on disk (its marks table), never a set in memory, so a
 * repository of any size prunes in bounded memory.
 *
 * Crash-safe in this order: the kept backups' objects marked (nothing changed yet; a
 * damaged kept manifest stops the prune here); the removed backups' state files, then
 * their manifests, deleted; then pack by pack: a pack with no live object is dropped from
 * the index with its deletion journalled, then deleted; a pack with some is rewritten —
 * its live objects (each verified) into a new pack, durable and journalled before the
 * index moves them to it in one transaction with the old pack's deletion journalled.
 * A prune killed anywhere leaves a repository the next run (or the next writer's
 * recovery) finishes; every kept backup restorable throughout.
 */
import * as fs from 'node:fs';
import { DfsError } from '../errors';
import { crashPoint } from '../engine/crash-points';
import { fsyncDir } from '../pool/durable-file';
import { listStates, manifestFile, stateFile, usable, type BackupRecord } from './backup-state';
import { manifestEntries } from './manifest';
import { packLayout, writePackFile } from './pack-writer';
import { PackReader } from './pack-reader';
import { Repository } from './repo';
import * as path from 'node:path';

export interface PruneReport {
  repo: string;
  kept: string[];
  removed: string[];
  /** Failed backups' records removed. */
  failedRemoved: string[];
  packsDeleted: number;
  packsRewritten: number;
  objectsRemoved: number;
  bytesFreed: number;
  /** Live objects that failed their hash while being copied: their packs were left as they are. */
  damaged: { pack: string; offset: number; object: string }[];
  dryRun: boolean;
}

const MARK_BATCH = 5000;

/** The backups to keep: the last `keepLast`, and the newest of each of the last `keepDaily` days (UTC) with a backup. */
export function selectKept(backups: readonly BackupRecord[], keepLast: number, keepDaily: number): Set<string> {
  const sorted = [...backups].filter(usable).sort((a, b) => a.startedMs - b.startedMs || (a.id < b.id ? -1 : 1));
  const keep = new Set(sorted.slice(Math.max(0, sorted.length - keepLast)).map((b) => b.id));
  const days = new Set<string>();
  for (let i = sorted.length - 1; i >= 0 && days.size < keepDaily; i--) {
    const day = new Date(sorted[i]!.startedMs).toISOString().slice(0, 10);
    if (days.has(day)) continue;
    days.add(day);
    keep.add(sorted[i]!.id);
  }
  return keep;
}

export async function pruneRepo(dir: string, opts: { keepLast: number; keepDaily: number; dryRun?: boolean }): Promise<PruneReport> {
  if (opts.keepLast + opts.keepDaily < 1) throw new DfsError('EUSAGE', 'prune needs --keep-last or --keep-daily of 1 or more: it would remove every backup');
  const repo = await Repository.open(dir);
  try {
    const { backups } = listStates(repo.backupsDir);
    const keep = selectKept(backups, opts.keepLast, opts.keepDaily);
    const report: PruneReport = {
      repo: repo.dir, kept: [...keep].sort(), removed: backups.filter((b) => usable(b) && !keep.has(b.id)).map((b) => b.id),
      failedRemoved: backups.filter((b) => b.state === 'failed').map((b) => b.id),
      packsDeleted: 0, packsRewritten: 0, objectsRemoved: 0, bytesFreed: 0, damaged: [], dryRun: !!opts.dryRun,
    };
    await mark(repo, report.kept);
    if (opts.dryRun) {
      for (const p of repo.index.packsWithDead()) {
        report.objectsRemoved += repo.index.objectsOf(p.id).length - p.liveObjects;
        report.bytesFreed += p.size - p.liveBytes;
        if (p.liveObjects === 0) report.packsDeleted++;
        else report.packsRewritten++;
      }
      return report;
    }
    for (const id of [...report.removed, ...report.failedRemoved]) removeBackup(repo, id);
    removeOrphanManifests(repo);
    await sweep(repo, report);
    removeOrphanPacks(repo, report);
    return report;
  } finally {
    repo.close();
  }
}

/** Mark every object the kept backups reference (in the index's marks table). */
async function mark(repo: Repository, kept: readonly string[]): Promise<void> {
  repo.index.clearMarks();
  for (const id of kept) {
    let batch: Buffer[] = [];
    for await (const e of manifestEntries(manifestFile(repo.backupsDir, id))) {
      for (const x of e.extents) batch.push(x.hash);
      if (batch.length >= MARK_BATCH) {
        repo.index.mark(batch);
        batch = [];
      }
    }
    repo.index.mark(batch);
  }
}

/** The state file first (then list no longer shows it), then the manifest. */
function removeBackup(repo: Repository, id: string): void {
  fs.rmSync(stateFile(repo.backupsDir, id), { force: true });
  fsyncDir(repo.backupsDir);
  fs.rmSync(manifestFile(repo.backupsDir, id), { force: true });
}

/** Manifests whose state file a killed prune already removed. */
function removeOrphanManifests(repo: Repository): void {
  for (const f of fs.readdirSync(repo.backupsDir)) {
    if (f.endsWith('.manifest') && !fs.existsSync(path.join(repo.backupsDir, `${f.slice(0, -'.manifest'.length)}.json`))) {
      fs.rmSync(path.join(repo.backupsDir, f), { force: true });
    }
  }
  fsyncDir(repo.backupsDir);
}

/**
 * Pack files the index does not know: a writer's whose rows a power cut lost before they
 * were made durable (nothing names their objects: a manifest goes in place only after its
 * objects' rows are durable). Pending ones were finished when the repository was opened.
 */
function removeOrphanPacks(repo: Repository, report: PruneReport): void {
  for (const id of repo.packIds()) {
    if (repo.index.hasPack(id)) continue;
    const file = repo.packFile(id);
    report.bytesFreed += fs.statSync(file).size;
    fs.rmSync(file, { force: true });
    report.packsDeleted++;
  }
}

/** Delete or rewrite every pack holding objects nothing marked. */
async function sweep(repo: Repository, report: PruneReport): Promise<void> {
  const reader = new PackReader((id) => repo.packFile(id));
  try {
    // Listed first: the rewrites add packs as they go.
    for (const p of [...repo.index.packsWithDead()]) {
      const all = repo.index.objectsOf(p.id);
      const file = repo.packFile(p.id);
      let newSize = 0;
      if (p.liveObjects === 0) {
        repo.index.replacePack(p.id, null);
      } else {
        const live = repo.index.liveObjectsOf(p.id);
        const objects: { hash: Buffer; data: Buffer }[] = [];
        let sound = true;
        for (const o of live) {
          try {
            objects.push({ hash: o.hash, data: await reader.read(o.hash, { pack: p.id, offset: o.offset, length: o.length }) });
          } catch {
            report.damaged.push({ pack: file, offset: o.offset, object: o.hash.toString('hex') });
            sound = false;
          }
        }
        // A damaged live object is not copied into a new pack as if it were sound: its pack stays for verify to name.
        if (!sound) continue;
        const layout = packLayout(objects);
        const id = await writePackFile(repo, layout.buffers, layout.entries, layout.size);
        newSize = fs.statSync(repo.packFile(id)).size;
        repo.index.replacePack(p.id, { id, size: newSize, entries: layout.entries });
        report.packsRewritten++;
      }
      // The index no longer places anything in the old pack, for good, before it goes.
      repo.index.durable();
      fs.rmSync(file, { force: true });
      fsyncDir(path.dirname(file));
      repo.index.clearPending(p.id);
      report.objectsRemoved += all.length - p.liveObjects;
      report.bytesFreed += p.size - newSize;
      if (p.liveObjects === 0) report.packsDeleted++;
      crashPoint('prune-pack-done');
    }
  } finally {
    reader.close();
  }
}
