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

/** Objects up to this long are read through a window of their pack (small objects come in runs). */
const WINDOWED_UP_TO = 256 * 1024;
/** The window: this many bytes of a pack, at a multiple of it, read at once off the main thread. */
const WINDOW = 1 << 20;
const WINDOWS_KEPT = 16;

interface OpenPack {
  fd: number;
  /** Reads under way on it: an evicted pack is closed when the last one ends (its number must not be reused under them). */
  users: number;
  evicted: boolean;
}

function readFd(fd: number, buf: Buffer, at: number): Promise<number> {
  return new Promise((resolve, reject) => {
    let got = 0;
    const step = (): void => {
      if (got >= buf.length) return resolve(got);
      fs.read(fd, buf, got, buf.length - got, at + got, (err, n) => {
        if (err) return reject(err);
        if (n === 0) return resolve(got);
        got += n;
        step();
      });
    };
    step();
  });
}

/**
 * Reads objects out of a repository's packs, keeping a few packs open. Small objects are
 * cut from 1 MiB windows of their pack, each read once: a restore asks for a pack's
 * objects in the order a backup wrote them, so a run of small files costs a few large
 * reads, not one each.
 */
export class PackReader {
  private readonly open = new Map<string, OpenPack>();
  private readonly windows = new Map<string, Promise<Buffer>>();

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

  /** `length` bytes of `pack` at `offset`, read off the main thread. */
  private async bytes(pack: string, offset: number, length: number): Promise<Buffer> {
    const p = this.acquire(pack);
    try {
      const buf = Buffer.allocUnsafeSlow(length);
      const got = await readFd(p.fd, buf, offset);
      return got === length ? buf : buf.subarray(0, got);
    } finally {
      this.release(p);
    }
  }

  /** Window `w` of `pack` (shorter at the pack's end), shared by the reads that fall in it. */
  private window(pack: string, w: number): Promise<Buffer> {
    const key = `${pack}:${w}`;
    let hit = this.windows.get(key);
    if (hit) {
      this.windows.delete(key);
      this.windows.set(key, hit);
      return hit;
    }
    hit = this.bytes(pack, w * WINDOW, WINDOW);
    hit.catch(() => this.windows.delete(key));
    this.windows.set(key, hit);
    if (this.windows.size > WINDOWS_KEPT) this.windows.delete(this.windows.keys().next().value as string);
    return hit;
  }

  /** The object `hash` at `loc`, its bytes verified (EDIGEST naming the pack, offset and object when they fail). */
  async read(hash: Buffer, loc: ObjectLoc): Promise<Buffer> {
    const w = Math.floor(loc.offset / WINDOW);
    const inWindow = loc.length <= WINDOWED_UP_TO && Math.floor((loc.offset + loc.length - 1) / WINDOW) === w;
    const data = inWindow
      ? (await this.window(loc.pack, w)).subarray(loc.offset - w * WINDOW, loc.offset - w * WINDOW + loc.length)
      : await this.bytes(loc.pack, loc.offset, loc.length);
    const file = this.packFile(loc.pack);
    if (data.length !== loc.length) throw damaged(file, loc.offset, hash, `is cut short (${data.length} of ${loc.length} bytes)`);
    if (!(await hashOf(data)).equals(hash)) throw damaged(file, loc.offset, hash, 'fails its BLAKE3');
    return data;
  }

  close(): void {
    this.windows.clear();
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
