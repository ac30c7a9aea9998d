/**
 * Garbage collection: fragments on disk that no metadata references (left by a crash
 * between fragment write and commit, or between commit and delete) and stale files in
 * DISK/tmp. Only files older than minAge are touched, so a write still in flight in
 * this process is never mistaken for an orphan.
 */
import * as fs from 'node:fs';
import type { Engine } from './engine';

export interface GcOptions {
  minAgeSeconds: number;
  dryRun: boolean;
  onProgress?: (diskDone: number, disks: number) => void;
}

export interface Orphan {
  diskId: number;
  path: string;
  bytes: number;
  ageSeconds: number;
  kind: 'fragment' | 'tmp';
}

export interface GcResult {
  scannedFragments: number;
  orphans: Orphan[];
  removed: number;
  bytesFreed: number;
  dryRun: boolean;
}

export const DEFAULT_GC_MIN_AGE_SECONDS = 900;

export async function collectGarbage(engine: Engine, opts: GcOptions): Promise<GcResult> {
  const now = Date.now();
  const old = (mtimeMs: number) => (now - mtimeMs) / 1000 >= opts.minAgeSeconds;
  const result: GcResult = { scannedFragments: 0, orphans: [], removed: 0, bytesFreed: 0, dryRun: opts.dryRun };
  const disks = engine.pool.disks();
  let done = 0;
  for (const d of disks) {
    const store = engine.pool.store(d.id);
    if (!store.present()) continue;
    for await (const f of store.list()) {
      result.scannedFragments++;
      if (!engine.meta.hasFragment(f.extentId, f.index, d.id) && !engine.isUncommitted(f.extentId) && old(f.mtimeMs)) {
        result.orphans.push({ diskId: d.id, path: f.path, bytes: f.bytes, ageSeconds: Math.round((now - f.mtimeMs) / 1000), kind: 'fragment' });
      }
    }
    for (const t of await store.listTmp()) {
      if (old(t.mtimeMs)) result.orphans.push({ diskId: d.id, path: t.path, bytes: t.bytes, ageSeconds: Math.round((now - t.mtimeMs) / 1000), kind: 'tmp' });
    }
    opts.onProgress?.(++done, disks.length);
  }
  if (!opts.dryRun) {
    for (const o of result.orphans) {
      try {
        await fs.promises.rm(o.path);
        result.removed++;
        result.bytesFreed += o.bytes;
      } catch {
        // Already gone or unremovable: it stays listed, and the next run tries again.
      }
    }
  }
  return result;
}
