/**
 * Compaction: deleting or overwriting packed files leaves dead bytes in their packs. This
 * job rewrites every pack whose live bytes are at most `below` of its length (default
 * half): read the pack (verified), write the live ranges as a new pack, then in ONE
 * transaction point every packed extent still in the old pack at the new one, record the
 * new pack and drop the old one, whose fragments go once that is committed. A crash
 * before the transaction leaves the old pack in use (the new one's fragments are
 * orphans for gc); after it, the new. Packed extents dropped meanwhile are left out; a
 * pack whose last file went meanwhile is gone with it.
 *
 * Rate-limited like scrub (--rate); one pack at a time under its extent lock, so a
 * rebuild or scrub repair of the same pack waits for it. The cursor is the work list
 * itself: a resumed job asks the store again which packs are sparse.
 */
import { randomBytes } from 'node:crypto';
import { PACK_INO, type Extent } from '../meta/records';
import { blake3 } from '../native';
import type { Policy } from '../pool/policy';
import type { EngineServices } from './context';
import { readExtent } from './extent-reader';
import { writeExtent } from './extent-writer';
import type { JobContext } from './jobs';
import { allocEncodeBuffer } from './work-pools';

type Engine = EngineServices;

/** A pack at most this full is rewritten, unless the job is told otherwise. */
export const DEFAULT_COMPACT_BELOW = 0.5;

export interface CompactParams {
  /** Rewrite packs whose live fraction is at most this (0 to 1). */
  below?: number;
}

const BATCH = 32;

export async function compactJob(engine: Engine, ctx: JobContext): Promise<void> {
  const below = (ctx.params as CompactParams).below ?? DEFAULT_COMPACT_BELOW;
  const p = ctx.progress as JobContext['progress'] & { packsRewritten?: number; packsDropped?: number; bytesFreed?: number };
  const todo = engine.meta.sparsePacks(below, Number.MAX_SAFE_INTEGER);
  // Counted once, when the job first runs; a resumed job keeps its totals and goes on.
  if (p.extentsTotal === 0) {
    p.extentsTotal = todo.length;
    p.bytesTotal = todo.reduce((n, t) => n + t.length, 0);
    p.packsRewritten = 0;
    p.packsDropped = 0;
    p.bytesFreed = 0;
    ctx.checkpoint();
  }
  /** Packs that could not be rewritten this run (an unreadable one waits for repair): not asked for again. */
  const skipped = new Set<string>();
  for (;;) {
    const batch = engine.meta.sparsePacks(below, BATCH + skipped.size).filter((t) => !skipped.has(t.id.toString('hex'))).slice(0, BATCH);
    if (batch.length === 0) break;
    for (const t of batch) {
      await ctx.step();
      await ctx.throttle(t.length + t.live);
      try {
        const outcome = await engine.exclusiveOnExtent(t.id, () => compactPack(engine, t.id));
        if (outcome === 'rewritten') p.packsRewritten = (p.packsRewritten ?? 0) + 1;
        if (outcome === 'dropped') p.packsDropped = (p.packsDropped ?? 0) + 1;
        if (outcome !== 'gone') p.bytesFreed = (p.bytesFreed ?? 0) + (t.length - t.live);
      } catch (err) {
        skipped.add(t.id.toString('hex'));
        p.skipped = [...((p.skipped as string[] | undefined) ?? []), `${t.id.toString('hex')}: ${(err as Error).message}`].slice(-10);
      }
      p.extentsDone = Math.min(p.extentsTotal, p.extentsDone + 1);
      p.bytesDone = Math.min(p.bytesTotal, p.bytesDone + t.length);
      ctx.checkpoint();
    }
  }
  p.extentsDone = p.extentsTotal;
  p.bytesDone = p.bytesTotal;
  ctx.checkpoint();
}

/** Rewrite one pack's live ranges as a new pack; 'dropped' when none was left, 'gone' when it went meanwhile. */
async function compactPack(engine: Engine, packId: Buffer): Promise<'rewritten' | 'dropped' | 'gone'> {
  const pack = engine.meta.getExtent(packId);
  if (!pack) return 'gone';
  const refs = engine.meta.packRefs(packId);
  if (refs.length === 0) {
    const dropped = engine.meta.transact((tx) => tx.dropExtent(packId));
    await engine.removeFragments(dropped);
    return 'dropped';
  }
  const bytes = await readExtent(engine, pack);
  const policy: Policy = { scheme: pack.scheme === 'mirror' ? 'mirror' : 'rs', k: pack.k, m: pack.m };
  const live = refs.reduce((n, r) => n + r.length, 0);
  const buf = allocEncodeBuffer(Math.max(live, 1), policy.k, policy.m, policy.scheme === 'mirror');
  const moved = new Map<string, number>();
  let at = 0;
  for (const r of refs) {
    const range = bytes.subarray(r.pack!.offset, r.pack!.offset + r.length);
    // The pack verified as a whole; each file's range is checked too before it moves.
    if (!blake3(range).equals(r.logicalHash)) throw new Error(`packed extent ${r.id.toString('hex')} fails its checksum in pack ${packId.toString('hex')}`);
    buf.set(range, at);
    moved.set(r.id.toString('hex'), at);
    at += r.length;
  }
  const fresh: Extent = await writeExtent(engine, PACK_INO, 0, buf, live, policy, randomBytes(16));
  const dropped = engine.meta.transact((tx) => {
    const still = engine.meta.packRefs(packId).filter((r) => moved.has(r.id.toString('hex')));
    if (still.length > 0) {
      tx.putExtent({ ...fresh, offset: tx.allocPackSeq() });
      for (const r of still) tx.putExtent({ ...r, pack: { id: fresh.id, offset: moved.get(r.id.toString('hex'))! } });
    }
    // With every packed extent moved, dropping the old pack is dropping an extent no one uses.
    const out = engine.meta.getExtent(packId) ? tx.dropExtent(packId) : [];
    if (still.length === 0) out.push({ extentId: fresh.id, fragments: fresh.fragments });
    return out;
  });
  engine.releaseExtents([fresh.id]);
  await engine.removeFragments(dropped);
  return 'rewritten';
}
