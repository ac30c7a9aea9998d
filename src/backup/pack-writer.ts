/**
 * Objects into packs, written as they come: a pack is journalled as pending in the index
 * and opened in REPO/tmp at its first object; small objects are gathered and written
 * together, an extent copied by the stores (addCopy) is written straight into its place.
 * At the repository's pack size the pack is sealed — its writes awaited, its trailer
 * written, fsynced, renamed into packs/, the directory fsynced — and only then indexed, so
 * a writer killed at any point leaves nothing the next one cannot finish or drop (repo.ts
 * recover). A few packs are sealed at once while the next fills; an object already in the
 * repository or in a pack under way is not stored again.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { crashPoint } from '../engine/crash-points';
import { objectHeader, packHeader, packTrailer, FOOTER_BYTES, INDEX_ENTRY_BYTES, PACK_HEADER_BYTES, OBJECT_HEADER_BYTES, type PackEntry } from './pack-format';
import { newPackId, type Repository } from './repo';

/** Small objects gathered up to this many bytes before one write. */
const GATHER_BYTES = 1 << 20;

export interface PackWriterStats {
  packs: number;
  objects: number;
  bytes: number;
}

/** Packs sealed at once (each its own fsync: the disk overlaps them). */
const SEALS_IN_FLIGHT = 3;

/** Where an object copied in place goes: `length` bytes at `offset` of the open pack `fd`. */
export interface PackSlot {
  fd: number;
  offset: number;
}

interface OpenPack {
  id: string;
  tmp: string;
  fh: fs.promises.FileHandle;
  entries: PackEntry[];
  /** Bytes laid out so far (header, objects): where the next object's header goes. */
  size: number;
  /** Gathered bytes not written yet, from `gatherAt`. */
  gathered: Buffer[];
  gatherAt: number;
  gatherBytes: number;
  writes: Promise<unknown>[];
  /** The promise `open` held for it (a seal compares it with `open`). */
  opening?: Promise<OpenPack>;
}

export class PackWriter {
  readonly stats: PackWriterStats = { packs: 0, objects: 0, bytes: 0 };
  /** The pack objects go into (a promise while its file opens); undefined between packs. */
  private open: Promise<OpenPack> | undefined;
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
    const length = parts.reduce((n, p) => n + p.length, 0);
    const pack = await this.reserve(hash, length, (p) => {
      p.gathered.push(...parts);
      p.gatherBytes += length;
      if (p.gatherBytes >= GATHER_BYTES) writeGathered(p);
    });
    if (!pack) return false;
    await this.sealIfFull(pack);
    return true;
  }

  /**
   * Store an object of `length` bytes unless present (true when it was new), its bytes
   * written in place by `copy` (at the slot it is given); resolves once they are.
   */
  async addCopy(hash: Buffer, length: number, copy: (slot: PackSlot) => Promise<void>): Promise<boolean> {
    let done: Promise<void> | undefined;
    const pack = await this.reserve(hash, length, (p) => {
      // What was gathered before this object (its header last) goes out now: the copy lands after it.
      writeGathered(p);
      p.gatherAt = p.size;
      done = copy({ fd: p.fh.fd, offset: p.size - length });
      p.writes.push(done);
    });
    if (!pack) return false;
    await this.sealIfFull(pack);
    await done;
    return true;
  }

  /** Seal the open pack (if it holds anything) and wait until every pack is indexed. */
  async flush(): Promise<void> {
    await this.seal();
    await Promise.all(this.sealing);
    if (this.failed) throw this.failed;
  }

  /**
   * Lay out the object in the open pack (its header gathered) and hand the pack to `place`
   * for its bytes, in one step no seal can come between; undefined when it is stored already.
   */
  private async reserve(hash: Buffer, length: number, place: (pack: OpenPack) => void): Promise<OpenPack | undefined> {
    if (this.failed) throw this.failed;
    if (this.has(hash)) return undefined;
    this.queued.add(hash.toString('hex'));
    for (;;) {
      const opening = (this.open ??= this.start());
      const pack = await opening;
      // Sealed while this waited: the object goes into the next pack.
      if (this.open !== opening) continue;
      // Full, its seal not begun (objects are laid out before their bytes come): seal it, use the next.
      if (pack.size >= this.repo.config.packBytes) {
        await this.seal(opening);
        continue;
      }
      pack.opening = opening;
      pack.entries.push({ hash, offset: pack.size + OBJECT_HEADER_BYTES, length });
      pack.gathered.push(objectHeader(hash, length));
      pack.gatherBytes += OBJECT_HEADER_BYTES;
      pack.size += OBJECT_HEADER_BYTES + length;
      this.stats.objects++;
      this.stats.bytes += length;
      place(pack);
      return pack;
    }
  }

  /** A new pack: journalled as pending first (recover drops it if it never reaches packs/), its header gathered. */
  private async start(): Promise<OpenPack> {
    const id = newPackId();
    this.repo.index.setPending(id, 'write');
    const tmp = path.join(this.repo.tmpDir, `${id}.pack`);
    const fh = await fs.promises.open(tmp, 'w', 0o644);
    return { id, tmp, fh, entries: [], size: PACK_HEADER_BYTES, gathered: [packHeader()], gatherAt: 0, gatherBytes: PACK_HEADER_BYTES, writes: [] };
  }

  private async sealIfFull(pack: OpenPack): Promise<void> {
    if (pack.size >= this.repo.config.packBytes && pack.opening === this.open) await this.seal(pack.opening);
  }

  /** Seal the open pack (only if it is still `which`, when given). */
  private async seal(which?: Promise<OpenPack>): Promise<void> {
    const opening = this.open;
    if (!opening || (which !== undefined && opening !== which)) return;
    this.open = undefined;
    const pack = await opening;
    writeGathered(pack);
    while (this.sealing.size >= SEALS_IN_FLIGHT) await Promise.race(this.sealing);
    const p: Promise<void> = this.finish(pack).catch((err: Error) => {
      this.failed ??= err;
    }).finally(() => this.sealing.delete(p));
    this.sealing.add(p);
    if (this.failed) throw this.failed;
  }

  /** Every write of the pack done, its trailer written and synced, the file in packs/, then indexed. */
  private async finish(pack: OpenPack): Promise<void> {
    try {
      const writes = await Promise.allSettled(pack.writes);
      const failed = writes.find((w): w is PromiseRejectedResult => w.status === 'rejected');
      if (failed) throw failed.reason;
      await pack.fh.write(packTrailer(pack.entries, pack.size), 0, undefined, pack.size);
      await pack.fh.sync();
    } finally {
      await pack.fh.close();
    }
    await publish(this.repo, pack.id, pack.tmp);
    this.repo.index.addPack(pack.id, pack.size + trailerBytes(pack.entries), pack.entries);
    for (const e of pack.entries) this.queued.delete(e.hash.toString('hex'));
    this.stats.packs++;
    this.onSealed?.(this.stats);
    crashPoint('backup-pack-written');
  }
}

/** Write what the pack gathered at its place (a write in flight the seal awaits). */
function writeGathered(pack: OpenPack): void {
  if (pack.gatherBytes === 0) return;
  pack.writes.push(pack.fh.writev(pack.gathered, pack.gatherAt));
  pack.gatherAt += pack.gatherBytes;
  pack.gathered = [];
  pack.gatherBytes = 0;
}

/** A synced pack file from tmp/ renamed into packs/, the directories synced. */
async function publish(repo: Repository, id: string, tmp: string): Promise<void> {
  const final = repo.packFile(id);
  const dir = path.dirname(final);
  if (!fs.existsSync(dir)) {
    fs.mkdirSync(dir, { recursive: true });
    await syncDir(path.dirname(dir));
  }
  await fs.promises.rename(tmp, final);
  await syncDir(dir);
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
  repo.index.setPending(id, 'write');
  const fh = await fs.promises.open(tmp, 'w', 0o644);
  try {
    await fh.writev([...buffers, packTrailer(entries, size)]);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await publish(repo, id, tmp);
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
