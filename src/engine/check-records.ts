/**
 * `check`, the records that fail their checksum: the rows of every checksummed table the
 * namespace and extent walks do not cover (xattrs, disks, disk events, jobs, repairs,
 * verified marks, meta values) are walked here, one `record-corrupt` problem per row.
 * --repair heals them, with the namespace's and extents', from the disks' copies of the
 * metadata (pool/heal-records.ts), each problem settled with where its rows came from or
 * why they could not be.
 */
import type { MetaStore, RecordRef, RowTable } from '../meta/store';
import { describeRef, OPEN_GROUP, type RecordHeal } from '../pool/heal-records';
import type { Pool } from '../pool/pool';
import type { TxGroups } from './txg';
import { problem, settle, type CheckProblem } from './check-problems';

/** A problem about a record failing its checksum, and the record to heal (several problems may share one ref). */
export interface Damaged {
  ref: RecordRef;
  problem: CheckProblem;
}

/** The tables walked here, in the order their problems are listed. */
const ROW_TABLES: readonly RowTable[] = ['xattrs', 'meta', 'disks', 'disk_events', 'jobs', 'repairs', 'verified', 'snapshots', 'snap_inodes', 'snap_dirents', 'snap_xattrs'];

/** Every row of ROW_TABLES failing its checksum, as a problem (with its key's inode, extent or disk where the key is one). */
export function scanRows(meta: Pick<MetaStore, 'damagedRows'>): { problems: CheckProblem[]; damaged: Damaged[] } {
  const damaged = meta.damagedRows(ROW_TABLES).map((row) => {
    const table = row.table as RowTable;
    const text = `${table} (${row.keyText})`;
    const [first] = row.key;
    const p = problem('record-corrupt', `metadata row ${text} fails its checksum`, {
      table, key: row.keyText,
      inode: table === 'xattrs' || table === 'snap_inodes' || table === 'snap_xattrs' ? first as number : null,
      extent: table === 'repairs' || table === 'verified' ? (first as Buffer).toString('hex') : null,
      disk: table === 'disks' ? first as number : null,
    });
    return { ref: { kind: 'row' as const, table, key: row.key, text }, problem: p };
  });
  return { problems: damaged.map((d) => d.problem), damaged };
}

/** Heal the damaged records and settle their problems; how many records were restored. */
export async function healDamaged(engine: { pool: Pick<Pool, 'healRecords'>; txg: Pick<TxGroups, 'commit'> }, damaged: readonly Damaged[], reqId?: string): Promise<number> {
  const refs = [...new Set(damaged.map((d) => d.ref))];
  let heal: RecordHeal = { ok: false, why: OPEN_GROUP };
  // In a coordinator: the open group is committed first (the copies hold committed generations); writers may open another meanwhile.
  for (let tries = 0; tries < 20 && !heal.ok && heal.why === OPEN_GROUP; tries++) {
    if (tries > 0) await engine.txg.commit('check');
    heal = await engine.pool.healRecords(refs, reqId);
  }
  if (!heal.ok) {
    for (const d of damaged) settle(d.problem, false, `not repaired: the disks' copies cannot supply it: ${heal.why}`);
    return 0;
  }
  const outcome = new Map(heal.outcomes.map((o) => [o.ref, o]));
  for (const d of damaged) {
    const o = outcome.get(d.ref)!;
    if (o.state === 'restored') settle(d.problem, true, `restored ${describeRef(d.ref)} from ${heal.source}`);
    else if (o.state === 'sound') settle(d.problem, true, `nothing to restore: ${o.why}`);
    else settle(d.problem, false, `not repaired: ${o.why}`);
  }
  return heal.outcomes.filter((o) => o.state === 'restored').length;
}
