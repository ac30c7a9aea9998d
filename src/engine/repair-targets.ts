/**
 * Where a repair puts each fragment it rewrites, and why. The rule: restore full
 * redundancy whenever any disk that still serves reads can take the fragment.
 *
 *   1. the replacement disk (replace-disk), when it is healthy and free of the extent;
 *   2. a healthy disk holding nothing of the extent — for a bad fragment on a healthy
 *      disk that is its own disk (rewritten in place: the disk holds nothing good of it);
 *   3. a bad fragment's own disk, rewritten in place, though it is degraded or suspect;
 *   4. any other degraded or suspect disk holding nothing of the extent.
 *
 * In 2, a disk of the extent's tier (when all its fragments lie on one) comes first: a
 * hot extent is rebuilt within the hot tier while a healthy hot disk is free of it, and on
 * another tier's disk (said in the why) only when none is.
 *
 * Draining and failed disks, and disks being evacuated, are never written. Fragments
 * that cannot stay where they were (lost, evacuating) choose first, so a bad fragment
 * that can go back onto its own disk does not take the last free disk from them.
 */
import type { Extent, FragmentRef } from '../meta/records';
import type { DiskRow } from '../meta/records';
import type { Placement } from './placement';

export type SlotStatus = 'good' | 'bad' | 'lost' | 'evacuate';

export interface Target {
  index: number;
  /** The disk the fragment was on. */
  from: number;
  to: number;
  inPlace: boolean;
  /** Where it went and why, as the findings and the disk's events say it. */
  why: string;
}

export function chooseTargets(placement: Placement, disks: ReadonlyMap<number, DiskRow>, e: Extent,
  slots: readonly { f: FragmentRef; status: SlotStatus }[], evacuate: ReadonlySet<number>, prefer: number | undefined): Map<number, Target> | string {
  const bytes = (e.scheme === 'mirror' ? e.length : e.fragLen) + 4096;
  const healthy = new Set(placement.writable().map((d) => d.id));
  const readable = new Set(placement.fallback().map((d) => d.id));
  // A fresh target holds nothing of the extent: no good, bad, evacuating or lost fragment.
  const holds = new Set([...slots.map((s) => s.f.diskId), ...evacuate]);
  const used = new Set<number>();
  const state = (id: number): string => disks.get(id)?.state ?? 'unknown';
  const out = new Map<number, Target>();
  const tiers = new Set(e.fragments.map((f) => disks.get(f.diskId)?.tier));
  const tier = tiers.size === 1 ? [...tiers][0] : undefined;
  const order = [...slots.filter((s) => s.status === 'lost' || s.status === 'evacuate'), ...slots.filter((s) => s.status === 'bad')];
  for (const s of order) {
    const own = s.f.diskId;
    const verb = s.status === 'lost' ? 'rebuilt onto' : 'moved to';
    const ownUsable = s.status === 'bad' && !evacuate.has(own) && !used.has(own);
    const exclude = new Set([...holds, ...used]);
    let to: number | undefined;
    let why = '';
    if (prefer !== undefined && healthy.has(prefer) && !exclude.has(prefer)) {
      to = prefer;
      why = `${verb} disk ${prefer} (healthy), the replacement disk`;
    } else if (ownUsable && healthy.has(own)) {
      to = own;
      why = `rewritten in place on disk ${own} (healthy)`;
    } else {
      try {
        to = tier ? pickOne(() => placement.pick(1, exclude, bytes, tier)) : undefined;
        if (to !== undefined) why = `${verb} disk ${to} (healthy), which holds nothing of this extent`;
        else {
          to = placement.pick(1, exclude, bytes)[0];
          why = `${verb} disk ${to} (healthy), which holds nothing of this extent`
            + (tier ? ` (a ${disks.get(to!)?.tier} disk: no healthy ${tier} disk free of it has room)` : '');
        }
      } catch {
        // No healthy disk free of the extent has room: fall back to disks that still serve reads.
      }
      if (to === undefined && ownUsable && readable.has(own)) {
        to = own;
        why = `rewritten in place on disk ${own} (${state(own)}): no healthy disk free of this extent`;
      }
      if (to === undefined) {
        to = placement.pickFallback(exclude, bytes);
        if (to !== undefined) why = `${verb} disk ${to} (${state(to)}): no healthy disk free of this extent`;
      }
    }
    if (to === undefined) {
      return `no disk that still serves reads is free to take fragment ${s.f.index} (draining and failed disks are never written)`;
    }
    used.add(to);
    out.set(s.f.index, { index: s.f.index, from: own, to, inPlace: to === own, why });
  }
  return out;
}

function pickOne(pick: () => number[]): number | undefined {
  try {
    return pick()[0];
  } catch {
    return undefined;
  }
}
