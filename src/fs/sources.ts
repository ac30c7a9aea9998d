/** Where put reads file bytes from: a file (positional reads straight into the encode buffer) or a stream (stdin). */
import type { FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';

export interface ByteSource {
  /** Fill buf[0, len) as far as the source allows; returns the bytes read (0 at the end). */
  read(buf: Uint8Array, len: number): Promise<number>;
}

export function fileSource(fh: FileHandle): ByteSource {
  let pos = 0;
  return {
    async read(buf, len) {
      let got = 0;
      while (got < len) {
        const { bytesRead } = await fh.read(buf, got, len - got, pos);
        if (bytesRead === 0) break;
        got += bytesRead;
        pos += bytesRead;
      }
      return got;
    },
  };
}

export function streamSource(stream: Readable): ByteSource {
  const it = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>;
  let pending: Buffer | null = null;
  let done = false;
  return {
    async read(buf, len) {
      let got = 0;
      while (got < len) {
        if (!pending || pending.length === 0) {
          if (done) break;
          const r = await it.next();
          if (r.done) {
            done = true;
            break;
          }
          pending = typeof r.value === 'string' ? Buffer.from(r.value) : r.value;
        }
        const n = Math.min(len - got, pending.length);
        buf.set(pending.subarray(0, n), got);
        pending = pending.subarray(n);
        got += n;
      }
      return got;
    },
  };
}
