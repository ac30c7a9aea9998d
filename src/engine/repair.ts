/**
 * Repair of one extent: restore it to k+m good fragments on distinct, usable disks.
 *
 * Every fragment is classified: lost (its disk failed or vanished), bad (read or verify
 * failed), evacuating (its disk is being drained or replaced: readable, but must move),
 * or good. With fewer than k good fragments nothing is written — the extent is
 * unrecoverable and writing could only make things worse. Otherwise the fragments to
 * rewrite are rebuilt (RS decode from k good ones, or a copy of a good replica), each
 * checked against the hash the metadata holds for it, written durably where
 * repair-targets.ts decides (a healthy disk free of the extent, else the bad fragment's
 * own disk in place, even degraded or suspect) — and the new placement is committed in
 * ONE transaction, with a note in the events of each disk a bad fragment was on saying
 * where it went and why. Only after that commit are the old copies of moved fragments
 * (evacuating, or bad ones that went elsewhere) deleted.
 *
 * A crash at any point leaves the old placement (plus orphans gc removes) or the new one.
 * A rewrite in place is the same: the native write goes to DISK/tmp and renames over the
 * old file (atomic), and the rebuilt payload is checked against the recorded hash first,
 * so whether the crash comes before or after the rename, the metadata (unchanged for that
 * fragment until the commit) names a file with the hash it records, or a still-bad one
 * the next scrub or read finds again.
 */
import { DfsError } from '../errors';
import { ownsFragments, type DiskRow, type Extent, type FragmentRef } from '../meta/records';
import type { Txn } from '../meta/store';
import { blake3Async, rsReconstructAsync } from '../native';
import { crashArmed, crashPoint } from './crash-points';
import type { EngineServices } from './context';

type Engine = Pick<EngineServices, 'pool' | 'meta' | 'metrics' | 'health' | 'placement' | 'exclusiveOnExtent' | 'holdExtent' | 'releaseExtents' | 'removeFragments' | 'countWriteErrors' | 'txg'>;
import { uuidBytes } from './extent-writer';
import { chooseTargets, type SlotStatus, type Target } from './repair-targets';

/** Attempts per rebuilt fragment, each on another disk (as the extent writer does for a put). */
const MAX_WRITE_ATTEMPTS = 3;

export type RepairOutcome =
  | { kind: 'healthy' }
  | { kind: 'gone' }
  | { kind: 'repaired'; rewritten: number; bytesWritten: number; targets: Target[] }
  | { kind: 'unrecoverable'; readable: number; needed: number }
  | { kind: 'stuck'; reason: string };

export interface RepairOptions {
  /** Disks whose fragments must move off (drain, replace), though they are readable. */
  evacuate?: ReadonlySet<number>;
  /** Put rebuilt fragments here when it is eligible (replace-disk's new disk). */
  prefer?: number;
  /** Charged with the bytes read and written (rate limit of a background job). */
  throttle?: (bytes: number) => Promise<void>;
  /** Runs inside the commit transaction (a job moves its cursor with the work). */
  onCommit?: (tx: Txn) => void;
  /** Who asked, for the repair's event: "scrub job 4", "rebuild job 7", "check". */
  origin?: string;
  /** The admin request behind it (a job's params.reqId): the repair's event carries it. */
  reqId?: string;
}

type Slot = { f: FragmentRef; status: SlotStatus; payload?: Buffer; code?: string };

/** Fragments of an extent that sit on disks able to serve reads (present, not failed). */
export function usableFragments(engine: Engine, e: Extent, disks: Map<number, DiskRow>): number {
  return e.fragments.filter((f) => engine.health.readable(disks.get(f.diskId))).length;
}

export async function repairExtent(engine: Engine, id: Buffer, opts: RepairOptions = {}): Promise<RepairOutcome> {
  try {
    const outcome = await engine.exclusiveOnExtent(id, () => repairLocked(engine, id, opts));
    engine.metrics.repairExtents.inc({ result: outcome.kind });
    if (outcome.kind === 'repaired') engine.metrics.repairBytes.inc(outcome.bytesWritten);
    return outcome;
  } catch (err) {
    engine.metrics.repairExtents.inc({ result: 'failed' });
    throw err;
  }
}

async function repairLocked(engine: Engine, id: Buffer, opts: RepairOptions): Promise<RepairOutcome> {
  const e = engine.meta.getExtent(id);
  if (!e) {
    engine.meta.transact((tx) => tx.clearRepair(id));
    return { kind: 'gone' };
  }
  if (!ownsFragments(e)) {
    engine.meta.transact((tx) => { tx.clearRepair(id); opts.onCommit?.(tx); });
    return { kind: 'healthy' }; // verified with its record by getExtent (a packed extent's pack is repaired as an extent itself)
  }
  const disks = new Map(engine.pool.disks().map((d) => [d.id, d]));
  const evacuate = opts.evacuate ?? new Set<number>();
  const slots = await classify(engine, e, disks, evacuate, opts);
  const good = slots.filter((s) => s.status === 'good' || s.status === 'evacuate');
  const redo = slots.filter((s) => s.status !== 'good');
  // What the reader or scrub that queued this extent counted already is not counted twice.
  const known = countedWhenQueued(engine, id);
  const uncounted = slots.filter((s) => s.status === 'bad' && !known.has(`${s.f.index}/${s.f.diskId}`));

  if (redo.length === 0) {
    engine.meta.transact((tx) => {
      tx.clearRepair(id);
      // Every fragment was just read and verified against its hash: the extent is verified
      // now (a scrub's finding recorded after an earlier repair had fixed it left it unverified).
      if (slots.length === e.k + e.m) tx.markVerified(id);
      opts.onCommit?.(tx);
    });
    return { kind: 'healthy' };
  }
  const needed = e.scheme === 'mirror' ? 1 : e.k;
  if (good.length < needed) {
    countErrors(engine, uncounted);
    return recorded(engine, e, opts, { kind: 'unrecoverable', readable: good.length, needed }, slots);
  }

  const targets = chooseTargets(engine.placement, disks, e, slots, evacuate, opts.prefer);
  if (typeof targets === 'string') {
    countErrors(engine, uncounted);
    return recorded(engine, e, opts, { kind: 'stuck', reason: targets }, slots);
  }
  await rebuildPayloads(e, slots);

  engine.holdExtent(id);
  const written: FragmentRef[] = [];
  try {
    const poolUuid = uuidBytes(engine.pool.superblock.uuid);
    let bytesWritten = 0;
    // Disks a retry must avoid: every disk of the extent, every target, every failed attempt.
    const avoid = new Set([...e.fragments.map((f) => f.diskId), ...[...targets.values()].map((t) => t.to), ...evacuate]);
    await Promise.all(redo.map(async (s) => {
      let diskId = targets.get(s.f.index)!.to;
      await opts.throttle?.(s.payload!.length);
      for (let attempt = 1; ; attempt++) {
        const target = diskId;
        engine.placement.begin(target, s.payload!.length + 4096);
        try {
          await engine.pool.store(target).write({ poolUuid, extentId: id, index: s.f.index, k: e.k, m: e.m,
            scheme: e.scheme === 'mirror' ? 1 : 0, payloadHash: s.f.hash }, s.payload!);
          break;
        } catch (err) {
          // As a put does: count it against the disk (ENOSPC is not a fault) and retry the
          // fragment on another disk; placement.pick throws when none is left.
          engine.countWriteErrors([{ diskId: target, code: (err as DfsError).code ?? 'EIO' }]);
          if (attempt >= MAX_WRITE_ATTEMPTS) throw err;
          diskId = engine.placement.pick(1, avoid, s.payload!.length + 4096)[0]!;
          avoid.add(diskId);
          const code = (err as DfsError).code ?? 'EIO';
          targets.set(s.f.index, { ...targets.get(s.f.index)!, to: diskId, inPlace: false, why: `written to disk ${diskId} after a write to disk ${target} failed (${code})` });
        } finally {
          engine.placement.end(target);
        }
      }
      written.push({ index: s.f.index, diskId, hash: s.f.hash });
      bytesWritten += s.payload!.length;
    }));
    crashPoint('repair-before-commit');
    const committed = engine.meta.transact((tx) => {
      const now = engine.meta.getExtent(id);
      // The file was rewritten or deleted meanwhile, or another repair moved it: ours is moot.
      if (!now || !samePlacement(now, e)) return false;
      const moved = new Map(written.map((w) => [w.index, w]));
      tx.putExtent({ ...e, fragments: e.fragments.map((f) => moved.get(f.index) ?? f) });
      tx.clearRepair(id);
      for (const s of slots.filter((x) => x.status === 'bad')) {
        // A note, not a transition: the disk stays in its state; its history says where the fragment went.
        const state = engine.pool.disk(s.f.diskId)?.state;
        if (state) tx.setDiskState(s.f.diskId, state, 'repair', `fragment ${s.f.index} of extent ${id.toString('hex')}: ${targets.get(s.f.index)!.why}`, opts.reqId);
      }
      for (const s of uncounted) tx.countDiskErrors(s.f.diskId, s.code === 'EDIGEST' || s.code === 'EFORMAT' ? 'checksum' : 'read');
      opts.onCommit?.(tx);
      return true;
    });
    if (crashArmed('repair-after-commit')) await engine.txg.commit('crash-point');
    crashPoint('repair-after-commit');
    if (!committed) {
      await removeQuietly(engine, id, written.filter((w) => !e.fragments.some((f) => f.index === w.index && f.diskId === w.diskId)));
      return { kind: 'gone' };
    }
    engine.health.afterErrors(uncounted.map((s) => s.f.diskId));
    // The old copies of moved fragments (evacuating, or bad ones rebuilt elsewhere) are unreferenced now; gc would take them too.
    // In a transaction group they go once the group commits: until then the committed placement is the old one.
    await engine.removeFragments([{ extentId: id, fragments: slots.filter((s) => (s.status === 'evacuate' || s.status === 'bad') && !targets.get(s.f.index)!.inPlace).map((s) => s.f) }]);
    return recorded(engine, e, opts, { kind: 'repaired', rewritten: written.length, bytesWritten, targets: [...targets.values()] }, slots);
  } catch (err) {
    await removeQuietly(engine, id, written.filter((w) => !e.fragments.some((f) => f.index === w.index && f.diskId === w.diskId)));
    throw err;
  } finally {
    engine.releaseExtents([id]);
  }
}

async function classify(engine: Engine, e: Extent, disks: Map<number, DiskRow>, evacuate: ReadonlySet<number>, opts: RepairOptions): Promise<Slot[]> {
  const want = e.scheme === 'mirror' ? e.length : e.fragLen;
  return Promise.all(e.fragments.map(async (f): Promise<Slot> => {
    if (!engine.health.readable(disks.get(f.diskId))) return { f, status: 'lost' };
    try {
      await opts.throttle?.(want);
      const payload = await engine.pool.store(f.diskId).read(e.id, f.index, f.hash);
      if (payload.length !== want) return { f, status: 'bad', code: 'EFORMAT' };
      return { f, status: evacuate.has(f.diskId) ? 'evacuate' : 'good', payload };
    } catch (err) {
      const code = (err as DfsError).code ?? 'EIO';
      // Its disk vanished: the fragment is lost with it, not a read error to count.
      if (code === 'ENOENT' && (await engine.health.vanished(f.diskId))) return { f, status: 'lost' };
      return { f, status: 'bad', code };
    }
  }));
}

/** Fill in the payload of every fragment to rewrite, and check each against its recorded hash. */
async function rebuildPayloads(e: Extent, slots: Slot[]): Promise<void> {
  const missing = slots.filter((s) => !s.payload);
  if (missing.length === 0) return;
  if (e.scheme === 'mirror') {
    const src = slots.find((s) => s.payload)!.payload!;
    for (const s of missing) s.payload = src;
  } else {
    const shards: (Buffer | null)[] = Array.from({ length: e.k + e.m }, () => null);
    for (const s of slots) if (s.payload) shards[s.f.index] = s.payload;
    for (const s of missing) shards[s.f.index] = s.payload = Buffer.allocUnsafeSlow(e.fragLen);
    await rsReconstructAsync(e.k, e.m, shards, missing.map((s) => s.f.index));
  }
  for (const s of missing) {
    if (!(await blake3Async(s.payload!)).equals(s.f.hash)) {
      throw new DfsError('EINTERNAL', `rebuilt fragment ${s.f.index} of extent ${e.id.toString('hex')} does not match its recorded hash; nothing was written (report this as a bug)`);
    }
  }
}

/**
 * A repair that wrote fragments, or found the extent beyond repair, is an event
 * (log/events.ts): which extent of which file, what went where and why, who asked.
 */
function recorded<T extends RepairOutcome>(engine: Engine, e: Extent, opts: RepairOptions, outcome: T, slots: readonly Slot[]): T {
  const hex = e.id.toString('hex');
  let file: string;
  try {
    file = engine.meta.pathOf(e.ino);
  } catch {
    file = `<inode ${e.ino}>`;
  }
  const damaged = slots.filter((s) => s.status !== 'good').map((s) => ({ index: s.f.index, diskId: s.f.diskId, status: s.status, ...(s.code ? { code: s.code } : {}) }));
  const by = opts.origin ? ` (${opts.origin})` : '';
  let message: string;
  let details: Record<string, unknown>;
  if (outcome.kind === 'repaired') {
    message = `extent ${hex} of ${file} repaired${by}: ${outcome.targets.map((t) => `fragment ${t.index} ${t.why}`).join('; ')}`;
    details = { outcome: 'repaired', extent: hex, path: file, offset: e.offset, fragments: damaged, targets: outcome.targets, bytesWritten: outcome.bytesWritten };
  } else if (outcome.kind === 'unrecoverable') {
    message = `extent ${hex} of ${file} unrepairable${by}: ${outcome.readable} good fragments of the ${outcome.needed} needed`;
    details = { outcome: 'unrecoverable', extent: hex, path: file, offset: e.offset, fragments: damaged, readable: outcome.readable, needed: outcome.needed };
  } else if (outcome.kind === 'stuck') {
    message = `extent ${hex} of ${file} not repaired${by}: ${outcome.reason}`;
    details = { outcome: 'stuck', extent: hex, path: file, offset: e.offset, fragments: damaged, reason: outcome.reason };
  } else {
    return outcome;
  }
  engine.pool.events.record({ kind: 'repair', subject: `extent ${hex}`, message, details: { ...details, ...(opts.origin ? { by: opts.origin } : {}) }, reqId: opts.reqId });
  return outcome;
}

function samePlacement(a: Extent, b: Extent): boolean {
  return a.fragments.length === b.fragments.length && a.fragments.every((f, i) => f.index === b.fragments[i]!.index && f.diskId === b.fragments[i]!.diskId);
}

/**
 * The fragments whose failure was counted against their disk when the extent was queued:
 * a read and a scrub count each failure they meet and name it in the queue's reason as
 * "fragment I on disk D: CODE" (the start-up scan counts nothing). Keys "index/disk".
 */
function countedWhenQueued(engine: Engine, id: Buffer): Set<string> {
  const entry = engine.meta.repairQueue().find((r) => r.extentId.equals(id));
  return new Set([...(entry?.reason ?? '').matchAll(/fragment (\d+) on disk (\d+):/g)].map((m) => `${m[1]}/${m[2]}`));
}

function countErrors(engine: Engine, bad: Slot[]): void {
  if (bad.length === 0) return;
  engine.meta.transact((tx) => {
    for (const s of bad) tx.countDiskErrors(s.f.diskId, s.code === 'EDIGEST' || s.code === 'EFORMAT' ? 'checksum' : 'read');
  });
  engine.health.afterErrors(bad.map((s) => s.f.diskId));
}

async function removeQuietly(engine: Engine, id: Buffer, frags: FragmentRef[]): Promise<void> {
  await Promise.all(frags.map((f) => engine.pool.store(f.diskId).remove(id, f.index).catch(() => undefined)));
}
