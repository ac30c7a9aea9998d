/**
 * Compaction: deleting or overwriting packed files leaves dead bytes in their packs. This
 * job rewrites every pack whose live bytes are at most `below` of its length (default
 * half), merging sparse packs: read as many as fill one new pack (each verified), write
 * their live ranges as that pack, then in ONE transaction point every packed extent
 * still in the old packs at the new one, record it and drop the old packs, whose
 * fragments go once that is committed. A crash before the transaction leaves the old
 * packs in use (the new one's fragments are orphans for gc); after it, the new. Packed
 * extents dropped meanwhile are left out; a pack whose last file went meanwhile is gone
 * with it.
 *
 * Rate-limited like scrub (--rate), under the packs' extent locks, so a rebuild or scrub
 * repair of one of them waits. The cursor is the work list itself: a resumed job asks
 * the store again which packs are sparse.
 */
import { randomBytes } from 'node:crypto';
import { sectionDefaults } from '../config/settings';
import { sectionSettings, type ConfigSource } from '../config/values';
import { PACK_INO, type Extent, type Tier } from '../meta/records';
import { blake3 } from '../native';
import type { Policy } from '../pool/policy';
import type { DroppedExtent, EngineServices } from './context';
import { readExtent } from './extent-reader';
import { writeExtent } from './extent-writer';
import type { JobContext } from './jobs';
import { PACK_TARGET_BYTES } from './packer';
import { allocEncodeBuffer } from './work-pools';

type Engine = EngineServices;

/** A pack at most this full is rewritten, unless the job is told otherwise (the declared default of compact.belowFraction). */
export const DEFAULT_COMPACT_BELOW = sectionDefaults('compact').belowFraction as number;

/** The pool's compaction threshold (setting compact.belowFraction), for a compact run without --below. */
export function compactBelow(meta: ConfigSource): number {
  return sectionSettings<{ belowFraction: number }>(meta, 'compact').belowFraction;
}

export interface CompactParams {
  /** Rewrite packs whose live fraction is at most this (0 to 1). */
  below?: number;
}

/** Sparse packs considered per round (as many as fill one new pack are merged). */
const BATCH = 64;

export async function compactJob(engine: Engine, ctx: JobContext): Promise<void> {
  const below = (ctx.params as CompactParams).below ?? DEFAULT_COMPACT_BELOW;
  const p = ctx.progress as JobContext['progress'] & { packsRewritten?: number; packsWritten?: number; bytesFreed?: number };
  // Counted once, when the job first runs; a resumed job keeps its totals and goes on.
  if (p.extentsTotal === 0) {
    const totals = engine.meta.sparsePackTotals(below);
    p.extentsTotal = totals.packs;
    p.bytesTotal = totals.bytes;
    p.packsRewritten = 0;
    p.packsWritten = 0;
    p.bytesFreed = 0;
    ctx.checkpoint();
  }
  /** Packs that could not be rewritten this run (an unreadable one waits for repair): not asked for again. */
  const skipped = new Set<string>();
  for (;;) {
    await ctx.step();
    const sparse = engine.meta.sparsePacks(below, BATCH + skipped.size).filter((t) => !skipped.has(t.id.toString('hex')));
    if (sparse.length === 0) break;
    // As many as fill one new pack (fewest live bytes first); at least one.
    const group: typeof sparse = [];
    let live = 0;
    for (const t of sparse) {
      if (group.length > 0 && live + t.live > PACK_TARGET_BYTES) break;
      group.push(t);
      live += t.live;
    }
    const bytes = group.reduce((n, t) => n + t.length, 0);
    await ctx.throttle(bytes + live);
    try {
      const written = await lockAll(engine, group.map((t) => t.id), () => compactPacks(engine, group.map((t) => t.id)));
      p.packsRewritten = (p.packsRewritten ?? 0) + group.length;
      if (written) {
        p.packsWritten = (p.packsWritten ?? 0) + 1;
        skipped.add(written.toString('hex')); // full when written: with --below 1 it would qualify again
      }
      p.bytesFreed = (p.bytesFreed ?? 0) + bytes - live;
    } catch (err) {
      for (const t of group) skipped.add(t.id.toString('hex'));
      p.skipped = [...((p.skipped as string[] | undefined) ?? []), (err as Error).message].slice(-10);
    }
    p.extentsDone = Math.min(p.extentsTotal, p.extentsDone + group.length);
    p.bytesDone = Math.min(p.bytesTotal, p.bytesDone + bytes);
    ctx.checkpoint();
  }
  p.extentsDone = p.extentsTotal;
  p.bytesDone = p.bytesTotal;
  ctx.checkpoint();
}

/** Run fn holding every one of these extents' locks (taken in id order). */
function lockAll<T>(engine: Engine, ids: Buffer[], fn: () => Promise<T>): Promise<T> {
  const [first, ...rest] = [...ids].sort(Buffer.compare);
  if (!first) return fn();
  return engine.exclusiveOnExtent(first, () => lockAll(engine, rest, fn));
}

/**
 * Rewrite the live ranges of these packs as one new pack, in one transaction; returns
 * the new pack's id (undefined when none of their files was left).
 */
async function compactPacks(engine: Engine, packIds: Buffer[]): Promise<Buffer | undefined> {
  const moved = new Map<string, number>();
  const parts: Buffer[] = [];
  let policy: Policy | undefined;
  let at = 0;
  for (const id of packIds) {
    const pack = engine.meta.getExtent(id);
    if (!pack) continue; // its last file went meanwhile, and the pack with it
    const refs = engine.meta.packRefs(id);
    if (refs.length === 0) continue; // dropped below, with nothing to move
    // The new pack goes to the tier the first old one lies on (a migrated pack stays on its background tier).
    policy ??= { scheme: pack.scheme === 'mirror' ? 'mirror' : 'rs', k: pack.k, m: pack.m, ...tierOfPack(engine, pack) };
    const bytes = await readExtent(engine, pack);
    for (const r of refs) {
      const range = bytes.subarray(r.pack!.offset, r.pack!.offset + r.length);
      // The pack verified as a whole; each file's range is checked too before it moves.
      if (!blake3(range).equals(r.logicalHash)) throw new Error(`packed extent ${r.id.toString('hex')} fails its checksum in pack ${id.toString('hex')}`);
      parts.push(range);
      moved.set(r.id.toString('hex'), at);
      at += r.length;
    }
  }
  let fresh: Extent | undefined;
  if (policy && at > 0) {
    const buf = allocEncodeBuffer(at, policy.k, policy.m, policy.scheme === 'mirror');
    let o = 0;
    for (const part of parts) { buf.set(part, o); o += part.length; }
    fresh = await writeExtent(engine, PACK_INO, 0, buf, at, policy, randomBytes(16));
  }
  const dropped = engine.meta.transact((tx) => {
    let kept = 0;
    for (const id of packIds) {
      for (const r of engine.meta.packRefs(id)) {
        const to = moved.get(r.id.toString('hex'));
        if (to === undefined || !fresh) continue;
        tx.putExtent({ ...r, pack: { id: fresh.id, offset: to } });
        kept++;
      }
    }
    if (fresh && kept > 0) tx.putExtent({ ...fresh, offset: tx.allocPackSeq() });
    // Every packed extent moved: dropping the old packs is dropping extents no one uses.
    const out: DroppedExtent[] = packIds.filter((id) => engine.meta.getExtent(id)).flatMap((id) => tx.dropExtent(id));
    if (fresh && kept === 0) out.push({ extentId: fresh.id, fragments: fresh.fragments });
    return { out, written: fresh && kept > 0 ? fresh.id : undefined };
  });
  if (fresh) engine.releaseExtents([fresh.id]);
  await engine.removeFragments(dropped.out);
  return dropped.written;
}

/** `{ tier }` when every fragment of the pack lies on disks of one tier. */
function tierOfPack(engine: Engine, pack: Extent): { tier?: Tier } {
  const tierOf = new Map(engine.pool.disks().map((d) => [d.id, d.tier]));
  const tiers = new Set(pack.fragments.map((f) => tierOf.get(f.diskId)));
  const [only] = tiers;
  return tiers.size === 1 && only ? { tier: only } : {};
}
