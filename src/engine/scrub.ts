/**
 * The scrub job (kind `scrub`): read every fragment of every extent, verify it, check
 * the extent's placement, and report what is wrong — per disk and per file.
 *
 * Extents are walked in id order from a cursor kept in the job's progress (the hex id of
 * the last extent finished). The cursor moves in the same transaction that records the
 * extent as verified (or queues it for repair), so a coordinator killed mid-scrub resumes
 * at the next extent, never at the start, and never skips one.
 *
 * Per extent: the job waits for its rate limit (intensity), then reads the fragments
 * through each disk's FragmentStore, a few at a time, as background I/O; the store
 * verifies each (native code, off the main thread) against the metadata's BLAKE3 and
 * the header's extent and index, and the payload's length is checked here. Placement is
 * checked here: k+m fragments, one per index, on distinct registered disks, none on a
 * failed or vanished disk. Inline extents are verified with their metadata record (the
 * record's checksum covers the bytes) and their logical hash.
 *
 * Damage is queued for repair and counted against the disk (checksum or read errors),
 * which moves the disk through the health thresholds. With `repair`, each damaged extent
 * is repaired on the spot (engine/repair.ts: rebuilt from any k good fragments). A dry
 * run reports and changes nothing: no repair queue, no error counters, no verification
 * times.
 */
import type { DfsError } from '../errors';
import { ownsFragments, type DiskRow, type Extent } from '../meta/records';
import type { Txn } from '../meta/store';
import { blake3 } from '../native';
import { crashArmed, crashPoint } from './crash-points';
import type { EngineServices } from './context';

type Engine = Pick<EngineServices, 'pool' | 'meta' | 'metrics' | 'health' | 'placement' | 'foreground' | 'exclusiveOnExtent' | 'holdExtent' | 'releaseExtents' | 'removeFragments' | 'countWriteErrors' | 'txg'>;
import { throttleYielding } from './foreground-yield';
import { reqIdOf, type JobContext } from './jobs';
import { lanes } from './lanes';
import { repairExtent } from './repair';
import type { ScrubParams } from './scrub-params';
import { initProgress, MAX_LISTED, type FragmentFinding, type ScrubProgress } from './scrub-report';

/** Fragment reads in flight at once within an extent: a scrub never takes over the libuv pool foreground reads share. */
const READ_LANES = 4;

/** Codes repairExtent fixes (it rebuilds bad and lost fragments); placement faults it leaves. */
const REPAIRABLE = new Set(['EDIGEST', 'EFORMAT', 'ENOENT', 'EIO', 'ENODEV', 'EDISKFAILED', 'EUNKNOWNDISK']);
/** Codes that say the disk misbehaved (counted against it); the others are placement or absence. */
const NOT_THE_DISKS_FAULT = new Set(['ENODEV', 'EDISKFAILED', 'EUNKNOWNDISK', 'EPLACEMENT', 'EMISSINGFRAG', 'EMETACORRUPT']);

/** Inline extents verified per transaction (a transaction per tiny extent would cost an fsync each). */
const INLINE_BATCH = 64;
const ID_BATCH = 256;

/** What checking one extent found, before anything is committed. */
interface Checked {
  id: Buffer;
  /** Bytes read from disks (0 for inline). */
  bytes: number;
  fragments: number;
  inline: boolean;
  findings: FragmentFinding[];
  /** The record exists (not dropped or rewritten meanwhile). */
  present: boolean;
}

export async function scrubJob(engine: Engine, ctx: JobContext): Promise<void> {
  const params = ctx.params as ScrubParams;
  const dry = !!params.dryRun;
  const repair = !!params.repair && !dry;
  const p = initProgress(ctx.progress);
  if (p.cursor) p.resumes.push({ atMs: Date.now(), extentsDone: p.extentsDone, cursor: p.cursor });
  await sizeUp(engine, p);
  ctx.checkpoint();

  let pending: Checked[] = [];
  const commit = async (): Promise<void> => {
    if (pending.length === 0) return;
    const done = pending;
    pending = [];
    const counted: number[] = [];
    engine.meta.transact((tx) => {
      for (const c of done) record(engine, tx, p, c, dry, repair, counted);
      p.cursor = done[done.length - 1]!.id.toString('hex');
      p.extentsTotal = Math.max(p.extentsTotal, p.extentsDone);
      p.bytesTotal = Math.max(p.bytesTotal, p.bytesDone);
      ctx.checkpoint(tx);
    });
    if (counted.length) engine.health.afterErrors(counted);
    recordFindings(engine, ctx, done, dry);
    // "After the cursor's commit": in a transaction group, after the group's.
    if (crashArmed('scrub-extent')) await engine.txg.commit('crash-point');
    crashPoint('scrub-extent');
  };

  const foreground = engine.foreground;
  let after = Buffer.from(p.cursor, 'hex');
  for (;;) {
    const ids = engine.meta.extentIdsAfter(after, ID_BATCH);
    if (ids.length === 0) break;
    after = Buffer.from(ids[ids.length - 1]!);
    // Which disks are there, once per batch (not per fragment); a read's ENOENT asks again.
    await engine.health.refreshPresence();
    const disks = new Map(engine.pool.disks().map((d) => [d.id, d]));
    for (const id of ids) {
      await ctx.step();
      // Wait for the rate limit before taking the extent's lock, so a repair of it never waits on our budget.
      const planned = recordOrUndefined(engine, id);
      if (planned) {
        // Foreground I/O keeps priority: while the mount (or a repair) is reading or writing,
        // each byte costs four times as much of the budget. Unlimited scrubs do not yield.
        await throttleYielding(ctx, foreground, physicalBytes(planned));
      }
      // Under the extent's lock: a repair moving its fragments cannot pass us mid-read.
      const c = await engine.exclusiveOnExtent(id, () => checkExtent(engine, id, disks));
      if (repair && !c.inline && c.findings.some((f) => REPAIRABLE.has(f.code))) await repairFound(engine, c, ctx);
      pending.push(c);
      if (c.fragments > 0 || c.findings.length > 0 || pending.length >= INLINE_BATCH) await commit();
    }
    await commit();
  }
  await commit();
  p.extentsTotal = p.extentsDone;
  p.bytesTotal = p.bytesDone;
  ctx.checkpoint();
}

/** Extents and bytes still to scrub after the cursor (ids only are cheap; lengths need the records). */
async function sizeUp(engine: Engine, p: ScrubProgress): Promise<void> {
  let extents = 0;
  let bytes = 0;
  let after = Buffer.from(p.cursor, 'hex');
  for (;;) {
    const ids = engine.meta.extentIdsAfter(after, 500);
    if (ids.length === 0) break;
    after = Buffer.from(ids[ids.length - 1]!);
    for (const id of ids) {
      const e = recordOrUndefined(engine, id);
      extents++;
      if (e) bytes += physicalBytes(e);
    }
    // Let the mount's requests through between batches: this runs on the main thread.
    await new Promise((resolve) => setImmediate(resolve));
  }
  p.extentsTotal = p.extentsDone + extents;
  p.bytesTotal = p.bytesDone + bytes;
}

/** The extent's record, or undefined when it is gone or corrupt (checkExtent reports a corrupt one). */
function recordOrUndefined(engine: Engine, id: Buffer): Extent | undefined {
  try {
    return engine.meta.getExtent(id);
  } catch {
    return undefined;
  }
}

/** Bytes a scrub reads for the extent: every fragment's payload (none for inline). */
export function physicalBytes(e: Extent): number {
  if (!ownsFragments(e)) return 0;
  return e.fragments.length * payloadLength(e);
}

function payloadLength(e: Extent): number {
  return e.scheme === 'mirror' ? e.length : e.fragLen;
}

async function checkExtent(engine: Engine, id: Buffer, disks: Map<number, DiskRow>): Promise<Checked> {
  const hex = id.toString('hex');
  let e: Extent | undefined;
  try {
    e = engine.meta.getExtent(id);
  } catch (err) {
    if ((err as DfsError).code !== 'EMETACORRUPT') throw err;
    return { id, bytes: 0, fragments: 0, inline: false, present: true,
      findings: [{ path: '<unknown: the extent record is corrupt>', inode: 0, extent: hex, offset: -1, index: null, diskId: null, code: 'EMETACORRUPT', repaired: false, repairedOnto: null, repair: null }] };
  }
  if (!e) return { id, bytes: 0, fragments: 0, inline: false, present: false, findings: [] };
  const finding = (index: number | null, diskId: number | null, code: string): FragmentFinding =>
    ({ path: engine.meta.pathOf(e!.ino), inode: e!.ino, extent: hex, offset: e!.offset, index, diskId, code, repaired: false, repairedOnto: null, repair: null });

  if (e.scheme === 'inline') {
    // getExtent verified the record (its checksum covers the bytes); check them against the logical hash too.
    const ok = blake3(e.inlineData ?? Buffer.alloc(0)).equals(e.logicalHash);
    return { id, bytes: 0, fragments: 0, inline: true, present: true, findings: ok ? [] : [finding(null, null, 'EDIGEST')] };
  }
  if (e.scheme === 'packed') {
    // Its bytes are checked when its pack is scrubbed (an extent of its own); here, that the pack is there.
    const ok = !!e.pack && !!engine.meta.getExtent(e.pack.id);
    return { id, bytes: 0, fragments: 0, inline: true, present: true, findings: ok ? [] : [finding(null, null, 'EMISSINGFRAG')] };
  }

  const findings: FragmentFinding[] = [];
  const n = e.k + e.m;
  for (let i = 0; i < n; i++) if (!e.fragments.some((f) => f.index === i)) findings.push(finding(i, null, 'EMISSINGFRAG'));
  const seenDisks = new Set<number>();
  const toRead: { index: number; diskId: number; hash: Buffer }[] = [];
  const len = payloadLength(e);
  for (const f of e.fragments) {
    const d = disks.get(f.diskId);
    if (!d) {
      findings.push(finding(f.index, f.diskId, 'EUNKNOWNDISK'));
      continue;
    }
    if (seenDisks.has(f.diskId)) findings.push(finding(f.index, f.diskId, 'EPLACEMENT'));
    seenDisks.add(f.diskId);
    if (d.state === 'failed') {
      findings.push(finding(f.index, f.diskId, 'EDISKFAILED'));
      continue;
    }
    if (!engine.health.present(f.diskId)) {
      findings.push(finding(f.index, f.diskId, 'ENODEV'));
      continue;
    }
    toRead.push({ index: f.index, diskId: f.diskId, hash: f.hash });
  }

  const bytes = toRead.length * len;
  const verdicts = await lanes(toRead, READ_LANES, (r) => verify(engine, e!.id, r, len));
  if (verdicts.some((v) => v !== null)) {
    // A file rewritten or removed while we read has lost its fragments legitimately.
    const now = engine.meta.getExtent(id);
    if (!now) return { id, bytes, fragments: toRead.length, inline: false, present: false, findings: [] };
  }
  toRead.forEach((r, i) => {
    const code = verdicts[i];
    if (code) findings.push(finding(r.index, r.diskId, code));
  });
  findings.sort((a, b) => (a.index ?? -1) - (b.index ?? -1));
  return { id, bytes, fragments: toRead.length, inline: false, present: true, findings };
}

/** Read and verify one fragment through its store; null when good, else the finding's code. */
async function verify(engine: Engine, extentId: Buffer, r: { index: number; diskId: number; hash: Buffer }, len: number): Promise<string | null> {
  try {
    const payload = await engine.pool.store(r.diskId).read(extentId, r.index, r.hash, 'background');
    return payload.length === len ? null : 'EFORMAT';
  } catch (err) {
    const code = (err as DfsError).code ?? 'EIO';
    // A disk that vanished while we read is missing, not failing reads.
    return code === 'ENOENT' && (await engine.health.vanished(r.diskId)) ? 'ENODEV' : code;
  }
}

/** Repair an extent the check found damaged; marks the findings repair fixed. */
async function repairFound(engine: Engine, c: Checked, ctx: JobContext): Promise<void> {
  const outcome = await repairExtent(engine, c.id, { throttle: ctx.throttle, origin: `scrub job ${ctx.id}`, reqId: reqIdOf(ctx.params) });
  if (outcome.kind === 'repaired' || outcome.kind === 'healthy') {
    const to = new Map(outcome.kind === 'repaired' ? outcome.targets.map((t) => [t.index, t]) : []);
    for (const f of c.findings) {
      if (!REPAIRABLE.has(f.code)) continue;
      f.repaired = true;
      const t = f.index === null ? undefined : to.get(f.index);
      f.repairedOnto = t?.to ?? null;
      f.repair = t?.why ?? null;
    }
  } else if (outcome.kind === 'gone') {
    c.present = false; // the file was rewritten or removed meanwhile: nothing left to report
    c.findings = [];
  }
}

/** Fold one checked extent into the progress and the pool's records, inside the cursor's transaction. */
function record(engine: Engine, tx: Txn, p: ScrubProgress, c: Checked, dry: boolean, repair: boolean, counted: number[]): void {
  p.extentsDone++;
  p.bytesDone += c.bytes;
  if (!c.present) return;
  const m = engine.metrics;
  m.scrubExtents.inc();
  m.scrubBytes.inc(c.bytes);
  for (const f of c.findings) m.scrubIssues.inc({ code: f.code });
  if (c.findings.length > 0 && c.findings.every((f) => f.repaired)) m.scrubRepairs.inc();
  p.fragmentsChecked += c.fragments;
  if (c.inline && c.findings.length === 0) p.inlineChecked++;
  const remaining = c.findings.filter((f) => !f.repaired);
  if (c.findings.length === 0) {
    if (!dry) tx.markVerified(c.id);
    return;
  }
  p.extentsDamaged++;
  p.fragmentsBad += c.findings.length;
  if (remaining.length === 0) p.extentsRepaired++;
  else p.extentsUnrepaired++;
  // Damage still there: the extent does not count as verified, whenever it last was.
  if (!dry && remaining.length > 0) tx.clearVerified(c.id);
  for (const f of c.findings) {
    if (p.files.length < MAX_LISTED) p.files.push(f);
    else p.filesOmitted++;
    if (f.diskId === null) continue;
    let d = p.perDisk.find((x) => x.diskId === f.diskId);
    if (!d) {
      d = { diskId: f.diskId, path: diskPath(engine, f.diskId), counts: {}, total: 0 };
      p.perDisk.push(d);
      p.perDisk.sort((a, b) => a.diskId - b.diskId);
    }
    d.counts[f.code] = (d.counts[f.code] ?? 0) + 1;
    d.total++;
  }
  if (dry) return;
  // repairExtent counted the read failures it met itself; count here only when it did not run.
  if (!repair) {
    for (const f of c.findings) {
      if (f.diskId === null || NOT_THE_DISKS_FAULT.has(f.code)) continue;
      tx.countDiskErrors(f.diskId, f.code === 'EDIGEST' || f.code === 'EFORMAT' ? 'checksum' : 'read');
      counted.push(f.diskId);
    }
  }
  if (!c.inline && remaining.some((f) => REPAIRABLE.has(f.code))) {
    tx.queueRepair(c.id, `scrub: ${remaining.map((f) => `fragment ${f.index ?? '-'} on disk ${f.diskId ?? '-'}: ${f.code}`).join('; ')}`);
  }
}

/** Each finding of a committed batch is a scrub event (log/events.ts), with the request that started the scrub. */
function recordFindings(engine: Engine, ctx: JobContext, done: readonly Checked[], dry: boolean): void {
  const reqId = reqIdOf(ctx.params);
  for (const c of done) {
    if (!c.present) continue;
    for (const f of c.findings) {
      const where = f.index === null ? 'extent' : `fragment ${f.index}${f.diskId === null ? '' : ` on disk ${f.diskId}`}`;
      const fate = f.repaired ? `repaired${f.repair ? `: ${f.repair}` : ''}` : dry ? 'dry run: left as found' : 'not repaired';
      engine.pool.events.record({ kind: 'scrub', subject: f.path, reqId,
        message: `${f.code} in ${where} of extent ${f.extent} (${f.path} at ${f.offset}); ${fate}`,
        details: { job: ctx.id, ...f, ...(dry ? { dryRun: true } : {}) } });
    }
  }
}

function diskPath(engine: Engine, diskId: number): string {
  return engine.pool.disk(diskId)?.path ?? `<disk ${diskId}, not in the pool>`;
}

