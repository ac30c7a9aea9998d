/**
 * How reads are tuned (settings cache.extentBytes and read.aheadExtents): the mount's
 * extent cache and read-ahead (a running mount takes a change at once: Vfs.applySettings)
 * and get's read-ahead (read at each get).
 */
import { sectionSettings, type ConfigSource } from '../config/values';

export interface ReadTuning {
  /** Bytes of verified extents the mount's cache may hold. */
  cacheBytes: number;
  /** Extents fetched ahead of a sequential reader. */
  aheadExtents: number;
}

export function readTuning(meta: ConfigSource): ReadTuning {
  return {
    cacheBytes: sectionSettings<{ extentBytes: number }>(meta, 'cache').extentBytes,
    aheadExtents: sectionSettings<{ aheadExtents: number }>(meta, 'read').aheadExtents,
  };
}
