/**
 * Reading a file laid out in extents at multiples of the pool's extent size: the bytes of
 * each extent a read spans, holes and bytes past an extent's end as zeros, and a
 * sequential reader's next extents fetched into the extent cache ahead of it. Shared by
 * the live tree's open files (OpenFile, whose extents may be buffers still being written)
 * and a snapshot's files (snapshot-files.ts, committed extents only), so both read
 * verified bytes the same way.
 */
import type { Extent } from '../meta/records';
import type { ExtentCache } from './extent-cache';

/** Reads whose ends a read may continue and count as sequential (the kernel has a few in flight). */
const RECENT_READS = 4;

/** Where a file's extents are, by index (offset / extent size). */
export interface ExtentSlots {
  /** Extent i's bytes and how many of them hold data, or undefined for a hole. */
  bytes(i: number): Promise<{ src: Uint8Array; valid: number } | undefined>;
  /** Extent i as stored, to fetch ahead into the cache; undefined when there is nothing to fetch. */
  ahead(i: number): Extent | undefined;
}

/** One file's reads: where the last few ended, to know a sequential reader. */
export class ExtentReads {
  private readEnds: number[] = [];

  constructor(private readonly cache: ExtentCache, private readonly extentSize: number) {}

  /** Read up to into.length bytes at pos of a file of `size` bytes; returns the count (0 at EOF). */
  async read(slots: ExtentSlots, size: number, pos: number, into: Buffer): Promise<number> {
    const end = Math.min(pos + into.length, size);
    if (pos >= end) return 0;
    const ES = this.extentSize;
    const first = Math.floor(pos / ES);
    const last = Math.floor((end - 1) / ES);
    // A reader starting at the beginning (cat, cp) is taken for a sequential one, as the kernel
    // does. Its own read-ahead sends several requests at once, and they can arrive out of
    // order: a read that continues any of the last few, not only the last, is sequential.
    if ((pos === 0 && this.readEnds.length === 0) || this.readEnds.includes(pos)) {
      // The next extents are fetched into the cache now (setting read.aheadExtents).
      for (let j = last + 1; j <= last + this.cache.aheadExtents && j * ES < size; j++) {
        const e = slots.ahead(j);
        if (e) this.cache.prefetch(e);
      }
    }
    this.readEnds.push(end);
    if (this.readEnds.length > RECENT_READS) this.readEnds.shift();
    for (let i = first; i <= last; i++) {
      const from = Math.max(pos, i * ES) - i * ES;
      const to = Math.min(end, (i + 1) * ES) - i * ES;
      const at = i * ES + from - pos;
      const got = await slots.bytes(i);
      const n = got ? Math.max(0, Math.min(to, got.valid) - from) : 0;
      if (got && n > 0) into.set(got.src.subarray(from, from + n), at);
      into.fill(0, at + n, at + (to - from)); // holes and bytes past an extent's end are zeros
    }
    return end - pos;
  }
}
