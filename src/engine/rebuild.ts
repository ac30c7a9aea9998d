/**
 * The rebuild job (kinds `rebuild` and `drain`): restore full redundancy to every extent
 * that needs it, riskiest first.
 *
 * Work is every extent on the repair queue, every extent with a fragment on a failed or
 * vanished disk, and — for a drain or a replace — every extent with a fragment on the
 * disks being evacuated. Extents with the fewest surviving fragments go first: an extent
 * at zero margin (exactly k left) is one failure from loss, and the bytes still at zero
 * margin are reported apart ("time to safety") from the bytes still to do ("time to done").
 * The work list is recomputed when a pass ends, so damage found meanwhile (a read that
 * queued a repair) is picked up by the same job; extents that proved unrecoverable or
 * had nowhere to go are not retried within the job.
 *
 * Fragments go where repair-targets.ts says (a healthy disk free of the extent, else the
 * bad fragment's own disk in place, even degraded or suspect); `rewrittenInPlace` counts
 * those rewritten on their own disk, and the disk's events say which and why.
 *
 * Each extent's new placement commits in one transaction that also moves the job's
 * progress, so a killed coordinator resumes with the remaining work.
 *
 * Up to rebuild.concurrency extents are repaired at once (read at each extent, so a change
 * applies to a running job). They start in risk order; with more than one at once, a later
 * extent may finish before an earlier one. Each waits at the job's step (pause, stop) and
 * charges the job's one rate limiter, so a rate caps the job as a whole.
 */
import { sectionSettings, type ConfigSource } from '../config/values';
import type { Extent } from '../meta/records';
import type { EngineServices } from './context';

type Engine = EngineServices;
import { reqIdOf, type JobContext } from './jobs';
import { eachInLanes } from './lanes';
import { repairExtent, usableFragments } from './repair';

export interface RebuildParams {
  reason?: string;
  /** Disks to move every fragment off (drain: the drained disk; replace: the old disk). */
  evacuate?: number[];
  /** Put rebuilt fragments on this disk when eligible (replace: the new disk). */
  prefer?: number;
  /** Unregister this disk once nothing is left on it (replace-disk's old disk). */
  removeAfter?: number;
}

export interface LostExtent {
  extent: string;
  inode: number;
  path: string;
  offset: number;
  length: number;
}

interface WorkItem {
  id: Buffer;
  margin: number;
  bytes: number;
}

const MAX_LISTED = 100;

export async function rebuildJob(engine: Engine, ctx: JobContext): Promise<void> {
  const params = ctx.params as RebuildParams;
  const evacuate = new Set(params.evacuate ?? []);
  const p = ctx.progress;
  p.unrecoverable ??= [];
  p.stuck ??= 0;
  p.atRiskBytes ??= 0;
  p.rewrittenInPlace ??= 0;
  p.peakConcurrency ??= 0; // the most extents this job has had in repair at once (rebuild.concurrency bounds it)
  const skip = new Set<string>();
  for (;;) {
    // Which disks are there decides the work: ask each disk once per pass (a coordinator's monitor does too).
    await engine.health.refreshPresence();
    const work = collectWork(engine, evacuate, skip);
    if (work.length === 0) break;
    p.extentsTotal = p.extentsDone + work.length;
    p.bytesTotal = p.bytesDone + work.reduce((n, w) => n + w.bytes, 0);
    p.atRiskBytes = work.filter((w) => w.margin <= 0).reduce((n, w) => n + w.bytes, 0);
    ctx.checkpoint();
    await eachInLanes(work, () => rebuildConcurrency(engine.meta), async (w) => {
      await ctx.step();
      const outcome = await repairExtent(engine, w.id, {
        evacuate, prefer: params.prefer, throttle: ctx.throttle, origin: `${ctx.kind} job ${ctx.id}`, reqId: reqIdOf(ctx.params),
        onCommit: (tx) => {
          advance(p, w);
          ctx.checkpoint(tx);
        },
      });
      if (outcome.kind === 'repaired') p.rewrittenInPlace = Number(p.rewrittenInPlace) + outcome.targets.filter((t) => t.inPlace).length;
      if (outcome.kind === 'unrecoverable' || outcome.kind === 'stuck' || outcome.kind === 'gone') {
        skip.add(w.id.toString('hex'));
        if (outcome.kind === 'gone') advance(p, w);
        if (outcome.kind === 'stuck') {
          p.stuck = Number(p.stuck) + 1;
          p.lastStuck = outcome.reason;
          advance(p, w);
        }
        if (outcome.kind === 'unrecoverable') {
          const e = engine.meta.getExtent(w.id);
          const list = p.unrecoverable as LostExtent[];
          if (e && list.length < MAX_LISTED && !list.some((x) => x.extent === w.id.toString('hex'))) list.push(lostExtent(engine, e));
          advance(p, w);
        }
        ctx.checkpoint();
      }
    }, (inFlight) => { p.peakConcurrency = Math.max(Number(p.peakConcurrency), inFlight); });
  }
  p.atRiskBytes = 0;
  if (params.removeAfter !== undefined && engine.meta.extentsOnDisk(params.removeAfter).length === 0) {
    // The moved fragments' old copies are deleted when their transaction group commits: commit before the disk leaves.
    await engine.txg.commit('drain');
    engine.pool.removeDisk(params.removeAfter, reqIdOf(ctx.params));
    p.removedDisk = params.removeAfter;
  }
  ctx.checkpoint();
  if (Number(p.stuck) > 0) {
    throw new Error(`${String(p.stuck)} extents could not be given full redundancy: ${String(p.lastStuck)}; add healthy disks (or bring a drained or failed one back) and run \`dynamicfs rebuild\` again`);
  }
}

/** Extents a rebuild or drain repairs at once (setting rebuild.concurrency). */
export function rebuildConcurrency(meta: ConfigSource): number {
  return sectionSettings<{ concurrency: number }>(meta, 'rebuild').concurrency;
}

function advance(p: JobContext['progress'], w: WorkItem): void {
  p.extentsDone++;
  p.bytesDone += w.bytes;
  if (w.margin <= 0) p.atRiskBytes = Math.max(0, Number(p.atRiskBytes) - w.bytes);
}

export function lostExtent(engine: Engine, e: Extent): LostExtent {
  return { extent: e.id.toString('hex'), inode: e.ino, path: engine.meta.pathOf(e.ino), offset: e.offset, length: e.length };
}

/** Every extent needing work now, riskiest (fewest surviving fragments beyond k) first. */
export function collectWork(engine: Engine, evacuate: ReadonlySet<number>, skip: ReadonlySet<string>): WorkItem[] {
  const ids = new Map<string, Buffer>();
  const add = (id: Buffer): void => {
    const key = id.toString('hex');
    if (!skip.has(key)) ids.set(key, id);
  };
  for (const r of engine.meta.repairQueue()) add(r.extentId);
  const disks = new Map(engine.pool.disks().map((d) => [d.id, d]));
  for (const d of disks.values()) {
    if (d.state === 'failed' || evacuate.has(d.id) || !engine.health.present(d.id)) {
      for (const id of engine.meta.extentsOnDisk(d.id)) add(id);
    }
  }
  const out: WorkItem[] = [];
  for (const id of ids.values()) {
    const e = engine.meta.getExtent(id);
    if (!e) {
      engine.meta.transact((tx) => tx.clearRepair(id));
      continue;
    }
    const k = e.scheme === 'mirror' ? 1 : e.k;
    out.push({ id, margin: usableFragments(engine, e, disks) - k, bytes: e.length });
  }
  return out.sort((a, b) => a.margin - b.margin || Buffer.compare(a.id, b.id));
}

/**
 * The scan a coordinator runs when it starts: queue every extent with a fragment that
 * is not where the metadata says (its disk failed or vanished, or the file is gone).
 * Returns how many were queued.
 *
 * It runs beside the jobs the coordinator resumes, so each extent is checked and queued
 * under the extent's lock, the one a repair holds until it commits: a check of a
 * placement a repair has since replaced would queue an extent that is already whole,
 * and the next rebuild would count it as work done (one transaction per extent found
 * missing, never per extent checked).
 */
export async function scanForMissing(engine: Engine): Promise<number> {
  await engine.health.refreshPresence();
  const disks = new Map(engine.pool.disks().map((d) => [d.id, d]));
  let queued = 0;
  for (const batch of engine.meta.allExtentIds(500)) {
    for (const id of batch) {
      const missing = await engine.exclusiveOnExtent(id, async () => {
        const e = engine.meta.getExtent(id);
        if (!e || e.scheme === 'inline') return false;
        const checks = await Promise.all(e.fragments.map(async (f) => {
          if (!engine.health.readable(disks.get(f.diskId))) return false;
          return engine.pool.store(f.diskId).has(e.id, f.index);
        }));
        if (checks.every((ok) => ok)) return false;
        engine.meta.transact((tx) => tx.queueRepair(id, 'mount scan: fragment missing'));
        return true;
      });
      if (missing) queued++;
    }
  }
  return queued;
}
