/**
 * What a coordinator does with a pool before it serves it, holding the lock (so no
 * other process writes): drop the inodes a crashed predecessor kept only for open
 * handles, then remove orphaned fragments and temp files of any age. Either kind of
 * leftover is what a crash leaves; neither is ever reachable data.
 */
import type { Logger } from 'pino';
import type { DroppedExtent, Engine } from '../engine/engine';
import { collectGarbage } from '../engine/gc';
import { dropInode } from '../fs/dir-ops';

export interface RecoveryResult {
  /** nlink-0 inodes dropped (files unlinked while open when the last coordinator died). */
  unlinkedInodes: number;
  /** Orphaned fragments and temp files removed. */
  orphansRemoved: number;
  bytesFreed: number;
}

export async function recoverPool(engine: Engine, log: Logger): Promise<RecoveryResult> {
  const unlinked = engine.meta.unlinkedInodes();
  let dropped: DroppedExtent[] = [];
  if (unlinked.length > 0) {
    dropped = engine.meta.transact((tx) => {
      const out: DroppedExtent[] = [];
      for (const ino of unlinked) out.push(...dropInode(tx, ino));
      return out;
    });
    // Fragments that cannot be removed now stay as orphans: the gc below, or a later one, takes them.
    await engine.removeFragments(dropped);
    log.info({ inodes: unlinked.length, extents: dropped.length }, 'dropped inodes that were unlinked while open');
  }
  // Nothing else writes while we hold the lock, so no temp file or unreferenced fragment is in flight.
  const gc = await collectGarbage(engine, { minAgeSeconds: 0, dryRun: false });
  if (gc.orphans.length > 0) {
    log.info({ orphans: gc.orphans.length, removed: gc.removed, bytes: gc.bytesFreed }, 'removed orphaned fragments and temp files');
  }
  return { unlinkedInodes: unlinked.length, orphansRemoved: gc.removed, bytesFreed: gc.bytesFreed };
}
