/**
 * Read pipeline for one extent: the cheapest k fragments (data first, healthy and
 * least-loaded disks first), each verified in native code; on a missing or corrupt
 * fragment, read another and rebuild with RS. Failures are counted against their disk
 * and the extent is queued for repair. The logical bytes are checked against the
 * extent's end-to-end BLAKE3 before they are returned: never unverified bytes.
 */
import { DfsError } from '../errors';
import { quorumError } from './quorum';
import type { DiskRow, Extent, FragmentRef } from '../meta/records';
import { blake3, blake3Async, rsReconstructAsync } from '../native';
import { writeAt } from '../pool/write-at';
import type { IoPriority } from '../pool/fragment-store';
import type { EngineServices, ReadFailure } from './context';

export type { ReadFailure } from './context';

type Engine = Pick<EngineServices, 'pool' | 'meta' | 'packs' | 'health' | 'placement' | 'recordReadFailures'>;

const STATE_RANK: Record<string, number> = { healthy: 0, degraded: 1, draining: 2, suspect: 3 };

/** Fragments in the order they should be tried; failed and vanished disks are left out. */
function readOrder(engine: Engine, e: Extent, disks: Map<number, DiskRow>): FragmentRef[] {
  return e.fragments
    .filter((f) => engine.health.readable(disks.get(f.diskId)))
    .map((f) => ({ f, data: f.index < e.k ? 0 : 1, rank: STATE_RANK[disks.get(f.diskId)!.state] ?? 9, load: engine.placement.load(f.diskId) }))
    .sort((a, b) => a.data - b.data || a.rank - b.rank || a.load - b.load || a.f.index - b.f.index)
    .map((x) => x.f);
}

/**
 * The extent's logical bytes, verified. A packed extent's pack is read with `readPack`
 * (a cache passes its own, so the files of one pack share one read). `priority`
 * background: the fragment reads do not count as foreground I/O (a tier migration's).
 */
export async function readExtent(engine: Engine, e: Extent, readPack: (pack: Extent) => Promise<Buffer> = (p) => readExtent(engine, p),
  priority?: IoPriority): Promise<Buffer> {
  if (e.scheme === 'packed') return readPacked(engine, e, readPack);
  if (e.scheme === 'inline') {
    const data = e.inlineData ?? Buffer.alloc(0);
    if (!blake3(data).equals(e.logicalHash)) throw unrecoverable(e, 'inline data fails its checksum');
    return data;
  }
  const disks = new Map(engine.pool.disks().map((d) => [d.id, d]));
  const order = readOrder(engine, e, disks);
  // Fragments on failed or vanished disks are not tried, but the extent still needs repair.
  const failures: ReadFailure[] = e.fragments.filter((f) => !order.includes(f)).map((f) => ({ diskId: f.diskId, index: f.index, code: 'ENODEV' }));
  try {
    return e.scheme === 'mirror' ? await readMirror(engine, e, order, failures, priority) : await readRs(engine, e, order, failures, priority);
  } finally {
    if (failures.length) engine.recordReadFailures(e.id, failures);
  }
}

async function readOne(engine: Engine, e: Extent, f: FragmentRef, failures: ReadFailure[], priority?: IoPriority): Promise<Buffer | null> {
  try {
    const started = performance.now();
    const payload = await engine.pool.store(f.diskId).read(e.id, f.index, f.hash, priority);
    engine.health.observeLatency(f.diskId, performance.now() - started, 'read');
    if (payload.length !== (e.scheme === 'mirror' ? e.length : e.fragLen)) throw new DfsError('EFORMAT', 'fragment has the wrong length');
    return payload;
  } catch (err) {
    const code = (err as DfsError).code ?? 'EIO';
    // A fragment missing because its whole disk vanished is the disk's absence, not a read error.
    const gone = code === 'ENOENT' && (await engine.health.vanished(f.diskId));
    failures.push({ diskId: f.diskId, index: f.index, code: gone ? 'ENODEV' : code });
    return null;
  }
}

async function readMirror(engine: Engine, e: Extent, order: FragmentRef[], failures: ReadFailure[], priority?: IoPriority): Promise<Buffer> {
  for (const f of order) {
    const p = await readOne(engine, e, f, failures, priority);
    // A replica's payload is the logical bytes: when its verified hash is the logical hash, that was the check.
    if (p && (f.hash.equals(e.logicalHash) || (await blake3Async(p)).equals(e.logicalHash))) return p;
  }
  throw unrecoverable(e, `no readable replica among ${e.fragments.length}`, failures);
}

async function readRs(engine: Engine, e: Extent, order: FragmentRef[], failures: ReadFailure[], priority?: IoPriority): Promise<Buffer> {
  return assembleRs(e, await gatherRs(engine, e, order, failures, priority));
}

/** k verified fragments of an RS extent, data fragments first, by index. */
async function gatherRs(engine: Engine, e: Extent, order: FragmentRef[], failures: ReadFailure[], priority?: IoPriority): Promise<Map<number, Buffer>> {
  const { k } = e;
  const got = new Map<number, Buffer>();
  let next = 0;
  // Read k at a time in parallel; top up from the remaining fragments as reads fail.
  while (got.size < k && next < order.length) {
    const batch = order.slice(next, next + (k - got.size));
    next += batch.length;
    const payloads = await Promise.all(batch.map((f) => readOne(engine, e, f, failures, priority)));
    batch.forEach((f, i) => { if (payloads[i]) got.set(f.index, payloads[i]!); });
  }
  if (got.size < k) throw unrecoverable(e, `only ${got.size} of the ${k} fragments needed could be read`, failures);
  return got;
}

/** The logical bytes from k fragments: the data fragments laid end to end, the missing ones rebuilt. */
async function assembleRs(e: Extent, got: Map<number, Buffer>): Promise<Buffer> {
  const { k, m, fragLen } = e;
  const out = Buffer.allocUnsafeSlow(k * fragLen);
  const missing: number[] = [];
  for (let i = 0; i < k; i++) {
    const p = got.get(i);
    if (p) p.copy(out, i * fragLen);
    else missing.push(i);
  }
  if (missing.length) {
    const shards: (Buffer | null)[] = Array.from({ length: k + m }, (_, i) => got.get(i) ?? null);
    for (const i of missing) shards[i] = out.subarray(i * fragLen, (i + 1) * fragLen);
    await rsReconstructAsync(k, m, shards, missing);
  }
  const logical = out.subarray(0, e.length);
  // Every byte here came from a data fragment whose BLAKE3 matched its committed hash
  // (fragRead), laid out as the encoder cut them. Bytes that RS decoding computed are
  // checked end to end as well; hashing verbatim bytes a second time cost ~15% of
  // cold-read throughput for no new assurance.
  if (missing.length > 0 && !(await blake3Async(logical)).equals(e.logicalHash)) {
    throw unrecoverable(e, 'the decoded bytes fail the end-to-end checksum although every fragment verified (report this as a bug)');
  }
  return logical;
}

/**
 * The extent's logical bytes as consecutive pieces, verified as readExtent verifies them:
 * an RS extent whose data fragments were all read comes as those fragments (the last cut
 * to the extent's length) without being copied into one buffer; anything else as one
 * piece. For a reader that writes the bytes on (a backup's packs), not one that needs
 * them whole.
 */
export async function readExtentParts(engine: Engine, e: Extent, readPack?: (pack: Extent) => Promise<Buffer>, priority?: IoPriority): Promise<Buffer[]> {
  if (e.scheme !== 'rs') return [await readExtent(engine, e, readPack, priority)];
  const disks = new Map(engine.pool.disks().map((d) => [d.id, d]));
  const order = readOrder(engine, e, disks);
  const failures: ReadFailure[] = e.fragments.filter((f) => !order.includes(f)).map((f) => ({ diskId: f.diskId, index: f.index, code: 'ENODEV' }));
  try {
    const got = await gatherRs(engine, e, order, failures, priority);
    const parts: Buffer[] = [];
    for (let i = 0; i < e.k && i * e.fragLen < e.length; i++) {
      const p = got.get(i);
      if (!p) return [await assembleRs(e, got)];
      parts.push(p.subarray(0, Math.min(e.fragLen, e.length - i * e.fragLen)));
    }
    return parts;
  } finally {
    if (failures.length) engine.recordReadFailures(e.id, failures);
  }
}

/**
 * Write extent `e`'s logical bytes, verified, at `out.offset` of the open file `out.fd`
 * (no sync). An RS extent whose data fragments are all on readable disks is copied by the
 * stores (FragmentStore.copyTo: no buffer passes through this thread); any other extent,
 * or a copy that fails, is read as readExtentParts reads it (other fragments, rebuilt,
 * failures recorded against their disks) and written from here.
 */
export async function copyExtentTo(engine: Engine, e: Extent, out: { fd: number; offset: number }, readPack?: (pack: Extent) => Promise<Buffer>,
  priority?: IoPriority): Promise<void> {
  if (e.scheme === 'rs' && (await copyDataFragments(engine, e, out, priority))) return;
  let at = out.offset;
  for (const part of await readExtentParts(engine, e, readPack, priority)) {
    await writeAt(out.fd, part, at);
    at += part.length;
  }
}

/** Whether every data fragment holding bytes was copied into place (false: none failed loudly; the caller reads instead). */
async function copyDataFragments(engine: Engine, e: Extent, out: { fd: number; offset: number }, priority?: IoPriority): Promise<boolean> {
  const disks = new Map(engine.pool.disks().map((d) => [d.id, d]));
  const order = readOrder(engine, e, disks);
  const data = order.filter((f) => f.index < e.k && f.index * e.fragLen < e.length);
  if (data.length !== Math.min(e.k, Math.ceil(e.length / e.fragLen))) return false;
  const copies = await Promise.allSettled(data.map(async (f) => {
    const started = performance.now();
    const length = Math.min(e.fragLen, e.length - f.index * e.fragLen);
    const n = await engine.pool.store(f.diskId).copyTo(e.id, f.index, f.hash, { fd: out.fd, offset: out.offset + f.index * e.fragLen, length }, priority);
    engine.health.observeLatency(f.diskId, performance.now() - started, 'read');
    if (n !== e.fragLen) throw new DfsError('EFORMAT', 'fragment has the wrong length');
  }));
  // A failed copy is not recorded here: the read that follows meets the same fault and records it once.
  if (copies.some((c) => c.status === 'rejected')) return false;
  // Fragments on failed or vanished disks were not needed, but the extent still needs repair.
  const absent: ReadFailure[] = e.fragments.filter((f) => !order.includes(f)).map((f) => ({ diskId: f.diskId, index: f.index, code: 'ENODEV' }));
  if (absent.length) engine.recordReadFailures(e.id, absent);
  return true;
}

/** A packed extent's range of its pack (from memory until the pack is written), checked against its own BLAKE3. */
async function readPacked(engine: Engine, e: Extent, readPack: (pack: Extent) => Promise<Buffer>): Promise<Buffer> {
  // Compaction may have moved the bytes since the caller read this record: the store says where they are now.
  const at = engine.meta.getExtent(e.id)?.pack ?? e.pack;
  if (!at) throw unrecoverable(e, 'a packed extent without a pack');
  let whole = engine.packs.bytes(at.id);
  if (!whole) {
    const pack = engine.meta.getExtent(at.id);
    if (!pack) throw unrecoverable(e, `its pack ${at.id.toString('hex')} is not in the metadata store`);
    whole = await readPack(pack);
  }
  const bytes = whole.subarray(at.offset, at.offset + e.length);
  if (bytes.length !== e.length || !blake3(bytes).equals(e.logicalHash)) {
    throw unrecoverable(e, `its ${e.length} bytes at offset ${at.offset} of pack ${at.id.toString('hex')} fail their checksum`);
  }
  return bytes;
}

/** The read's verdict, with every fragment's failure (ENODEV: its disk is failed or gone) as causes. */
function unrecoverable(e: Extent, why: string, failures: readonly ReadFailure[] = []): DfsError {
  return quorumError('EUNRECOVERABLE', `extent ${e.id.toString('hex')} at offset ${e.offset} of inode ${e.ino} cannot be read: ${why}`,
    failures, { extent: e.id.toString('hex'), inode: e.ino, offset: e.offset });
}
