/**
 * Objects into packs: buffered up to the repository's pack size, then sealed — written
 * to REPO/tmp, fsynced, renamed into packs/, the directory fsynced — and only then
 * indexed (a pack is journalled as pending first, so a writer killed in between leaves
 * nothing the next one cannot finish: repo.ts recover). A few packs are sealed at once
 * while the next fills; an object already in the repository or in a pack under way is not stored again.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { crashPoint } from '../engine/crash-points';
import { objectHeader, packHeader, packTrailer, FOOTER_BYTES, INDEX_ENTRY_BYTES, PACK_HEADER_BYTES, OBJECT_HEADER_BYTES, type PackEntry } from './pack-format';
import { newPackId, type Repository } from './repo';

/** Small objects are copied out of the buffer they came in (a pool pack's), so a pack holds only its own bytes. */
const COPY_BELOW = 256 * 1024;

export interface PackWriterStats {
  packs: number;
  objects: number;
  bytes: number;
}

/** Packs written at once (each its own write and fsync: the disk overlaps them). */
const SEALS_IN_FLIGHT = 3;

export class PackWriter {
  readonly stats: PackWriterStats = { packs: 0, objects: 0, bytes: 0 };
  private open: { buffers: Buffer[]; entries: PackEntry[]; size: number } = fresh();
  /** Hex hashes in the open pack or one being sealed: not in the index yet, stored already. */
  private readonly queued = new Set<string>();
  private readonly sealing = new Set<Promise<void>>();
  private failed: Error | undefined;

  constructor(private readonly repo: Repository, private readonly onSealed?: (stats: PackWriterStats) => void) {}

  /** Whether the repository, or a pack under way, holds the object. */
  has(hash: Buffer): boolean {
    return this.queued.has(hash.toString('hex')) || this.repo.index.has(hash);
  }

  /**
   * Store an object (its bytes in one or more consecutive pieces) unless present; true when
   * it was new. Waits while the packs being sealed are as many as may be.
   */
  async add(hash: Buffer, parts: readonly Buffer[]): Promise<boolean> {
    if (this.failed) throw this.failed;
    if (this.has(hash)) return false;
    const key = hash.toString('hex');
    this.queued.add(key);
    const length = parts.reduce((n, p) => n + p.length, 0);
    // A small piece cut from a larger buffer (a pool pack's) is copied, so the pack holds only its own bytes.
    const pieces = parts.map((p) => (p.length < COPY_BELOW && p.buffer.byteLength > 2 * p.length ? Buffer.from(p) : p));
    const o = this.open;
    o.entries.push({ hash, offset: o.size + OBJECT_HEADER_BYTES, length });
    o.buffers.push(objectHeader(hash, length), ...pieces);
    o.size += OBJECT_HEADER_BYTES + length;
    this.stats.objects++;
    this.stats.bytes += length;
    if (o.size >= this.repo.config.packBytes) await this.seal();
    return true;
  }

  /** Seal the open pack (if it holds anything) and wait until every pack is indexed. */
  async flush(): Promise<void> {
    await this.seal();
    await Promise.all(this.sealing);
    if (this.failed) throw this.failed;
  }

  private async seal(): Promise<void> {
    const pack = this.open;
    if (pack.entries.length === 0) return;
    this.open = fresh();
    while (this.sealing.size >= SEALS_IN_FLIGHT) await Promise.race(this.sealing);
    if (this.failed) throw this.failed;
    const p: Promise<void> = this.write(pack).catch((err: Error) => {
      this.failed ??= err;
    }).finally(() => this.sealing.delete(p));
    this.sealing.add(p);
  }

  private async write(pack: { buffers: Buffer[]; entries: PackEntry[]; size: number }): Promise<void> {
    const id = await writePackFile(this.repo, pack.buffers, pack.entries, pack.size);
    this.repo.index.addPack(id, pack.size + trailerBytes(pack.entries), pack.entries);
    for (const e of pack.entries) this.queued.delete(e.hash.toString('hex'));
    this.stats.packs++;
    this.onSealed?.(this.stats);
    crashPoint('backup-pack-written');
  }
}

const trailerBytes = (entries: readonly PackEntry[]): number => entries.length * INDEX_ENTRY_BYTES + FOOTER_BYTES;

/**
 * Write a pack of `buffers` (the header and each object's header and bytes, `size` bytes
 * in all, as packHeader and objectHeader lay them out) with its trailer: journalled as
 * pending in the index first, written to tmp/, synced, renamed into packs/, the
 * directory synced. Returns its id; the caller indexes it.
 */
export async function writePackFile(repo: Repository, buffers: readonly Buffer[], entries: readonly PackEntry[], size: number): Promise<string> {
  const id = newPackId();
  const tmp = path.join(repo.tmpDir, `${id}.pack`);
  const final = repo.packFile(id);
  repo.index.setPending(id, 'write');
  const fh = await fs.promises.open(tmp, 'w', 0o644);
  try {
    await fh.writev([...buffers, packTrailer(entries, size)]);
    await fh.sync();
  } finally {
    await fh.close();
  }
  const dir = path.dirname(final);
  if (!fs.existsSync(dir)) {
    fs.mkdirSync(dir, { recursive: true });
    await syncDir(path.dirname(dir));
  }
  await fs.promises.rename(tmp, final);
  await syncDir(dir);
  return id;
}

/** fsync a directory off the main thread (a directory's fsync waits for the filesystem's journal). */
async function syncDir(dir: string): Promise<void> {
  const fh = await fs.promises.open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** A pack's buffers for `objects` (as writePackFile takes them). */
export function packLayout(objects: readonly { hash: Buffer; data: Buffer }[]): { buffers: Buffer[]; entries: PackEntry[]; size: number } {
  const out = fresh();
  for (const o of objects) {
    out.entries.push({ hash: o.hash, offset: out.size + OBJECT_HEADER_BYTES, length: o.data.length });
    out.buffers.push(objectHeader(o.hash, o.data.length), o.data);
    out.size += OBJECT_HEADER_BYTES + o.data.length;
  }
  return out;
}

function fresh(): { buffers: Buffer[]; entries: PackEntry[]; size: number } {
  return { buffers: [packHeader()], entries: [], size: PACK_HEADER_BYTES };
}
