/**
 * Replay of the intent log when a pool is opened for writing (engine/intent-log.ts):
 * the records that name the committed generation — fsyncs that returned after the last
 * group commit — are applied in order: name changes (files created and unlinked) to the
 * namespace, file records through the mount's write path (OpenFile: the bytes, then the
 * size; the mtime they carry); all committed as one transaction group, and then the
 * logs are emptied. The caller has transaction groups on.
 */
import { DfsError } from '../errors';
import type { Engine } from '../engine/engine';
import { writePolicy } from './tier-xattr';
import { dropLink, touchDir } from './dir-ops';
import { ExtentCache } from './extent-cache';
import { decodeNameChange, type NameChange } from './name-log';
import { OpenFile } from './open-file';

export interface ReplayResult {
  records: number;
  files: number;
  /** Name changes applied (files created or unlinked in the group the crash lost). */
  names: number;
  /** Records whose inode is no longer a file in the committed namespace (unlinked while open), and name records the namespace did not match. */
  skipped: number;
}

export async function replayIntentLog(engine: Engine): Promise<ReplayResult> {
  if (!engine.txg.enabled) throw new DfsError('EINTERNAL', 'intent log replay needs transaction groups on');
  const { records, disksWithLog } = await engine.intentLog.read();
  const files = new Map<number, OpenFile>();
  const touched = new Set<number>();
  let skipped = 0;
  let names = 0;
  if (records.length > 0) {
    const cache = new ExtentCache(engine);
    for (const r of records) {
      if (r.name) {
        // The files replayed so far are committed first: a name change may drop one of them.
        for (const f of files.values()) await f.commit();
        files.clear();
        if (await applyNameChange(engine, decodeNameChange(r.data), r.mtimeMs)) names++;
        else skipped++;
        continue;
      }
      let f = files.get(r.ino);
      if (!f) {
        const inode = engine.meta.getInode(r.ino);
        if (inode?.kind !== 'file') {
          skipped++;
          continue;
        }
        const policy = writePolicy(engine, inode);
        f = new OpenFile(engine, cache, r.ino, inode, () => policy);
        files.set(r.ino, f);
        touched.add(r.ino);
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
  return { records: records.length - skipped, files: touched.size, names, skipped };
}

/**
 * One name change (name-log.ts) on the store as replay has made it so far: a file
 * created at its inode number, or an entry unlinked. False (skipped) when the store
 * does not match what the change expects — the change is there already (a copy an
 * append that failed left, then logged again) or its parent is gone.
 */
async function applyNameChange(engine: Engine, c: NameChange, atMs: number): Promise<boolean> {
  const store = engine.meta;
  const parent = store.getInode(c.parent);
  if (parent?.kind !== 'dir') return false;
  if (c.op === 'create') {
    if (store.getInode(c.inode.ino) || store.lookup(c.parent, c.name) !== undefined) return false;
    store.transact((tx) => {
      tx.claimIno(c.inode.ino);
      tx.putInode(c.inode);
      tx.link(c.parent, c.name, c.inode.ino);
      touchDir(tx, store, c.parent, atMs);
    });
    return true;
  }
  const inode = store.lookup(c.parent, c.name) === c.ino ? store.getInode(c.ino) : undefined;
  if (!inode || inode.kind === 'dir') return false;
  const dropped = store.transact((tx) => {
    tx.unlink(c.parent, c.name);
    touchDir(tx, store, c.parent, atMs);
    return dropLink(tx, inode, atMs);
  });
  await engine.removeFragments(dropped);
  return true;
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
