/**
 * Writing one backup: its snapshot's tree into a manifest, and the extents the
 * repository lacks into packs. A full backup walks the snapshot; an incremental or
 * differential one takes its parent's manifest with the changes since the parent's
 * snapshot applied (changes.ts), falling back to a walk (and saying why) when the
 * parent's snapshot is gone from the pool or its manifest cannot be read.
 *
 * Resumable: packs are indexed as they are sealed, the manifest is renamed into place
 * last. A run killed half-way leaves its packs; the next run of the same backup writes
 * the manifest again, and every object it meets is in the index already, so only what
 * was never stored is read from the pool.
 */
import * as path from 'node:path';
import { DfsError } from '../errors';
import type { EngineServices } from '../engine/context';
import { walkView } from '../fs/tree-entries';
import { LIVE_GEN } from '../meta/store';
import { manifestFile, readState, usable, type BackupRecord } from './backup-state';
import { mergeTree, treeChanges, type MergedEntry } from './changes';
import { ExtentSource } from './extent-source';
import { readManifest, ManifestWriter } from './manifest';
import type { ManifestEntry } from './manifest-format';
import { PackWriter } from './pack-writer';
import type { Repository } from './repo';

/** Records copied from the parent's manifest between two job steps (pause, cancel). */
const STEP_EVERY_COPIED = 64;

/** Extents read from the pool at once (each an RS read of k fragments in parallel). */
const READS_IN_FLIGHT = 8;

export interface CreateHooks {
  /** Between entries: waits while paused, throws when the job must stop. */
  step(): Promise<void>;
  /** Figures so far (the job's progress). */
  progress(p: CreateFigures): void;
}

export interface CreateFigures {
  entries: number;
  files: number;
  dirs: number;
  /** Logical bytes of the files walked. */
  bytes: number;
  /** Extents and their bytes looked at (stored, or found stored already), against the totals (0: not known ahead). */
  extentsDone: number;
  extentsTotal: number;
  bytesDone: number;
  bytesTotal: number;
  newObjects: number;
  newBytes: number;
}

type Engine = Pick<EngineServices, 'pool' | 'meta' | 'packs' | 'health' | 'placement' | 'recordReadFailures'>;

/** Why an incremental or differential cannot start from its parent's manifest, or undefined when it can. */
function parentUnusable(engine: Engine, repo: Repository, rec: BackupRecord): string | undefined {
  if (!rec.parent) return 'it has no parent backup';
  let parent: BackupRecord;
  try {
    parent = readState(repo.backupsDir, rec.parent);
  } catch {
    return `its parent backup ${rec.parent} is gone from the repository`;
  }
  if (!usable(parent)) return `its parent backup ${parent.id} is ${parent.state}`;
  if (parent.damagedObjects > 0) return `its parent backup ${parent.id} has ${parent.damagedObjects} damaged objects (found by backup verify)`;
  if (parent.pool !== rec.pool) return `its parent backup ${parent.id} is of another pool`;
  const snap = engine.meta.getSnapshot(parent.snapshot);
  if (!snap || snap.gen !== parent.snapshotGen) return `the parent backup's snapshot "${parent.snapshot}" no longer exists in the pool`;
  if (snap.gen > rec.snapshotGen) return `the parent backup's snapshot "${parent.snapshot}" is newer than this one`;
  return undefined;
}

/** The entries of the backup's tree, in walk order, and how they were found. */
async function planTree(engine: Engine, repo: Repository, rec: BackupRecord, source: ExtentSource):
  Promise<{ entries: AsyncIterable<MergedEntry>; bytesTotal: number; extentsTotal: number; note: string | null }> {
  // The extent records the walk reads are what the reads use: no second lookup per file.
  const view = source.capture(engine.meta.viewAt(rec.snapshotGen));
  const why = rec.type === 'full' ? undefined : parentUnusable(engine, repo, rec);
  if (rec.type !== 'full' && why === undefined) {
    const parent = readState(repo.backupsDir, rec.parent!);
    const changes = treeChanges(engine.meta, parent.snapshotGen, view);
    const bytesTotal = changes.entries.reduce((s, e) => s + e.extents.reduce((t, x) => t + x.length, 0), 0);
    const extentsTotal = changes.entries.reduce((s, e) => s + e.extents.length, 0);
    return { entries: mergeTree(readManifest(manifestFile(repo.backupsDir, parent.id)), changes, view), bytesTotal, extentsTotal, note: null };
  }
  const usage = engine.meta.snapshotUsage().find((u) => u.name === rec.snapshot);
  async function* walk() {
    for (const entry of walkView(view)) yield { entry };
  }
  return { entries: walk(), bytesTotal: usage?.referencedBytes ?? 0, extentsTotal: 0, note: why === undefined ? null : `walked the whole snapshot: ${why}` };
}

/**
 * Run (or resume) backup `rec` (in-progress in `repo`) of the pool behind `engine`: its
 * packs stored and indexed, then its manifest in place. Returns the figures; the caller
 * records the completed state.
 */
export async function writeBackup(engine: Engine, repo: Repository, rec: BackupRecord, hooks: CreateHooks): Promise<CreateFigures & { note: string | null }> {
  const snap = engine.meta.getSnapshot(rec.snapshot);
  if (!snap || snap.gen !== rec.snapshotGen) {
    throw new DfsError('ENOENT', `backup ${rec.id}: its snapshot "${rec.snapshot}" (generation ${rec.snapshotGen}) is gone from the pool; start a new backup`, rec.snapshot);
  }
  if (rec.snapshotGen === LIVE_GEN) throw new DfsError('EINTERNAL', 'a backup is always of a snapshot');
  const source = new ExtentSource(engine);
  const plan = await planTree(engine, repo, rec, source);
  const fig: CreateFigures = { entries: 0, files: 0, dirs: 0, bytes: 0, extentsDone: 0, extentsTotal: plan.extentsTotal, bytesDone: 0, bytesTotal: plan.bytesTotal,
    newObjects: 0, newBytes: 0 };
  const packs = new PackWriter(repo);
  const manifest = await ManifestWriter.create(path.join(repo.tmpDir, `${rec.id}.manifest`), manifestFile(repo.backupsDir, rec.id), {
    format: 'dynamicfs-backup-manifest', version: 1, id: rec.id, type: rec.type, parent: rec.parent,
    pool: rec.pool, poolDir: rec.poolDir, snapshot: rec.snapshot, snapshotGen: rec.snapshotGen, startedMs: rec.startedMs,
  });
  const inflight = new Map<string, Promise<void>>();
  let failure: unknown;
  const store = (hash: Buffer, id: Buffer, length: number): Promise<void> => {
    const key = hash.toString('hex');
    const p = (async () => {
      if (await source.storeInto(packs, id, hash)) {
        fig.newObjects++;
        fig.newBytes += length;
      }
      fig.bytesDone += length;
      fig.extentsDone++;
    })().catch((err) => { failure ??= err; }).finally(() => inflight.delete(key));
    inflight.set(key, p);
    return p;
  };
  try {
    let lastReport = 0;
    let sinceStep = 0;
    for await (const m of plan.entries) {
      if (failure) throw failure;
      // A pause or a cancel is seen within a few entries: a step each for the parent's copied records cost more than they do.
      if (!m.raw || ++sinceStep >= STEP_EVERY_COPIED) {
        sinceStep = 0;
        await hooks.step();
      }
      const e = m.entry;
      count(fig, e);
      if (m.raw) {
        // The parent's record as it is: its objects are stored (the parent is a completed backup no verify found damaged).
        const writing = manifest.addFrame(m.raw.frame);
        if (writing) await writing;
        continue;
      }
      const writing = manifest.add(e);
      if (writing) await writing;
      for (const x of e.extents) {
        const id = (x as { id?: Buffer }).id;
        if (inflight.has(x.hash.toString('hex')) || packs.has(x.hash)) {
          if (id) source.skip(id);
          fig.bytesDone += x.length;
          fig.extentsDone++;
          continue;
        }
        while (inflight.size >= READS_IN_FLIGHT) await Promise.race(inflight.values());
        if (failure) throw failure;
        void store(x.hash, id ?? poolExtentId(engine, rec, e, x.offset), x.length);
      }
      if (Date.now() - lastReport > 250) {
        lastReport = Date.now();
        hooks.progress(fig);
      }
    }
    await Promise.all(inflight.values());
    if (failure) throw failure;
    await packs.flush();
    // The totals were estimates (a snapshot's referenced bytes) or unknown: done is all there was.
    fig.bytesTotal = fig.bytesDone;
    fig.extentsTotal = fig.extentsDone;
    // The objects the manifest names are indexed for good before the manifest is in place.
    repo.index.durable();
    await manifest.finish({ state: 'completed', finishedMs: Date.now(), files: fig.files, dirs: fig.dirs, bytes: fig.bytes });
    hooks.progress(fig);
    return { ...fig, note: plan.note };
  } catch (err) {
    await Promise.allSettled(inflight.values());
    await packs.flush().catch(() => undefined);
    await manifest.abandon();
    throw err;
  }
}

function count(fig: CreateFigures, e: ManifestEntry): void {
  fig.entries++;
  if (e.kind === 'dir') fig.dirs++;
  if (e.kind === 'file' && e.link === null) {
    fig.files++;
    fig.bytes += e.size;
  }
}

/**
 * The pool extent holding an entry's bytes at `offset`, for an entry built from the
 * parent's (a hard link's first path moved) whose object the repository lacks: read
 * again from the snapshot.
 */
function poolExtentId(engine: Engine, rec: BackupRecord, e: ManifestEntry, offset: number): Buffer {
  const x = engine.meta.viewAt(rec.snapshotGen).extentsOf(e.ino).find((y) => y.offset === offset);
  if (!x) throw new DfsError('EMETACORRUPT', `${e.path}: no extent at offset ${offset} in snapshot "${rec.snapshot}" although the parent backup lists one`, e.path);
  return x.id;
}
