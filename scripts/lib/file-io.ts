/** File I/O helpers shared by the mount and scrub benchmarks. */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';

const MiB = 1024 * 1024;

/** "512M", "2G", "65536": bytes. */
export function parseSize(s: string): number {
  const m = /^(\d+)([kmg]i?b?)?$/i.exec(s.trim());
  if (!m) throw new Error(`bad size ${s}: give bytes, or a number with K, M or G`);
  const mult: Record<string, number> = { k: 1024, m: MiB, g: 1024 * MiB };
  return Number(m[1]) * (m[2] ? mult[m[2][0]!.toLowerCase()]! : 1);
}

declare const WebAssembly: { Memory: new (d: { initial: number; maximum?: number }) => { buffer: ArrayBuffer } };

/**
 * A page-aligned buffer of pseudo-random bytes: an unaligned buffer makes the kernel's
 * copies several times slower here (STYLE.md); WebAssembly memory is page-aligned.
 */
export function alignedBuffer(size: number): Buffer {
  const pages = Math.ceil(size / 65536);
  const buf = Buffer.from(new WebAssembly.Memory({ initial: pages, maximum: pages }).buffer, 0, size);
  let x = 0x9e3779b9;
  for (let i = 0; i < size; i += 4) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    buf.writeUInt32LE(x >>> 0, i);
  }
  return buf;
}

export const isRoot = typeof process.geteuid === 'function' && process.geteuid() === 0;

/** Flush dirty pages and drop the page cache (root only); false when it could not. */
export function dropCaches(): boolean {
  execFileSync('sync');
  if (!isRoot) return false;
  try {
    fs.writeFileSync('/proc/sys/vm/drop_caches', '3');
    return true;
  } catch {
    return false;
  }
}

/**
 * Write `size` bytes of `buf` to `file` in blocks of buf.length, then fsync. With
 * `stamp`, each block starts with its index, so no two blocks are alike.
 */
export function writeBlocks(file: string, size: number, buf: Buffer, stamp = false): void {
  const fd = fs.openSync(file, 'w');
  try {
    for (let off = 0; off < size; off += buf.length) {
      if (stamp) buf.writeUInt32LE(off / buf.length, 0);
      const n = Math.min(buf.length, size - off);
      let done = 0;
      while (done < n) done += fs.writeSync(fd, buf, done, n - done);
    }
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Seconds since a process.hrtime.bigint() reading. */
export const seconds = (start: bigint): number => Number(process.hrtime.bigint() - start) / 1e9;
