/**
 * `backup verify`: is every backup (or one) restorable? The structure always — each
 * manifest reads whole (every record's BLAKE3, its end), every object it references is
 * in the index, every pack the index names exists and its own index agrees — and with
 * `readData` every object's bytes re-hashed. Damage is named: the pack file, the offset,
 * the object, and the backups and paths it affects. Backups found sound are recorded as
 * verified (their state file); those affected carry how many objects they lost.
 *
 * The data pass is a resumable job kept in the repository: its cursor counts the packs
 * done (in id order) and it carries the damage found so far.
 */
import { DfsError } from '../errors';
import { crashPoint } from '../engine/crash-points';
import { listStates, manifestFile, resolveBackup, usable, writeState, type BackupRecord } from './backup-state';
import { manifestEntries } from './manifest';
import { hashOf, readPackIndex } from './pack-reader';
import type { PackRow } from './object-index';
import { Repository } from './repo';
import { jobKey, readJob, writeJob, type RepoJob } from './repo-jobs';
import type { ByteProgress } from './restore-dir';
import * as fs from 'node:fs';

export type FindingCode = 'manifest-damaged' | 'object-missing' | 'object-damaged' | 'pack-missing' | 'pack-damaged' | 'index-mismatch';

export interface Affected {
  backup: string;
  path: string;
}

export interface VerifyFinding {
  code: FindingCode;
  message: string;
  /** The pack file, the offset of the object's bytes in it, the object's BLAKE3 (hex). */
  pack?: string;
  offset?: number;
  object?: string;
  backup?: string;
  /** Backups and paths that reference the object (the first 20), and how many more. */
  affected?: Affected[];
  affectedMore?: number;
}

export interface VerifyReport {
  repo: string;
  /** The backups checked (all completed ones, or the one named). */
  backups: string[];
  readData: boolean;
  packs: number;
  objects: number;
  bytesRead: number;
  findings: VerifyFinding[];
  /** Backups recorded as verified. */
  verified: string[];
  resumed: boolean;
  /** Packs in packs/ that the index does not know (a rebuild-index adds them; nothing references them). */
  unindexedPacks: string[];
  indexRebuilt: string | null;
}

const MARK_BATCH = 5000;
const AFFECTED_SHOWN = 20;

/** Verify repository `dir` (or backup `ref` in it); the report says what was found. */
export async function verifyRepo(dir: string, opts: { backup?: string; readData: boolean; progress?: (total: number) => ByteProgress }): Promise<VerifyReport> {
  const repo = await Repository.open(dir);
  try {
    const problems = repo.index.checkStructure();
    if (problems.length > 0) await repo.rebuildIndex(`its quick_check found: ${problems.slice(0, 3).join('; ')}`);
    const targets = opts.backup === undefined ? listStates(repo.backupsDir).backups.filter(usable) : [resolveBackup(repo.backupsDir, opts.backup)];
    for (const t of targets) if (!usable(t)) throw new DfsError('EINVAL', `backup ${t.id} is ${t.state}: only completed backups can be verified`, t.id);
    const report: VerifyReport = { repo: repo.dir, backups: targets.map((t) => t.id), readData: opts.readData, packs: 0, objects: 0, bytesRead: 0,
      findings: [], verified: [], resumed: false, unindexedPacks: [], indexRebuilt: repo.recovery.indexRebuilt };
    const badManifests = await markReferenced(repo, targets, report);
    const scope = [...(opts.backup === undefined ? repo.index.packs() : repo.index.packsWithMarked())];
    await checkPacks(repo, scope, report);
    if (opts.readData) await readData(repo, scope, opts, report);
    await nameAffected(repo, report);
    recordStates(repo, targets, badManifests, report);
    return report;
  } finally {
    repo.close();
  }
}

/** Mark every object the target backups reference; a missing one is a finding. Returns the backups whose manifests failed. */
async function markReferenced(repo: Repository, targets: BackupRecord[], report: VerifyReport): Promise<Set<string>> {
  const bad = new Set<string>();
  repo.index.clearMarks();
  for (const t of targets) {
    let batch: Buffer[] = [];
    try {
      for await (const e of manifestEntries(manifestFile(repo.backupsDir, t.id))) {
        for (const x of e.extents) batch.push(x.hash);
        if (batch.length >= MARK_BATCH) {
          repo.index.mark(batch);
          batch = [];
        }
      }
      repo.index.mark(batch);
    } catch (err) {
      bad.add(t.id);
      report.findings.push({ code: 'manifest-damaged', backup: t.id, message: `backup ${t.id}: ${(err as Error).message}` });
    }
  }
  for (const h of repo.index.markedMissing(100_000)) {
    report.findings.push({ code: 'object-missing', object: h.toString('hex'), message: `object ${h.toString('hex')} is referenced but in no pack` });
  }
  return bad;
}

/** Each pack in scope exists and its own index lists the objects where the repository's index says. */
async function checkPacks(repo: Repository, scope: PackRow[], report: VerifyReport): Promise<void> {
  const onDisk = new Set(repo.packIds());
  for (const p of scope) {
    const file = repo.packFile(p.id);
    onDisk.delete(p.id);
    if (!fs.existsSync(file)) {
      report.findings.push({ code: 'pack-missing', pack: file, message: `pack ${file} is gone; its ${p.objects} objects are lost` });
      for (const o of repo.index.objectsOf(p.id)) report.findings.push({ code: 'object-missing', pack: file, offset: o.offset, object: o.hash.toString('hex'), message: `object ${o.hash.toString('hex')} was in pack ${file}, which is gone` });
      continue;
    }
    let own;
    try {
      own = await readPackIndex(file);
    } catch (err) {
      report.findings.push({ code: 'pack-damaged', pack: file, message: `${(err as Error).message} (its objects may still be sound: verify --read-data checks each)` });
      continue;
    }
    const listed = new Map(own.entries.map((e) => [e.hash.toString('hex'), e]));
    for (const o of repo.index.objectsOf(p.id)) {
      const e = listed.get(o.hash.toString('hex'));
      if (!e || e.offset !== o.offset || e.length !== o.length) {
        report.findings.push({ code: 'index-mismatch', pack: file, offset: o.offset, object: o.hash.toString('hex'),
          message: `the index places object ${o.hash.toString('hex')} at offset ${o.offset} of pack ${file}, which does not list it there (rebuild the index: dynamicfs backup rebuild-index)` });
      }
    }
  }
  // Packs no index row names: harmless (nothing references them), noted.
  for (const id of onDisk) if (!repo.index.hasPack(id)) report.unindexedPacks.push(repo.packFile(id));
}

/** Re-hash every indexed object of the packs in scope, a pack at a time, resuming after the packs a killed run finished. */
async function readData(repo: Repository, scope: PackRow[], opts: { backup?: string; progress?: (total: number) => ByteProgress }, report: VerifyReport): Promise<void> {
  const key = jobKey('verify', [opts.backup ?? null, repo.dir]);
  const was = readJob(repo.jobsDir, 'verify', key);
  const total = scope.reduce((s, p) => s + p.size, 0);
  const job: RepoJob = was?.state === 'in-progress' ? was : {
    kind: 'verify', key, state: 'in-progress', backup: opts.backup ?? null, dest: null, path: null, startedMs: Date.now(), updatedMs: Date.now(),
    cursor: 0, entriesDone: 0, bytesDone: 0, bytesTotal: total, error: null, carry: { findings: [] },
  };
  report.resumed = was?.state === 'in-progress';
  const carried = (job.carry.findings ?? []) as VerifyFinding[];
  report.findings.push(...carried);
  const bar = opts.progress?.(total) ?? { add: () => undefined, grow: () => undefined, stop: () => undefined };
  const found: VerifyFinding[] = [...carried];
  try {
    bar.add(scope.slice(0, job.cursor).reduce((s, p) => s + p.size, 0));
    for (let i = job.cursor; i < scope.length; i++) {
      const p = scope[i]!;
      const file = repo.packFile(p.id);
      let whole: Buffer;
      try {
        whole = await fs.promises.readFile(file);
      } catch {
        continue; // missing: checkPacks reported it
      }
      report.bytesRead += whole.length;
      for (const o of repo.index.objectsOf(p.id)) {
        report.objects++;
        const bytes = whole.subarray(o.offset, o.offset + o.length);
        if (bytes.length === o.length && (await hashOf(bytes)).equals(o.hash)) continue;
        const f: VerifyFinding = { code: 'object-damaged', pack: file, offset: o.offset, object: o.hash.toString('hex'),
          message: `object ${o.hash.toString('hex')} at offset ${o.offset} of pack ${file} ${bytes.length === o.length ? 'fails its BLAKE3' : 'is cut short'}` };
        report.findings.push(f);
        found.push(f);
      }
      report.packs++;
      bar.add(p.size);
      writeJob(repo.jobsDir, { ...job, cursor: i + 1, entriesDone: i + 1, bytesDone: job.bytesDone + report.bytesRead, carry: { findings: found } });
      crashPoint('verify-pack-done');
    }
    writeJob(repo.jobsDir, { ...job, state: 'completed', cursor: scope.length, entriesDone: scope.length, bytesDone: total, carry: {} });
  } finally {
    bar.stop();
  }
}

/** Name, for every missing or damaged object, the backups and paths that reference it (every completed backup's manifest read). */
async function nameAffected(repo: Repository, report: VerifyReport): Promise<void> {
  const byObject = new Map<string, VerifyFinding[]>();
  for (const f of report.findings) if (f.object) byObject.set(f.object, [...(byObject.get(f.object) ?? []), f]);
  if (byObject.size === 0) return;
  for (const b of listStates(repo.backupsDir).backups.filter(usable)) {
    try {
      for await (const e of manifestEntries(manifestFile(repo.backupsDir, b.id))) {
        for (const x of e.extents) {
          const fs2 = byObject.get(x.hash.toString('hex'));
          if (!fs2) continue;
          for (const f of fs2) {
            f.affected ??= [];
            if (f.affected.length < AFFECTED_SHOWN) f.affected.push({ backup: b.id, path: `/${e.path}` });
            else f.affectedMore = (f.affectedMore ?? 0) + 1;
          }
        }
      }
    } catch {
      // Its own damage is a finding of its own (when it was checked).
    }
  }
}

/** Verified for the targets found sound; the count of damaged objects for every backup the damage reaches. */
function recordStates(repo: Repository, targets: BackupRecord[], badManifests: Set<string>, report: VerifyReport): void {
  const damagedOf = new Map<string, Set<string>>();
  for (const f of report.findings) {
    for (const a of f.affected ?? []) damagedOf.set(a.backup, (damagedOf.get(a.backup) ?? new Set()).add(f.object!));
  }
  const now = Date.now();
  const packLevel = report.findings.some((f) => f.code === 'pack-damaged' && !report.readData);
  for (const b of listStates(repo.backupsDir).backups.filter(usable)) {
    const target = targets.some((t) => t.id === b.id);
    const damaged = damagedOf.get(b.id)?.size ?? 0;
    if (target && damaged === 0 && !badManifests.has(b.id) && !packLevel) {
      writeState(repo.backupsDir, { ...b, state: 'verified', verifiedMs: now, verifiedData: report.readData, damagedObjects: 0 });
      report.verified.push(b.id);
    } else if (damaged > 0 || badManifests.has(b.id)) {
      writeState(repo.backupsDir, { ...b, state: 'completed', damagedObjects: Math.max(damaged, badManifests.has(b.id) ? 1 : 0) });
    }
  }
}
