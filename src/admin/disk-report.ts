/**
 * What the operator sees of each disk: the registry row, whether its label is still
 * there, its filesystem's space and how many fragments the metadata places on it.
 * Shared by `disks` and `status` so both report the same numbers.
 */
import * as fs from 'node:fs';
import type { Engine } from '../engine/engine';
import type { DiskState, Tier } from '../meta/records';

export interface DiskReport {
  id: number;
  uuid: string;
  path: string;
  tier: Tier;
  state: DiskState;
  /** The directory is there and carries its label (false: the disk vanished). */
  present: boolean;
  capacityBytes: number;
  usedBytes: number;
  freeBytes: number;
  /** Fragments the metadata places on this disk. */
  fragments: number;
  readErrors: number;
  checksumErrors: number;
  writeErrors: number;
}

export interface SpaceTotals {
  capacityBytes: number;
  usedBytes: number;
  freeBytes: number;
  /** Distinct filesystems behind the disks (disks sharing one are counted once). */
  filesystems: number;
}

/** One report per registered disk, in id order. Space is 0 for a disk that is not present. */
export async function diskReports(engine: Engine): Promise<{ disks: DiskReport[]; totals: SpaceTotals }> {
  const counts = engine.meta.fragmentCounts();
  const byDevice = new Map<number, { capacityBytes: number; freeBytes: number }>();
  await engine.health.refreshPresence();
  const disks = await Promise.all(engine.pool.disks().map(async (d): Promise<DiskReport> => {
    const store = engine.pool.store(d.id);
    const present = engine.health.present(d.id);
    const space = present ? await store.space() : { capacityBytes: 0, freeBytes: 0 };
    const dev = present ? deviceOf(d.path) : undefined;
    if (dev !== undefined) byDevice.set(dev, space);
    return {
      id: d.id, uuid: d.uuid, path: d.path, tier: d.tier, state: d.state, present,
      capacityBytes: space.capacityBytes, usedBytes: space.capacityBytes - space.freeBytes, freeBytes: space.freeBytes,
      fragments: counts.get(d.id) ?? 0,
      readErrors: d.readErrors, checksumErrors: d.checksumErrors, writeErrors: d.writeErrors,
    };
  }));
  // Several disk directories on one filesystem (common in tests and small setups)
  // share its space: summing per disk would count it several times.
  const totals: SpaceTotals = { capacityBytes: 0, usedBytes: 0, freeBytes: 0, filesystems: byDevice.size };
  for (const s of byDevice.values()) {
    totals.capacityBytes += s.capacityBytes;
    totals.freeBytes += s.freeBytes;
    totals.usedBytes += s.capacityBytes - s.freeBytes;
  }
  return { disks, totals };
}

/** st_dev of a directory, or undefined when it cannot be stat'ed (a vanished disk). */
export function deviceOf(dir: string): number | undefined {
  try {
    return fs.statSync(dir).dev;
  } catch {
    return undefined;
  }
}
