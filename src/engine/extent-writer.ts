/**
 * Write pipeline for one extent: encode in a worker (RS + BLAKE3), place fragments on
 * distinct healthy disks, write each durably. Returns the extent record for the
 * caller's ONE metadata transaction; nothing here touches the metadata store except
 * to count write errors. A fragment write that fails is retried on another disk.
 */
import { randomBytes } from 'node:crypto';
import { DfsError } from '../errors';
import type { Extent, FragmentRef, Tier } from '../meta/records';
import { blake3 } from '../native';
import type { Policy } from '../pool/policy';
import { crashPoint } from './crash-points';
import { recycleBuffer } from './encode-buffers';
import { encodeLayout } from '../workers/encode-layout';
import { allocEncodeBuffer } from './work-pools';
import type { EngineServices } from './context';

type Engine = Pick<EngineServices, 'pool' | 'health' | 'placement' | 'work' | 'holdExtent' | 'releaseExtents' | 'countWriteErrors' | 'txg' | 'access'>;
import { dominantCode, quorumError, type FragmentCause } from './quorum';
import type { EncodedExtent } from './work-pools';

const MAX_ATTEMPTS_PER_FRAGMENT = 3;

export function uuidBytes(uuid: string): Buffer {
  return Buffer.from(uuid.replace(/-/g, ''), 'hex');
}

/**
 * Store `length` bytes held at buffer[0, length) (buffer from allocEncodeBuffer) as the
 * extent at `offset` of file `ino`. Small extents go inline into the metadata record.
 * The extent is held as uncommitted (gc leaves its fragments alone) until the caller
 * calls engine.releaseExtents after committing or abandoning it. `id` is new unless the
 * caller named the extent already (a pack, which files point at before it is written). The buffer is ours
 * from the call on: it goes to the encoder and, once no write reads it, to be recycled.
 * `only`: on this tier, with `policy` as it is, or not at all (a migration's copy: no
 * fallback, not counted as an access, and its writes background I/O, which a
 * rate-limited migration does not yield to).
 */
export async function writeExtent(engine: Engine, ino: number, offset: number, buffer: Uint8Array, length: number, policy: Policy,
  id: Buffer = randomBytes(16), only?: Tier): Promise<Extent> {
  if (length <= engine.pool.superblock.inlineMax) {
    const e = inlineExtent(ino, offset, buffer.subarray(0, length), id);
    recycleBuffer(buffer);
    return e;
  }
  // The tier decides the redundancy (tier.<tier>.redundancy), so it is chosen before encoding.
  await engine.placement.refresh();
  const choice = only ? engine.placement.onTier(only, policy, length) : engine.placement.chooseTier(policy, length);
  const p = choice.policy;
  const mirror = p.scheme === 'mirror';
  const need = encodeLayout(length, p.k, p.m, mirror).totalBytes;
  if (buffer.byteLength < need) {
    // Allocated for the file's policy; the tier's needs more room for parity.
    const bigger = allocEncodeBuffer(length, p.k, p.m, mirror);
    bigger.set(buffer.subarray(0, length));
    recycleBuffer(buffer);
    buffer = bigger;
  }
  engine.holdExtent(id); // released by whoever commits or abandons it
  const enc = await engine.work.encode(buffer, length, p.k, p.m, mirror);
  const fragments = await placeFragments(engine, id, p, enc, choice.tier, only !== undefined);
  recycleBuffer(enc.buffer); // every fragment write has settled: nothing reads it now
  if (choice.fallback) engine.placement.fellBack(choice.fallback, id);
  if (!only) engine.access.touch(id, false);
  return { id, ino, offset, length, scheme: p.scheme, k: p.k, m: p.m, fragLen: enc.layout.fragLen,
    logicalHash: enc.logicalHash, inlineData: null, fragments };
}

/** An extent whose bytes (copied) live in its metadata record. */
export function inlineExtent(ino: number, offset: number, bytes: Uint8Array, id: Buffer = randomBytes(16)): Extent {
  const data = Buffer.from(bytes);
  return { id, ino, offset, length: data.length, scheme: 'inline', k: 1, m: 0, fragLen: data.length, logicalHash: blake3(data), inlineData: data, fragments: [] };
}

/** `strict`: a retry stays on `tier` too (a migration's copy); otherwise it may go to any tier's disk when the extent's has none left. */
async function placeFragments(engine: Engine, extentId: Buffer, policy: Policy, enc: EncodedExtent, tier: Tier | null, strict: boolean): Promise<FragmentRef[]> {
  const n = policy.k + policy.m;
  const placement = engine.placement;
  await placement.refresh();
  const bytes = enc.layout.fragLen + 4096;
  const used = new Set<number>();
  const initial = placement.pick(n, used, bytes, tier);
  initial.forEach((d) => used.add(d));
  const poolUuid = uuidBytes(engine.pool.superblock.uuid);
  /** Every failed attempt, in order: counted against its disk, and the causes of a failed extent write. */
  const causes: FragmentCause[] = [];

  const writeOne = async (index: number, diskId: number): Promise<FragmentRef> => {
    for (let attempt = 1; ; attempt++) {
      const target = diskId;
      placement.begin(target, bytes);
      try {
        const started = performance.now();
        // In a transaction group the disk is synced once at the group's commit, not per fragment.
        const deferSync = engine.txg.deferSync;
        await engine.pool.store(target).write({ poolUuid, extentId, index, k: policy.k, m: policy.m,
          scheme: policy.scheme === 'mirror' ? 1 : 0, payloadHash: enc.hash(index) }, enc.fragment(index), !deferSync, strict ? 'background' : undefined);
        engine.health.observeLatency(target, performance.now() - started, 'write');
        if (deferSync) await engine.txg.wrote(target, bytes);
        crashPoint('after-fragment-write');
        return { index, diskId: target, hash: Buffer.from(enc.hash(index)) };
      } catch (err) {
        const code = (err as DfsError).code ?? 'EIO';
        causes.push({ index, diskId: target, code, message: (err as Error).message });
        if (attempt >= MAX_ATTEMPTS_PER_FRAGMENT) throw err;
        // Another distinct disk, of the extent's tier while it has one; `used` keeps fragments of one extent apart.
        try {
          diskId = strict ? placement.pick(1, used, bytes, tier)[0]!
            : (tier ? pickOr(() => placement.pick(1, used, bytes, tier)) : undefined) ?? placement.pick(1, used, bytes)[0]!;
        } catch (pickErr) {
          causes.push({ index, diskId: null, code: (pickErr as DfsError).code ?? 'EIO', message: `no other disk to retry on: ${(pickErr as Error).message}` });
          throw pickErr;
        }
        used.add(diskId);
      } finally {
        placement.end(target);
      }
    }
  };

  // Wait for every write, not just the first failure: they read enc's buffer, which the
  // caller recycles once this returns or throws.
  const settled = await Promise.allSettled(initial.map((diskId, index) => writeOne(index, diskId)));
  const failedDisks = causes.flatMap((c) => (c.diskId === null ? [] : [{ diskId: c.diskId, code: c.code }]));
  if (failedDisks.length) await engine.countWriteErrors(failedDisks);
  const unplaced = settled.flatMap((s, index) => (s.status === 'rejected' ? [{ index, err: s.reason as DfsError }] : []));
  if (unplaced.length > 0) {
    // The verdict is what the disks said most often (all full: ENOSPC, though the last
    // fragments ended on "no disk left to try"); every attempt is a cause.
    const code = dominantCode(causes.filter((c) => c.diskId !== null)) ?? unplaced[0]!.err.code ?? 'EIO';
    throw quorumError(code, `extent ${extentId.toString('hex')}: ${unplaced.length} of its ${n} fragments could not be written ` +
      `(all ${n} are needed)`, causes, { extent: extentId.toString('hex'), written: n - unplaced.length, needed: n });
  }
  return settled.map((s) => (s as PromiseFulfilledResult<FragmentRef>).value);
}

/** The first disk `pick` offers, or undefined when it has none. */
function pickOr(pick: () => number[]): number | undefined {
  try {
    return pick()[0];
  } catch {
    return undefined;
  }
}
