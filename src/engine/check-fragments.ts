/**
 * `check`, the fragments against the disks: every fragment the store references is on its
 * disk (FragmentStore.has: no read, no verify — that is scrub's job), and every fragment
 * file on a disk is referenced (gc's question, gc.ts fragmentsOnDisk). Disks that are
 * absent or failed are skipped and listed: their fragments are rebuild's business.
 *
 * --repair: a missing fragment's extent is queued for repair and rebuilt on the spot from
 * any k good fragments (repair.ts; what cannot be rebuilt stays queued); an unreferenced
 * fragment is removed when at least the gc minimum age old, as gc does.
 */
import { ownsFragments, PACK_INO, type Extent } from '../meta/records';
import { fragmentFileBytes, unlessCorrupt } from './check-extents';
import { pathOrNull, problem, settle, type CheckProblem } from './check-problems';
import { fragmentsOnDisk, inUse } from './gc';
import { repairExtent } from './repair';

type Engine = Parameters<typeof repairExtent>[0] & Parameters<typeof fragmentsOnDisk>[0];

/** A progress display (admin/context.ts ProgressSink), counting bytes of fragment files. */
export interface CheckBar {
  add(bytes: number): void;
  grow(total: number): void;
  stop(): void;
}

export interface FragmentCheckOptions {
  repair: boolean;
  /** The admin request running the check: its repairs carry it. */
  reqId?: string;
  /** Unreferenced fragments younger than this are reported, never removed (an in-flight write may own them). */
  minAgeSeconds: number;
  /** Bytes of referenced fragment files, the first phase's total. */
  referencedBytes: number;
  bar: (label: string, total: number) => CheckBar;
}

export interface FragmentCheck {
  problems: CheckProblem[];
  /** Fragment files listed on the disks walked. */
  onDisks: number;
  disksSkipped: { disk: number; path: string; reason: string }[];
}

export async function checkFragments(engine: Engine, opts: FragmentCheckOptions): Promise<FragmentCheck> {
  await engine.health.refreshPresence();
  const out: FragmentCheck = { problems: [], onDisks: 0, disksSkipped: [] };
  for (const d of engine.pool.disks()) {
    const why = !engine.health.present(d.id) ? 'absent (its directory or label is gone)' : d.state === 'failed' ? 'failed' : undefined;
    if (why) out.disksSkipped.push({ disk: d.id, path: d.path, reason: why });
  }
  const skipped = new Set(out.disksSkipped.map((s) => s.disk));
  out.problems.push(...await missingFragments(engine, skipped, opts));
  out.problems.push(...await unreferencedFragments(engine, skipped, opts, out));
  return out;
}

async function missingFragments(engine: Engine, skipped: ReadonlySet<number>, opts: FragmentCheckOptions): Promise<CheckProblem[]> {
  const bar = opts.bar('check fragments', opts.referencedBytes);
  const found: CheckProblem[] = [];
  try {
    for (const batch of engine.meta.allExtentIds(500)) {
      for (const id of batch) {
        // Under the extent's lock, as the mount's start-up scan: a repair moving it cannot pass us mid-check.
        const missing = await engine.exclusiveOnExtent(id, async () => {
          const e = unlessCorrupt(() => engine.meta.getExtent(id))?.value;
          if (!e || !ownsFragments(e)) return [];
          bar.add(e.fragments.length * fragmentFileBytes(e));
          const present = await Promise.all(e.fragments.map((f) =>
            (skipped.has(f.diskId) || !engine.pool.disk(f.diskId) ? true : engine.pool.store(f.diskId).has(e.id, f.index))));
          return e.fragments.filter((_, i) => !present[i]).map((f) => missingProblem(engine, e, f.index, f.diskId));
        });
        if (missing.length === 0) continue;
        found.push(...missing);
        if (opts.repair) await rebuild(engine, id, missing, opts.reqId);
      }
    }
  } finally {
    bar.stop();
  }
  return found;
}

function missingProblem(engine: Engine, e: Extent, index: number, diskId: number): CheckProblem {
  const hex = e.id.toString('hex');
  const what = e.ino === PACK_INO ? `pack ${hex} (small files' bytes)` : `extent ${hex} of ${engine.meta.pathOf(e.ino)} at ${e.offset}`;
  return problem('missing-fragment', `fragment ${index} of ${what} is missing from disk ${diskId}`,
    { path: e.ino === PACK_INO ? null : pathOrNull(engine.meta, e.ino), inode: e.ino === PACK_INO ? null : e.ino, extent: hex, disk: diskId, index });
}

/** Queue the extent for repair (so a rebuild restores it if this one cannot), then rebuild it now. */
async function rebuild(engine: Engine, id: Buffer, missing: CheckProblem[], reqId: string | undefined): Promise<void> {
  engine.meta.transact((tx) => tx.queueRepair(id, `check: ${missing.map((p) => `fragment ${p.index} missing from disk ${p.disk}`).join('; ')}`));
  let outcome: Awaited<ReturnType<typeof repairExtent>>;
  try {
    outcome = await repairExtent(engine, id, { reqId, origin: 'check' });
  } catch (err) {
    for (const p of missing) settle(p, false, `queued for repair; rebuilding it now failed: ${(err as Error).message}`);
    return;
  }
  for (const p of missing) {
    if (outcome.kind === 'repaired') {
      const t = outcome.targets.find((x) => x.index === p.index);
      settle(p, true, t ? `rebuilt onto disk ${t.to}` : 'rebuilt');
    } else if (outcome.kind === 'unrecoverable') {
      settle(p, false, `queued for repair; cannot be rebuilt now: ${outcome.readable} of the ${outcome.needed} fragments needed are readable`);
    } else if (outcome.kind === 'stuck') {
      settle(p, false, `queued for repair; cannot be rebuilt now: ${outcome.reason}`);
    } else {
      settle(p, outcome.kind === 'gone', outcome.kind === 'gone' ? 'the extent was dropped meanwhile' : 'found present again when rebuilding');
    }
  }
}

async function unreferencedFragments(engine: Engine, skipped: ReadonlySet<number>, opts: FragmentCheckOptions,
  out: FragmentCheck): Promise<CheckProblem[]> {
  const removals: { p: CheckProblem; diskId: number; extentId: Buffer; index: number; ageSeconds: number }[] = [];
  const bar = opts.bar('check disks', opts.referencedBytes);
  let listed = 0;
  const now = Date.now();
  try {
    for (const d of engine.pool.disks()) {
      if (skipped.has(d.id)) continue;
      for await (const { f, referenced } of fragmentsOnDisk(engine, d.id)) {
        out.onDisks++;
        listed += f.bytes;
        if (listed > opts.referencedBytes) bar.grow(listed);
        bar.add(f.bytes);
        if (referenced) continue;
        const hex = f.extentId.toString('hex');
        const p = problem('unreferenced-fragment', `fragment file ${hex}.${f.index} on disk ${d.id} belongs to no extent (${f.bytes} bytes)`,
          { extent: hex, disk: d.id, index: f.index });
        removals.push({ p, diskId: d.id, extentId: f.extentId, index: f.index, ageSeconds: (now - f.mtimeMs) / 1000 });
      }
    }
  } finally {
    bar.stop();
  }
  // Disk by disk, then by id: the order of the report does not depend on the order directories list in.
  removals.sort((a, b) => a.diskId - b.diskId || Buffer.compare(a.extentId, b.extentId) || a.index - b.index);
  if (!opts.repair) return removals.map((r) => r.p);
  for (const r of removals) {
    if (r.ageSeconds < opts.minAgeSeconds) {
      settle(r.p, false, `left: ${Math.round(r.ageSeconds)}s old, younger than the minimum age ${opts.minAgeSeconds}s (an in-flight write may own it); `
        + 'a later check --repair or gc removes it');
      continue;
    }
    // Asked again just before the removal: a write may have claimed the id since the listing.
    if (inUse(engine, r.extentId, r.index, r.diskId)) {
      settle(r.p, true, 'referenced again by the time of the removal: nothing to do');
      continue;
    }
    try {
      await engine.pool.store(r.diskId).remove(r.extentId, r.index);
      settle(r.p, true, 'removed');
    } catch (err) {
      settle(r.p, false, `removal failed: ${(err as { code?: string }).code ?? 'EIO'} (a later check --repair or gc tries again)`);
    }
  }
  return removals.map((r) => r.p);
}
