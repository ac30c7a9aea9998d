/**
 * Healing single records of meta.db that fail their checksum (issue 14), from the disks'
 * copies: a scratch store is rebuilt beside meta.db from the newest checkpoint that
 * verifies and the log records up to meta.db's generation (heal.ts's rebuild), the
 * records are read there (verified), and written back into meta.db in one transaction.
 * Synchronous from the first read of the areas to the write: in a coordinator nothing
 * commits in between, so the copy and meta.db stand at the same generation.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DfsError } from '../errors';
import type { MetaStore, OpenMetaStore, RecordRef, StoredRecord } from '../meta/store';
import { rebuildFromCopies } from './heal';
import { readArea, type Area } from './meta-area';
import { splitDiverged } from './meta-chain';

export type RecordHeal =
  | {
    ok: true;
    /** Where the rows came from, for people: the checkpoint's disk and generation, and the records replayed. */
    source: string;
    /** Per ref (in the order asked): restored from the copy; sound in meta.db by then (rewritten since it was met); or unavailable, and why. */
    outcomes: ({ ref: RecordRef; state: 'restored' } | { ref: RecordRef; state: 'sound' | 'unavailable'; why: string })[];
  }
  /** Nothing was changed: the copies cannot answer for meta.db's generation. */
  | { ok: false; why: string };

/** Why a heal did not run: a transaction group is open (commit it, then ask again). */
export const OPEN_GROUP = 'a transaction group is open';

export function describeRef(ref: RecordRef): string {
  switch (ref.kind) {
    case 'inode': return `inode ${ref.ino}`;
    case 'dirents': return `the entries of directory inode ${ref.parent}`;
    case 'extent': return `extent ${ref.id.toString('hex')}`;
    case 'row': return `the row ${ref.text}`;
  }
}

/** Heal `refs` in `meta` (the pool's open meta.db) from the areas of `roots`. */
export function healRecords(poolDir: string, poolUuid: string, meta: MetaStore, openStore: OpenMetaStore, roots: readonly string[],
  refs: readonly RecordRef[]): RecordHeal {
  // The copies hold committed generations only: rows an open group changed or removed would be put back as they were.
  if (meta.groupPending()) return { ok: false, why: OPEN_GROUP };
  const generation = meta.generation();
  const { agreed: areas } = splitDiverged(roots.map((r) => readArea(r, poolUuid)).filter((a): a is Area => a !== undefined));
  if (areas.length === 0) {
    return { ok: false, why: `no disk of the pool holds a metadata copy (looked at ${roots.length ? roots.join(', ') : 'no disks'})` };
  }
  const newest = Math.max(...areas.map((a) => a.newest));
  if (newest < generation) {
    return { ok: false, why: `the disks' metadata copies reach generation ${newest}, meta.db is at ${generation}: they cannot supply its rows` };
  }
  const scratch = path.join(poolDir, `.heal-records-${process.pid}`);
  fs.rmSync(scratch, { recursive: true, force: true });
  fs.mkdirSync(scratch);
  try {
    const rebuilt = rebuildFromCopies(scratch, areas, openStore, generation);
    if (!rebuilt) return { ok: false, why: `no metadata checkpoint at or before generation ${generation} verifies on the disks (${areas.map((a) => a.root).join(', ')})` };
    const copy = rebuilt.store;
    try {
      if (copy.generation() !== generation) {
        return { ok: false, why: `the disks' copies rebuild only up to generation ${copy.generation()} (checkpoint of ${rebuilt.checkpointDisk} `
          + `at ${rebuilt.checkpointGeneration}, the log records after it stop there), meta.db is at ${generation}` };
      }
      const source = `the disks' copy of generation ${generation} (checkpoint of ${rebuilt.checkpointDisk} at generation `
        + `${rebuilt.checkpointGeneration}, ${rebuilt.replayed} log records replayed)`;
      const found: StoredRecord[] = [];
      const why = new Map<RecordRef, string>();
      for (const ref of refs) {
        try {
          const r = copy.storedRecord(ref);
          if (r) found.push(r);
          else why.set(ref, `${source} has no such record`);
        } catch (err) {
          if (!(err instanceof DfsError && err.code === 'EMETACORRUPT')) throw err;
          why.set(ref, `it fails its checksum in ${source} too`);
        }
      }
      const changed = new Set(meta.restoreRecords(found));
      return { ok: true, source, outcomes: refs.map((ref) => {
        if (changed.has(ref)) return { ref, state: 'restored' };
        const unavailable = why.get(ref);
        return unavailable ? { ref, state: 'unavailable', why: unavailable } : { ref, state: 'sound', why: 'it verifies in meta.db now (rewritten since it was read)' };
      }) };
    } finally {
      copy.close();
    }
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}
