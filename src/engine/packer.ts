/**
 * Small-file packing. Inside a transaction group, the data of small files (and small
 * tails) closed in that group is appended to a shared pack, so one set of k+m fragment
 * files carries many files at the pool's redundancy. A file's extent then records
 * scheme 'packed', the pack's id, its offset in the pack and the BLAKE3 of its own bytes
 * (verified on every read), and owns no fragments.
 *
 * The ordering that keeps a group atomic: a packed extent is recorded in the group that
 * is open when the file's bytes are appended (no await between the two; TxGroups holds
 * appends back while a commit runs), and that group's commit first writes every pack
 * appended to (flush), recording each pack's own extent row in the same group. So no
 * committed group ever references a pack that is not in it or an earlier one. A pack
 * never spans two groups; until its row is in the store its bytes are served from here.
 *
 * A pack whose every packed extent was dropped before it was written is not written. A
 * pack that loses its last packed extent later is dropped with it (MetaStore.dropExtent);
 * one left sparse by deletes is rewritten by the compaction job (compact.ts).
 */
import { randomBytes } from 'node:crypto';
import { DfsError } from '../errors';
import { PACK_INO, type Extent, type PackRef } from '../meta/records';
import { blake3 } from '../native';
import { formatPolicy, type Policy } from '../pool/policy';
import type { EngineServices } from './context';
import { writeExtent } from './extent-writer';
import { allocEncodeBuffer } from './work-pools';

type Engine = Parameters<typeof writeExtent>[0] & Pick<EngineServices, 'meta' | 'removeFragments'>;

/** Extents of at most this many bytes are packed (bigger ones get fragments of their own). */
export const PACK_MAX_EXTENT = 256 * 1024;
/** A pack is written once it holds this much (or at the group's commit, whichever comes first). */
export const PACK_TARGET_BYTES = 1024 * 1024;
/** Packs waiting to be written, in bytes, before a file that would pack waits (memory stays bounded). */
const MAX_UNWRITTEN_BYTES = 64 * 1024 * 1024;

/** The extent record of `bytes` packed at `ref`: it owns no fragments, its own BLAKE3 verifies its range of the pack. */
export function packedExtent(ino: number, offset: number, bytes: Uint8Array, ref: PackRef): Extent {
  return { id: randomBytes(16), ino, offset, length: bytes.length, scheme: 'packed', k: 0, m: 0, fragLen: 0, logicalHash: blake3(bytes),
    inlineData: null, fragments: [], pack: ref };
}

interface Pack {
  id: Buffer;
  policy: Policy;
  buf: Uint8Array;
  len: number;
  /** Resolves when the pack is written and recorded (or found dead); set once sealed. */
  written?: Promise<void>;
}

export class Packer {
  /** The pack being filled, per policy. */
  private filling = new Map<string, Pack>();
  /** Every pack whose row is not in the store yet (filling, being written, or failed to write), by hex id. */
  private unwritten = new Map<string, Pack>();

  constructor(private readonly engine: Engine) {}

  /** The pack's bytes while they are not in the store yet (undefined once they are). */
  bytes(packId: Buffer): Buffer | undefined {
    const p = this.unwritten.get(packId.toString('hex'));
    return p ? Buffer.from(p.buf.buffer, p.buf.byteOffset, p.len) : undefined;
  }

  /** Resolves when the packs waiting to be written hold less than MAX_UNWRITTEN_BYTES. */
  async room(): Promise<void> {
    for (;;) {
      const all = [...this.unwritten.values()];
      if (all.reduce((n, p) => n + p.len, 0) < MAX_UNWRITTEN_BYTES) return;
      // The sealed ones are being written (or failed, and wait for the commit's retry): wait for one.
      const sealed = all.filter((p) => p.written);
      if (sealed.length === 0) return;
      await Promise.race(sealed.map((p) => p.written!.catch(() => undefined)));
    }
  }

  /**
   * Append `bytes` to the pack being filled for `policy` (its redundancy and its tier:
   * files of different tier policies share no pack) and say where they went. The
   * caller records the packed extent in the same synchronous section (the same group).
   */
  append(bytes: Uint8Array, policy: Policy): PackRef {
    if (bytes.length > PACK_MAX_EXTENT) throw new DfsError('EINTERNAL', `${bytes.length} bytes are too many to pack (at most ${PACK_MAX_EXTENT})`);
    const key = packKey(policy);
    let p = this.filling.get(key);
    if (p && p.len + bytes.length > PACK_TARGET_BYTES) {
      this.seal(p);
      p = undefined;
    }
    if (!p) {
      p = { id: randomBytes(16), policy, buf: allocEncodeBuffer(PACK_TARGET_BYTES, policy.k, policy.m, policy.scheme === 'mirror'), len: 0 };
      this.filling.set(key, p);
      this.unwritten.set(p.id.toString('hex'), p);
    }
    const offset = p.len;
    p.buf.set(bytes, offset);
    p.len += bytes.length;
    return { id: p.id, offset };
  }

  /**
   * Write every pack appended to so far and record it in the open group: the first step
   * of a group commit. Throws if one cannot be written; it stays here, served from
   * memory, and the next commit tries again.
   */
  async flush(): Promise<void> {
    for (const p of [...this.filling.values()]) this.seal(p);
    const results = await Promise.allSettled([...this.unwritten.values()].map((p) => this.written(p)));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  /** No more appends to this pack: start writing it. */
  private seal(p: Pack): void {
    if (this.filling.get(packKey(p.policy)) === p) this.filling.delete(packKey(p.policy));
    this.written(p).catch(() => undefined); // a failure is retried (and reported) by the commit's flush
  }

  private written(p: Pack): Promise<void> {
    p.written ??= this.write(p).catch((err: unknown) => {
      p.written = undefined; // the next flush tries again
      throw err;
    });
    return p.written;
  }

  private async write(p: Pack): Promise<void> {
    const key = p.id.toString('hex');
    // append() seals a full pack while its caller still holds packed extents it records
    // right after, in the same synchronous section: look for references only after that.
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (this.engine.meta.packRefs(p.id).length === 0) {
      this.unwritten.delete(key); // every file in it was dropped before it was written
      return;
    }
    // writeExtent takes the buffer (to the encoder, then recycled): it gets a copy, ours serves reads until the row is in.
    const copy = allocEncodeBuffer(PACK_TARGET_BYTES, p.policy.k, p.policy.m, p.policy.scheme === 'mirror');
    copy.set(p.buf.subarray(0, p.len));
    const e: Extent = await writeExtent(this.engine, PACK_INO, 0, copy, p.len, p.policy, p.id);
    // pool.json says the pool depends on packs before the group that records the first one commits.
    this.engine.pool.activateFeature('packed-extents');
    this.engine.meta.transact((tx) => {
      if (this.engine.meta.packRefs(p.id).length > 0) tx.putExtent({ ...e, offset: tx.allocPackSeq() });
    });
    this.unwritten.delete(key);
    if (!this.engine.meta.getExtent(p.id)) await this.engine.removeFragments([{ extentId: p.id, fragments: e.fragments }]);
    this.engine.releaseExtents([p.id]);
  }
}

/** Packs are filled per redundancy and wanted tier. */
function packKey(p: Policy): string {
  return `${formatPolicy(p)}@${p.tier ?? ''}`;
}
