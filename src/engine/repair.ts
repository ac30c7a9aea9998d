/**
 * Repair of one extent: restore it to k+m good fragments on distinct, usable disks.
 *
 * Every fragment is classified: lost (its disk failed or vanished), bad (read or verify
 * failed), evacuating (its disk is being drained or replaced: readable, but must move),
 * or good. With fewer than k good fragments nothing is written — the extent is
 * unrecoverable and writing could only make things worse. Otherwise the fragments to
 * rewrite are rebuilt (RS decode from k good ones, or a copy of a good replica), each
 * checked against the hash the metadata holds for it, written durably — a bad fragment
 * on a disk still in service back onto the same disk, the others onto another healthy
 * disk that holds no fragment of this extent — and the new placement is committed in ONE
 * transaction. Only after that commit are fragments on evacuating disks deleted.
 *
 * A crash at any point leaves the old placement (plus orphans gc removes) or the new one.
 */
import { DfsError } from '../errors';
import type { Extent, FragmentRef } from '../meta/records';
import type { DiskRow, Txn } from '../meta/store';
import { blake3Async, rsReconstructAsync } from '../native';
import { crashPoint } from './crash-points';
import type { Engine } from './engine';
import { uuidBytes } from './extent-writer';

/** Attempts per rebuilt fragment, each on another disk (as the extent writer does for a put). */
const MAX_WRITE_ATTEMPTS = 3;

export type RepairOutcome =
  | { kind: 'healthy' }
  | { kind: 'gone' }
  | { kind: 'repaired'; rewritten: number; bytesWritten: number }
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
}

type Slot = { f: FragmentRef; status: 'good' | 'bad' | 'lost' | 'evacuate'; payload?: Buffer; code?: string };

/** Fragments of an extent that sit on disks able to serve reads (present, not failed). */
export function usableFragments(engine: Engine, e: Extent, disks: Map<number, DiskRow>): number {
  return e.fragments.filter((f) => {
    const d = disks.get(f.diskId);
    return d && d.state !== 'failed' && engine.pool.store(f.diskId).present();
  }).length;
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
  if (e.scheme === 'inline') {
    engine.meta.transact((tx) => { tx.clearRepair(id); opts.onCommit?.(tx); });
    return { kind: 'healthy' }; // verified with its record by getExtent
  }
  const disks = new Map(engine.pool.disks().map((d) => [d.id, d]));
  const evacuate = opts.evacuate ?? new Set<number>();
  const slots = await classify(engine, e, disks, evacuate, opts);
  const good = slots.filter((s) => s.status === 'good' || s.status === 'evacuate');
  const redo = slots.filter((s) => s.status !== 'good');
  const readFailures = slots.filter((s) => s.status === 'bad');

  if (redo.length === 0) {
    engine.meta.transact((tx) => { tx.clearRepair(id); opts.onCommit?.(tx); });
    return { kind: 'healthy' };
  }
  const needed = e.scheme === 'mirror' ? 1 : e.k;
  if (good.length < needed) {
    countErrors(engine, readFailures);
    return { kind: 'unrecoverable', readable: good.length, needed };
  }

  const targets = chooseTargets(engine, e, slots, evacuate, opts.prefer);
  if (typeof targets === 'string') {
    countErrors(engine, readFailures);
    return { kind: 'stuck', reason: targets };
  }
  await rebuildPayloads(e, slots);

  engine.holdExtent(id);
  const written: FragmentRef[] = [];
  try {
    const poolUuid = uuidBytes(engine.pool.superblock.uuid);
    let bytesWritten = 0;
    // Disks a retry must avoid: every disk of the extent, every target, every failed attempt.
    const avoid = new Set([...e.fragments.map((f) => f.diskId), ...targets.values(), ...evacuate]);
    await Promise.all(redo.map(async (s) => {
      let diskId = targets.get(s.f.index)!;
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
          targets.set(s.f.index, diskId);
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
      for (const s of readFailures) tx.countDiskErrors(s.f.diskId, s.code === 'EDIGEST' || s.code === 'EFORMAT' ? 'checksum' : 'read');
      opts.onCommit?.(tx);
      return true;
    });
    crashPoint('repair-after-commit');
    if (!committed) {
      await removeQuietly(engine, id, written.filter((w) => !e.fragments.some((f) => f.index === w.index && f.diskId === w.diskId)));
      return { kind: 'gone' };
    }
    engine.health.afterErrors(readFailures.map((s) => s.f.diskId));
    // The old copies on evacuating disks are unreferenced now; gc would take them too.
    await removeQuietly(engine, id, slots.filter((s) => s.status === 'evacuate' && targets.get(s.f.index) !== s.f.diskId).map((s) => s.f));
    return { kind: 'repaired', rewritten: written.length, bytesWritten };
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
    const d = disks.get(f.diskId);
    if (!d || d.state === 'failed' || !engine.pool.store(f.diskId).present()) return { f, status: 'lost' };
    try {
      await opts.throttle?.(want);
      const payload = await engine.pool.store(f.diskId).read(e.id, f.index, f.hash);
      if (payload.length !== want) return { f, status: 'bad', code: 'EFORMAT' };
      return { f, status: evacuate.has(f.diskId) ? 'evacuate' : 'good', payload };
    } catch (err) {
      return { f, status: 'bad', code: (err as DfsError).code ?? 'EIO' };
    }
  }));
}

/**
 * Where each fragment to rewrite goes: a bad one back onto its own disk while that disk
 * is in service and takes writes, otherwise a healthy disk holding no other fragment of
 * the extent (the preferred one first). A string says why there is nowhere to go.
 */
function chooseTargets(engine: Engine, e: Extent, slots: Slot[], evacuate: ReadonlySet<number>, prefer: number | undefined): Map<number, number> | string {
  const taken = new Set(slots.filter((s) => s.status === 'good').map((s) => s.f.diskId));
  const out = new Map<number, number>();
  const writable = new Set(engine.placement.writable().map((d) => d.id));
  for (const s of slots) {
    if (s.status === 'bad' && writable.has(s.f.diskId) && !evacuate.has(s.f.diskId) && !taken.has(s.f.diskId)) {
      out.set(s.f.index, s.f.diskId);
      taken.add(s.f.diskId);
    }
  }
  const bytes = (e.scheme === 'mirror' ? e.length : e.fragLen) + 4096;
  for (const s of slots) {
    if (s.status === 'good' || out.has(s.f.index)) continue;
    let diskId: number | undefined;
    if (prefer !== undefined && writable.has(prefer) && !taken.has(prefer) && !evacuate.has(prefer)) diskId = prefer;
    else {
      const exclude = new Set([...taken, ...evacuate, ...slots.filter((x) => x.status === 'lost' || x.status === 'bad').map((x) => x.f.diskId)]);
      try {
        diskId = engine.placement.pick(1, exclude, bytes)[0];
      } catch (err) {
        return `no healthy disk without a fragment of this extent has room for fragment ${s.f.index} (${(err as Error).message})`;
      }
    }
    out.set(s.f.index, diskId!);
    taken.add(diskId!);
  }
  return out;
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

function samePlacement(a: Extent, b: Extent): boolean {
  return a.fragments.length === b.fragments.length && a.fragments.every((f, i) => f.index === b.fragments[i]!.index && f.diskId === b.fragments[i]!.diskId);
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
