/**
 * Reading packs: one object by its place (verified against its BLAKE3 before anyone sees
 * it), a pack's own index (from its footer), or every object front to back (verify
 * --read-data, and an index rebuilt when a pack's index section is damaged).
 */
import * as fs from 'node:fs';
import { DfsError } from '../errors';
import { blake3, blake3Async } from '../native';
import {
  checkPackHeader, parseFooter, parseIndex, FOOTER_BYTES, OBJECT_HEADER_BYTES, PACK_HEADER_BYTES, type PackEntry,
} from './pack-format';
import type { ObjectLoc } from './object-index';

/** Below this, hashing on the calling thread beats a trip to the thread pool. */
const ASYNC_HASH_FROM = 128 * 1024;

/** BLAKE3 of `data`, on the thread pool from `asyncFrom` bytes (where the main thread has better to do), else here. */
export async function hashOf(data: Buffer, asyncFrom = ASYNC_HASH_FROM): Promise<Buffer> {
  return data.length >= asyncFrom ? blake3Async(data) : blake3(data);
}

/** An object that fails its hash: which pack, where, which object. */
export function damaged(file: string, offset: number, hash: Buffer, why: string): DfsError {
  return new DfsError('EDIGEST', `object ${hash.toString('hex')} at offset ${offset} of pack ${file} ${why}; run \`dynamicfs backup verify --read-data\` to see what it affects`,
    file, { pack: file, offset, object: hash.toString('hex') });
}

async function readAt(fh: fs.promises.FileHandle, offset: number, length: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafeSlow(length);
  let got = 0;
  while (got < length) {
    const { bytesRead } = await fh.read(buf, got, length - got, offset + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return got === length ? buf : buf.subarray(0, got);
}

/** Objects shorter than this are read on the calling thread (a trip to the thread pool costs more than the read). */
const SYNC_READ_BELOW = 64 * 1024;

interface OpenPack {
  fd: number;
  /** Reads under way on it: an evicted pack is closed when the last one ends (its number must not be reused under them). */
  users: number;
  evicted: boolean;
}

/** Reads objects out of a repository's packs, keeping a few packs open. */
export class PackReader {
  private readonly open = new Map<string, OpenPack>();

  constructor(private readonly packFile: (id: string) => string, private readonly maxOpen = 32) {}

  private acquire(pack: string): OpenPack {
    let p = this.open.get(pack);
    if (p) {
      // Most recently used last.
      this.open.delete(pack);
      this.open.set(pack, p);
    } else {
      const file = this.packFile(pack);
      try {
        p = { fd: fs.openSync(file, 'r'), users: 0, evicted: false };
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        throw new DfsError(code === 'ENOENT' ? 'ENOENT' : 'EIO', `pack ${file} cannot be opened: ${(err as Error).message}; run \`dynamicfs backup verify\``, file);
      }
      this.open.set(pack, p);
      if (this.open.size > this.maxOpen) {
        const [oldest, old] = this.open.entries().next().value as [string, OpenPack];
        this.open.delete(oldest);
        old.evicted = true;
        if (old.users === 0) fs.closeSync(old.fd);
      }
    }
    p.users++;
    return p;
  }

  private release(p: OpenPack): void {
    if (--p.users === 0 && p.evicted) fs.closeSync(p.fd);
  }

  /** The object `hash` at `loc`, its bytes verified (EDIGEST naming the pack, offset and object when they fail). */
  async read(hash: Buffer, loc: ObjectLoc): Promise<Buffer> {
    const p = this.acquire(loc.pack);
    const data = Buffer.allocUnsafeSlow(loc.length);
    let got = 0;
    try {
      if (loc.length < SYNC_READ_BELOW) {
        for (let n = 1; got < loc.length && n > 0; got += n) n = fs.readSync(p.fd, data, got, loc.length - got, loc.offset + got);
      } else {
        for (let n = 1; got < loc.length && n > 0; got += n) {
          n = await new Promise<number>((resolve, reject) => fs.read(p.fd, data, got, loc.length - got, loc.offset + got, (err, bytes) => (err ? reject(err) : resolve(bytes))));
        }
      }
    } finally {
      this.release(p);
    }
    const file = this.packFile(loc.pack);
    if (got !== loc.length) throw damaged(file, loc.offset, hash, `is cut short (${got} of ${loc.length} bytes)`);
    if (!(await hashOf(data)).equals(hash)) throw damaged(file, loc.offset, hash, 'fails its BLAKE3');
    return data;
  }

  close(): void {
    for (const p of this.open.values()) {
      p.evicted = true;
      if (p.users === 0) fs.closeSync(p.fd);
    }
    this.open.clear();
  }
}

/** A pack's objects as its own index lists them (footer and index verified). */
export async function readPackIndex(file: string): Promise<{ size: number; entries: PackEntry[] }> {
  const fh = await fs.promises.open(file, 'r');
  try {
    const size = (await fh.stat()).size;
    checkPackHeader(await readAt(fh, 0, PACK_HEADER_BYTES), file);
    if (size < PACK_HEADER_BYTES + FOOTER_BYTES) throw new DfsError('EFORMAT', `pack ${file} is too short to hold a footer (${size} bytes)`, file);
    const footer = parseFooter(await readAt(fh, size - FOOTER_BYTES, FOOTER_BYTES), size, file);
    const index = await readAt(fh, footer.indexOffset, size - FOOTER_BYTES - footer.indexOffset);
    return { size, entries: parseIndex(index, footer, file) };
  } finally {
    await fh.close();
  }
}

/** One object met reading a pack front to back: its header's claim and whether its bytes match it. */
export interface ScannedObject {
  hash: Buffer;
  offset: number;
  length: number;
  ok: boolean;
}

/**
 * Every object of pack `file` front to back, each hashed, up to `end` (the index's
 * offset; by default, while object headers fit before the footer). The pack is read
 * whole (a pack is about the repository's pack size). A header that cannot be an
 * object's (running past the end) stops the scan: `truncatedAt`.
 */
export async function scanPack(file: string, end?: number): Promise<{ size: number; objects: ScannedObject[]; truncatedAt: number | null }> {
  const whole = await fs.promises.readFile(file);
  checkPackHeader(whole, file);
  const limit = end ?? Math.max(PACK_HEADER_BYTES, whole.length - FOOTER_BYTES);
  const objects: ScannedObject[] = [];
  let at = PACK_HEADER_BYTES;
  while (at + OBJECT_HEADER_BYTES <= limit) {
    const length = whole.readUInt32LE(at);
    const hash = Buffer.from(whole.subarray(at + 4, at + OBJECT_HEADER_BYTES));
    const offset = at + OBJECT_HEADER_BYTES;
    if (offset + length > limit) return { size: whole.length, objects, truncatedAt: at };
    objects.push({ hash, offset, length, ok: (await hashOf(whole.subarray(offset, offset + length))).equals(hash) });
    at = offset + length;
  }
  return { size: whole.length, objects, truncatedAt: at === limit || end === undefined ? null : at };
}
