/**
 * `check`, the pool's fsck: the namespace (check-namespace.ts), the extent records
 * (engine/check-extents.ts), every other checksummed row (engine/check-records.ts) — with --repair, records failing their checksum are healed
 * from the disks' copies first (engine/check-records.ts) and both are scanned again —
 * then the fragments against the disks
 * (engine/check-fragments.ts), then each disk's copy of the metadata (engine/check-meta-copies.ts). The metadata is scanned, and with --repair fixed in one
 * transaction, without an await in between; the fragment walk, which is the long part,
 * comes after and settles each extent under its lock.
 */
import { dropUnusedPacks, scanExtents } from '../engine/check-extents';
import { checkFragments, type CheckBar } from '../engine/check-fragments';
import { checkMetaCopies } from '../engine/check-meta-copies';
import type { CheckKind, CheckProblem } from '../engine/check-problems';
import { healDamaged, scanRows, type Damaged } from '../engine/check-records';
import type { Engine } from '../engine/engine';
import { repairNamespace, scanNamespace } from './check-namespace';

export interface CheckOptions {
  repair: boolean;
  /** Unreferenced fragments younger than this are reported but not removed. */
  minAgeSeconds: number;
  bar: (label: string, total: number) => CheckBar;
  /** The admin request running the check: its heals and repairs carry it (log/events.ts). */
  reqId?: string;
}

export interface CheckReport {
  problems: CheckProblem[];
  /** Problems not fixed (all of them without --repair). */
  remaining: number;
  counts: { inodes: number; dirents: number; extents: number; fragmentsOnDisks: number };
  /** Disks whose fragments were not checked (absent or failed), and why. */
  disksSkipped: { disk: number; path: string; reason: string }[];
}

/** Why --repair leaves a kind alone: the safe fix is not obvious, or none exists. */
const LEFT_ALONE: Partial<Record<CheckKind, string>> = {
  'dir-two-parents': 'not repaired: which entry is right is not known; remove the wrong one (rm, mv)',
  'parent-not-dir': 'not repaired: the entry cannot be reached; check --repair does not guess where it belongs',
  'extent-without-inode': 'not repaired: no file names these bytes; nothing is deleted by check',
  'extent-owner-not-file': 'not repaired: nothing is deleted by check',
  'size-short': 'not repaired: the bytes past the size are not the file\'s; rewrite the file to settle it',
  'pack-missing': 'not repaired: the bytes are lost; restore the file from a backup',
};

export async function checkPool(engine: Engine, opts: CheckOptions): Promise<CheckReport> {
  let ns = scanNamespace(engine.meta);
  let ex = scanExtents(engine);
  let rows = scanRows(engine.meta);
  const damaged = [...ns.damaged, ...ex.damaged, ...rows.damaged];
  if (opts.repair && damaged.length > 0 && await healDamaged(engine, damaged, opts.reqId) > 0) {
    // What the damaged records hid (link counts behind an entry, an extent's owner) shows now; scanned again, synchronously up to the repair.
    ns = settledFirst(scanNamespace(engine.meta), ns.damaged);
    ex = settledFirst(scanExtents(engine), ex.damaged);
    rows = settledFirst(scanRows(engine.meta), rows.damaged);
  }
  const fixable = ns.fixNlink.length + ns.dangling.length + ns.orphans.length + ex.unusedPacks.length;
  if (opts.repair && fixable > 0) {
    const now = Date.now();
    const dropped = engine.meta.transact((tx) => {
      repairNamespace(tx, engine.meta, ns, now);
      return dropUnusedPacks(tx, ex);
    });
    await engine.removeFragments(dropped);
  }
  const frags = await checkFragments(engine, { repair: opts.repair, reqId: opts.reqId, minAgeSeconds: opts.minAgeSeconds, referencedBytes: ex.fragmentBytes, bar: opts.bar });
  const copies = await checkMetaCopies(engine.pool, opts.repair);
  const problems = [...ns.problems, ...ex.problems, ...rows.problems, ...frags.problems, ...copies];
  if (opts.repair) {
    for (const p of problems) p.repair ??= LEFT_ALONE[p.kind] ?? 'not repaired';
  }
  return {
    problems,
    remaining: problems.filter((p) => !p.repaired).length,
    counts: { inodes: ns.inodes, dirents: ns.dirents, extents: ex.extents, fragmentsOnDisks: frags.onDisks },
    disksSkipped: frags.disksSkipped,
  };
}

/** A scan after the heal, reporting the damaged records as the heal settled them (first) instead of as it meets them again. */
function settledFirst<T extends { problems: CheckProblem[]; damaged: Damaged[] }>(again: T, first: Damaged[]): T {
  const met = new Set(again.damaged.map((d) => d.problem));
  return { ...again, problems: [...first.map((d) => d.problem), ...again.problems.filter((p) => !met.has(p))], damaged: first };
}
