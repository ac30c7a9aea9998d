/**
 * Garbage collection: fragments on disk that no metadata references (left by a crash
 * between fragment write and commit, or between commit and delete) and stale files in
 * DISK/tmp. Only files older than minAge are touched, so a write still in flight in
 * this process is never mistaken for an orphan. Listing and removal go through each
 * disk's FragmentStore; an orphan is named by its disk and extent/index (a fragment) or
 * entry name (tmp), never by a path.
 */
import { sectionDefaults } from '../config/settings';
import { sectionSettings, type ConfigSource } from '../config/values';
import type { DfsError } from '../errors';
import type { StoredFragment } from '../pool/fragment-store';
import type { EngineServices } from './context';

type Engine = Pick<EngineServices, 'pool' | 'meta' | 'health' | 'isUncommitted'>;

export interface GcOptions {
  minAgeSeconds: number;
  dryRun: boolean;
  onProgress?: (diskDone: number, disks: number) => void;
}

export interface Orphan {
  diskId: number;
  /** extent.index for a fragment, the entry's name for tmp. */
  name: string;
  bytes: number;
  ageSeconds: number;
  kind: 'fragment' | 'tmp';
}

export interface GcResult {
  scannedFragments: number;
  orphans: Orphan[];
  removed: number;
  bytesFreed: number;
  /** Orphans whose removal failed (they stay; the next run tries again), with the error code. */
  failed: { diskId: number; name: string; code: string }[];
  dryRun: boolean;
}

export const DEFAULT_GC_MIN_AGE_SECONDS = sectionDefaults('gc').minAgeSeconds as number;

/** The pool's minimum orphan age (setting gc.minAgeSeconds), for gc and check --repair run without --min-age. */
export function gcMinAgeSeconds(meta: ConfigSource): number {
  return sectionSettings<{ minAgeSeconds: number }>(meta, 'gc').minAgeSeconds;
}

/**
 * Every fragment file on the disk, and whether it is in use: the store references it on
 * this disk, or an uncommitted write holds its extent (gc and check ask the same question).
 */
export async function* fragmentsOnDisk(engine: Pick<Engine, 'pool' | 'meta' | 'isUncommitted'>, diskId: number):
  AsyncGenerator<{ f: StoredFragment; referenced: boolean }> {
  for await (const f of engine.pool.store(diskId).list()) yield { f, referenced: inUse(engine, f.extentId, f.index, diskId) };
}

/**
 * Whether the store references the fragment on this disk or a write holds its extent. An
 * extent record failing its checksum may reference it: that counts as in use (never delete
 * what a damaged record might still need; `check` reports the record).
 */
export function inUse(engine: Pick<Engine, 'meta' | 'isUncommitted'>, extentId: Buffer, index: number, diskId: number): boolean {
  if (engine.isUncommitted(extentId)) return true;
  try {
    return engine.meta.hasFragment(extentId, index, diskId);
  } catch (err) {
    if ((err as DfsError).code === 'EMETACORRUPT') return true;
    throw err;
  }
}

export async function collectGarbage(engine: Engine, opts: GcOptions): Promise<GcResult> {
  const now = Date.now();
  const old = (mtimeMs: number) => (now - mtimeMs) / 1000 >= opts.minAgeSeconds;
  const result: GcResult = { scannedFragments: 0, orphans: [], removed: 0, bytesFreed: 0, failed: [], dryRun: opts.dryRun };
  const removals: (() => Promise<void>)[] = [];
  const disks = engine.pool.disks();
  await engine.health.refreshPresence();
  let done = 0;
  for (const d of disks) {
    if (!engine.health.present(d.id)) continue;
    const store = engine.pool.store(d.id);
    const age = (mtimeMs: number): number => Math.round((now - mtimeMs) / 1000);
    for await (const { f, referenced } of fragmentsOnDisk(engine, d.id)) {
      result.scannedFragments++;
      if (!referenced && old(f.mtimeMs)) {
        result.orphans.push({ diskId: d.id, name: `${f.extentId.toString('hex')}.${f.index}`, bytes: f.bytes, ageSeconds: age(f.mtimeMs), kind: 'fragment' });
        removals.push(() => store.remove(f.extentId, f.index));
      }
    }
    for (const t of await store.listTmp()) {
      if (!old(t.mtimeMs)) continue;
      result.orphans.push({ diskId: d.id, name: t.name, bytes: t.bytes, ageSeconds: age(t.mtimeMs), kind: 'tmp' });
      removals.push(() => store.removeTmp(t.name));
    }
    opts.onProgress?.(++done, disks.length);
  }
  if (!opts.dryRun) {
    for (const [i, o] of result.orphans.entries()) {
      try {
        await removals[i]!();
        result.removed++;
        result.bytesFreed += o.bytes;
      } catch (err) {
        // It stays listed, and the next run tries again.
        result.failed.push({ diskId: o.diskId, name: o.name, code: (err as { code?: string }).code ?? 'EIO' });
      }
    }
  }
  return result;
}
