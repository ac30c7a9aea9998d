/**
 * Replay of the intent log when a pool is opened for writing (engine/intent-log.ts):
 * the records that name the committed generation — fsyncs that returned after the last
 * group commit — are applied in order through the mount's write path (OpenFile: the
 * bytes, then the size; the mtime they carry), committed as one transaction group,
 * and then the logs are emptied. The caller has transaction groups on.
 */
import { DfsError } from '../errors';
import type { Engine } from '../engine/engine';
import { parsePolicy } from '../pool/policy';
import { ExtentCache } from './extent-cache';
import { OpenFile } from './open-file';

export interface ReplayResult {
  records: number;
  files: number;
  /** Records whose inode is no longer a file in the committed namespace (unlinked while open). */
  skipped: number;
}

export async function replayIntentLog(engine: Engine): Promise<ReplayResult> {
  if (!engine.txg.enabled) throw new DfsError('EINTERNAL', 'intent log replay needs transaction groups on');
  const { records, disksWithLog } = await engine.intentLog.read();
  const files = new Map<number, OpenFile>();
  let skipped = 0;
  if (records.length > 0) {
    const cache = new ExtentCache(engine);
    for (const r of records) {
      let f = files.get(r.ino);
      if (!f) {
        const inode = engine.meta.getInode(r.ino);
        if (inode?.kind !== 'file') {
          skipped++;
          continue;
        }
        const policy = inode.policy ? parsePolicy(inode.policy) : engine.pool.policy;
        f = new OpenFile(engine, cache, r.ino, inode, () => policy);
        files.set(r.ino, f);
      }
      if (r.data.length > 0) await f.write(r.offset, r.data);
      if (f.size !== r.size) await f.truncate(r.size);
      f.mtimeMs = f.ctimeMs = r.mtimeMs;
    }
    for (const f of files.values()) await f.commit();
    engine.intentLog.carryOver([]); // the replayed files are committed whole: nothing is carried
    await engine.txg.commit('replay');
    engine.metrics.intentLogReplayed.inc(records.length - skipped);
  }
  // Whatever is left names an older generation (or is a torn tail): obsolete.
  await engine.intentLog.reset(disksWithLog);
  return { records: records.length - skipped, files: files.size, skipped };
}

/**
 * An offline command's open of the pool: a coordinator that died may have left fsyncs
 * in the log, which a change made now would orphan (it moves the generation on), so
 * they are replayed first, in a transaction group of their own.
 */
export async function replayLeftIntentLog(engine: Engine): Promise<ReplayResult | undefined> {
  if (!(await engine.intentLog.holdsAny())) return undefined;
  engine.txg.start();
  try {
    return await replayIntentLog(engine);
  } finally {
    await engine.txg.stop();
  }
}
